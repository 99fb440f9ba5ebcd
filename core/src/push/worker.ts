import { setMaxListeners } from 'node:events';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import type { Clock, PushDocument, PushReceipt } from '@erpc/sdk';
import type { Logger } from 'pino';
import type { ConfigCipher } from '../crypto/index.js';
import { ConnectionConfigCache } from '../plugins/connection-config-cache.js';
import { ConnectorCaller, truncateMessage as truncate } from '../plugins/connector-call.js';
import type { ConnectorRegistry } from '../plugins/connector-registry.js';
import {
  PushRepository,
  type AckOutcome,
  type BoundConnection,
  type DeadOutcome,
  type DeliveredOutcome,
  type ReleaseOutcome,
  type RetryOutcome,
} from './push-repository.js';
import { PUSH_REASON, type PushRow } from './push-types.js';
import { RetryPolicy } from './retry-policy.js';

/** Settings of a worker. Every duration is in milliseconds. */
export interface PushWorkerOptions {
  /** Identifies this worker in `locked_by` (default host:pid:random). */
  workerId?: string;
  /** Deliveries in flight at once in this process (default 16). */
  concurrency?: number;
  /** Most pushes claimed by one claim query (default = concurrency). */
  batchSize?: number;
  /**
   * Pushes claimed ahead of a free slot (default concurrency / 2; 0 turns it off), so a finished
   * delivery starts the next one at once instead of waiting for a claim round trip. A push waits
   * there at most half the lease margin (leaseMs - pushTimeoutMs), else it is released unstarted.
   */
  prefetch?: number;
  /** Time limit of one push() call (default 30 s). */
  pushTimeoutMs?: number;
  /** How long a claim is held; must exceed pushTimeoutMs (default pushTimeoutMs + 30 s). */
  leaseMs?: number;
  /** Poll for due pushes this often when nothing wakes the worker (default 1 s). */
  pollIntervalMs?: number;
  /** Look for expired leases at most this often (default 5 s). */
  leaseCheckIntervalMs?: number;
  /** Check delivered pushes for acknowledgements this often (default 10 s). */
  ackCheckIntervalMs?: number;
  /** A delivered push not acknowledged within this becomes DEAD, ACK_TIMEOUT (default 24 h). */
  ackTimeoutMs?: number;
  /** On stop, how long in-flight deliveries may finish before they are aborted and released (default 10 s). */
  shutdownGraceMs?: number;
  /** Backoff of retryable failures. */
  retryPolicy?: RetryPolicy;
}

/** What the worker reports to metrics. */
export interface PushWorkerHooks {
  delivered?(connectorType: string, pushSeconds: number, endToEndSeconds: number): void;
  retried?(connectorType: string, code: string): void;
  dead?(connectorType: string, code: string): void;
}

/** What the worker needs from the host. */
export interface PushWorkerDeps {
  db: Knex;
  registry: ConnectorRegistry;
  cipher: ConfigCipher;
  clock: Clock;
  logger: Logger;
  hooks?: PushWorkerHooks;
}

interface Job {
  row: PushRow;
  connection: BoundConnection | undefined;
}

/** A claimed push waiting for a free slot, and when (performance.now()) it was claimed. */
interface ReadyJob {
  job: Job;
  claimedAt: number;
}

type Outcome =
  | { kind: 'delivered'; value: DeliveredOutcome }
  | { kind: 'retry'; value: RetryOutcome }
  | { kind: 'dead'; value: DeadOutcome }
  | { kind: 'release'; value: ReleaseOutcome };

/** How long claiming ahead pauses after prefetched pushes had to be released unstarted. */
const PREFETCH_PAUSE_MS = 30_000;

/**
 * Claims due pushes with FOR UPDATE SKIP LOCKED, delivers them through their connector and
 * records the outcomes. Any number of workers, in any number of processes, share one database.
 *
 * Rules that keep a push safe:
 * - claims and outcome writes are short transactions; no transaction is open during a connector
 *   call (PGlite has one connection; PostgreSQL would hold row locks for seconds);
 * - a claim is a lease (locked_by, locked_until) and bumps `attempts`, which is the fencing
 *   token: an outcome is written only if the row is still PROCESSING, held by this worker, at
 *   that attempt — a worker that outlived its lease cannot overwrite a re-claimed push;
 * - a push is delivered through the connection it was accepted for, never another one.
 */
export class PushWorker {
  readonly workerId: string;
  readonly #deps: PushWorkerDeps;
  readonly #repo = new PushRepository();
  // Decrypted configs between pushes of the same connection; the row (status, ciphertext) is
  // still read with every claim, so disabling or re-keying a connection takes effect at once.
  readonly #configs = new ConnectionConfigCache();
  readonly #caller: ConnectorCaller;
  readonly #retry: RetryPolicy;
  readonly #concurrency: number;
  readonly #batchSize: number;
  readonly #prefetch: number;
  readonly #maxReadyWaitMs: number;
  readonly #pushTimeoutMs: number;
  readonly #leaseMs: number;
  readonly #pollIntervalMs: number;
  readonly #leaseCheckIntervalMs: number;
  readonly #ackCheckIntervalMs: number;
  readonly #ackTimeoutMs: number;
  readonly #shutdownGraceMs: number;

  readonly #inflight = new Set<Promise<void>>();
  // Claimed, leased, not started: started in claim order as slots free up (ADR 0017).
  #ready: ReadyJob[] = [];
  readonly #abort = new AbortController();
  #outcomes: Outcome[] = [];
  #flushing: Promise<void> | undefined;
  #stopping = false;
  #loop: Promise<void> | undefined;
  #ackLoop: Promise<void> | undefined;
  #woken = false;
  #wakeUp: (() => void) | undefined;
  #ackWakeUp: (() => void) | undefined;
  #lastLeaseCheck = 0;
  #lastClaimFull = false;
  // Until when (performance.now()) claiming ahead is paused: set when prefetched pushes had to be
  // released unstarted (deliveries slower than the wait bound), so that the worker does not claim
  // and release the same pushes over and over; meanwhile it claims for free slots only.
  #prefetchPausedUntil = 0;

  constructor(deps: PushWorkerDeps, options: PushWorkerOptions = {}) {
    this.#deps = deps;
    this.#caller = new ConnectorCaller({ registry: deps.registry, cipher: deps.cipher, logger: deps.logger, configs: this.#configs });
    // Every in-flight operation listens on the shutdown signal; there are `concurrency` of them.
    setMaxListeners(0, this.#abort.signal);
    this.workerId = options.workerId ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
    this.#retry = options.retryPolicy ?? new RetryPolicy();
    this.#concurrency = positive(options.concurrency ?? 16, 'concurrency');
    this.#batchSize = positive(options.batchSize ?? this.#concurrency, 'batchSize');
    this.#pushTimeoutMs = positive(options.pushTimeoutMs ?? 30_000, 'pushTimeoutMs');
    this.#leaseMs = positive(options.leaseMs ?? this.#pushTimeoutMs + 30_000, 'leaseMs');
    if (this.#leaseMs <= this.#pushTimeoutMs) {
      throw new RangeError('leaseMs must be longer than pushTimeoutMs, or a slow push would be delivered twice at once.');
    }
    this.#pollIntervalMs = positive(options.pollIntervalMs ?? 1_000, 'pollIntervalMs');
    const prefetch = options.prefetch ?? Math.floor(this.#concurrency / 2);
    if (!Number.isInteger(prefetch) || prefetch < 0) throw new RangeError('prefetch must be a whole number, 0 or more.');
    // A prefetched push must still be able to run its full pushTimeoutMs inside its lease, and
    // waits at most 2 s: its connection row was read at claim time, so a connection disabled
    // meanwhile is noticed by the next claim, at most that much later than without prefetching.
    this.#maxReadyWaitMs = Math.min(2_000, (this.#leaseMs - this.#pushTimeoutMs) / 2);
    // A lease margin too tight to wait even a poll interval leaves no room for prefetching.
    this.#prefetch = this.#maxReadyWaitMs >= this.#pollIntervalMs ? prefetch : 0;
    this.#leaseCheckIntervalMs = positive(options.leaseCheckIntervalMs ?? 5_000, 'leaseCheckIntervalMs');
    this.#ackCheckIntervalMs = positive(options.ackCheckIntervalMs ?? 10_000, 'ackCheckIntervalMs');
    this.#ackTimeoutMs = positive(options.ackTimeoutMs ?? 24 * 3_600_000, 'ackTimeoutMs');
    this.#shutdownGraceMs = Math.max(0, options.shutdownGraceMs ?? 10_000);
  }

  /** Starts the claim loop and the acknowledgement loop in the background. */
  start(): void {
    if (this.#loop !== undefined) return;
    this.#loop = this.#run();
    this.#ackLoop = this.#runAcks();
  }

  /** Wakes an idle worker (a NOTIFY arrived, or a push was accepted in this process). */
  wake(): void {
    this.#woken = true;
    this.#wakeUp?.();
  }

  /** Pushes this worker is delivering right now. */
  get inflight(): number {
    return this.#inflight.size;
  }

  /** Pushes claimed ahead and waiting for a free slot. */
  get prefetched(): number {
    return this.#ready.length;
  }

  /**
   * Graceful stop: no new claims; in-flight deliveries get `shutdownGraceMs` to finish, then are
   * aborted and released (PENDING again, the attempt not counted); outcomes are flushed.
   */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#wakeUp?.();
    this.#ackWakeUp?.();
    await this.#loop;
    // Before waiting for the acknowledgement loop: their leases run meanwhile.
    this.#releaseReady(this.#ready.length);
    await this.#ackLoop;
    if (this.#inflight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.#shutdownGraceMs);
      });
      await Promise.race([Promise.allSettled([...this.#inflight]), grace]);
      clearTimeout(timer);
    }
    if (this.#inflight.size > 0) {
      this.#deps.logger.warn({ workerId: this.workerId, inflight: this.#inflight.size }, 'aborting deliveries still running after the shutdown grace period; they are released');
      this.#abort.abort(new ShutdownAbort());
      await Promise.allSettled([...this.#inflight]);
    }
    await this.#flush();
    this.#configs.clear();
  }

  /**
   * One claim-deliver-record round, awaited to the end: for tests and tools that drive time
   * with an injected clock. Returns how many pushes were claimed.
   */
  async runOnce(): Promise<number> {
    const jobs = await this.#claim(this.#batchSize);
    await Promise.all(jobs.map((job) => this.#deliver(job)));
    await this.#flush();
    return jobs.length;
  }

  /** One acknowledgement-check round, awaited to the end. Returns how many pushes were checked. */
  async checkAcksOnce(): Promise<number> {
    const now = this.#deps.clock.now();
    const rows = await this.#repo.claimAckChecks(this.#deps.db, this.workerId, now, new Date(now.getTime() + this.#leaseMs), this.#batchSize);
    if (rows.length === 0) return 0;
    const connections = await this.#repo.connectionsByIds(this.#deps.db, rows.map((r) => r.connectionId));
    const outcomes = await Promise.all(rows.map((row) => this.#checkAck(row, connections.get(row.connectionId))));
    await this.#repo.recordAckOutcomes(this.#deps.db, this.workerId, outcomes);
    return rows.length;
  }

  async #run(): Promise<void> {
    while (!this.#stopping) {
      this.#pump();
      const capacity = this.#concurrency + (performance.now() < this.#prefetchPausedUntil ? 0 : this.#prefetch);
      const room = capacity - this.#inflight.size - this.#ready.length;
      // Under load, wait for a quarter of the room (half the slots without prefetch) before
      // claiming again: fewer, larger claims.
      const minRoom = this.#lastClaimFull ? Math.max(1, Math.floor(this.#prefetch > 0 ? capacity / 4 : this.#concurrency / 2)) : 1;
      if (room < minRoom) {
        await this.#sleep(this.#pollIntervalMs);
        continue;
      }
      let jobs: Job[] = [];
      const wanted = Math.min(room, this.#batchSize);
      // Taken before the claim, like the lease: the wait bound then holds from the lease's start.
      const claimedAt = performance.now();
      try {
        jobs = await this.#claim(wanted);
      } catch (err) {
        this.#deps.logger.error({ err, workerId: this.workerId }, 'claiming pushes failed; retrying after the poll interval');
        await this.#sleep(this.#pollIntervalMs);
        continue;
      }
      this.#lastClaimFull = jobs.length === wanted;
      for (const job of jobs) {
        // Free slots take their pushes at once (however long the claim took); only the pushes
        // claimed ahead wait in the queue, and only they are subject to the wait bound.
        if (this.#ready.length === 0 && this.#inflight.size < this.#concurrency) this.#track(this.#deliver(job));
        else this.#ready.push({ job, claimedAt });
      }
      this.#pump();
      if (jobs.length < wanted) await this.#sleep(this.#pollIntervalMs);
    }
  }

  /** Starts ready pushes while slots are free; releases any that waited too long for one. */
  #pump(): void {
    if (this.#stopping) return;
    const now = performance.now();
    let stale = 0;
    while (stale < this.#ready.length && now - this.#ready[stale]!.claimedAt > this.#maxReadyWaitMs) stale++;
    if (stale > 0) {
      this.#deps.logger.info({ workerId: this.workerId, count: stale }, 'released prefetched pushes that waited too long for a free slot');
      this.#releaseReady(stale);
      this.#prefetchPausedUntil = now + PREFETCH_PAUSE_MS;
    }
    while (this.#inflight.size < this.#concurrency && this.#ready.length > 0) this.#track(this.#deliver(this.#ready.shift()!.job));
  }

  /** Hands the first `count` ready pushes back (PENDING, the attempt not counted). */
  #releaseReady(count: number): void {
    if (count <= 0) return;
    const released = this.#ready.splice(0, count);
    const at = this.#deps.clock.now();
    // Unstarted: due again when it was due before, so it keeps its place in the queue.
    for (const { job } of released) {
      this.#outcomes.push({ kind: 'release', value: { id: job.row.id, attempts: job.row.attempts, at, dueAt: job.row.nextAttemptAt } });
    }
    this.#scheduleFlush();
  }

  async #runAcks(): Promise<void> {
    while (!this.#stopping) {
      try {
        while (!this.#stopping && (await this.checkAcksOnce()) === this.#batchSize) {
          // A full batch: more are probably due.
        }
      } catch (err) {
        this.#deps.logger.error({ err, workerId: this.workerId }, 'checking acknowledgements failed; retrying later');
      }
      if (this.#stopping) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.#ackCheckIntervalMs);
        this.#ackWakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#ackWakeUp = undefined;
    }
  }

  #track(task: Promise<void>): void {
    this.#inflight.add(task);
    void task.finally(() => {
      this.#inflight.delete(task);
      // The next prefetched push takes the slot at once; the loop may claim more.
      this.#pump();
      this.wake();
    });
  }

  async #sleep(ms: number): Promise<void> {
    if (this.#woken || this.#stopping) {
      this.#woken = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.#wakeUp = undefined;
    this.#woken = false;
  }

  /**
   * Requeues expired leases (now and then), then claims due pushes with their connections in
   * one statement: one round trip per claim, no explicit transaction (each statement is atomic).
   */
  async #claim(limit: number): Promise<Job[]> {
    const now = this.#deps.clock.now();
    const leaseUntil = new Date(now.getTime() + this.#leaseMs);
    if (now.getTime() - this.#lastLeaseCheck >= this.#leaseCheckIntervalMs) {
      this.#lastLeaseCheck = now.getTime();
      const requeued = await this.#repo.requeueExpiredLeases(this.#deps.db, now, this.#retry.options.maxAttempts, 1000);
      if (requeued.length > 0) {
        this.#deps.logger.warn({ workerId: this.workerId, count: requeued.length }, 'requeued pushes whose worker lease expired');
      }
    }
    return this.#repo.claimDueWithConnections(this.#deps.db, this.workerId, now, leaseUntil, limit);
  }

  /** Delivers one claimed push and queues its outcome. Never throws. */
  async #deliver({ row, connection }: Job): Promise<void> {
    try {
      const outcome = await this.#attempt(row, connection);
      this.#record(row, outcome);
    } catch (err) {
      // A bug of ours, not of the connector: keep the push safe (retry) and say so.
      this.#deps.logger.error({ err, pushId: row.id, workerId: this.workerId }, 'unexpected failure while delivering a push');
      this.#record(row, this.#failure(row, PUSH_REASON.CONNECTOR_CRASHED, 'Unexpected failure in the worker; see the server log.', true));
    }
    this.#scheduleFlush();
  }

  async #attempt(row: PushRow, connection: BoundConnection | undefined): Promise<Outcome> {
    if (connection === undefined) {
      return this.#dead(row, PUSH_REASON.CONNECTION_MISSING, `Connection ${row.connectionId} no longer exists; the push was not delivered to any other connection.`);
    }
    if (connection.status !== 'ACTIVE') {
      return this.#dead(
        row,
        PUSH_REASON.CONNECTION_DISABLED,
        `Connection ${row.connectionId} was disabled after this push was accepted, so it was not delivered (and never to another connection). Activate the connection again and retry the push, or push the document again to the current connection.`,
      );
    }
    const pushTimeoutMs = this.#pushTimeoutMs;
    const result = await this.#caller.call({ operation: 'push', connection, document: toDocument(row), timeoutMs: pushTimeoutMs, signal: this.#abort.signal });
    switch (result.kind) {
      case 'value': {
        const receipt = result.value;
        const at = this.#deps.clock.now();
        this.#deps.hooks?.delivered?.(row.connectorType, result.durationMs / 1000, Math.max(0, at.getTime() - row.createdAt.getTime()) / 1000);
        // A receipt may say this document will never be acknowledged (acknowledgements off in the
        // connection's config): no check is scheduled, instead of one that only learns that.
        const acks = receipt.expectAcknowledgement;
        return {
          kind: 'delivered',
          value: {
            id: row.id,
            attempts: row.attempts,
            externalRef: receipt.externalRef,
            receiptDetails: receipt.details,
            at,
            ackDeadline: acks ? new Date(at.getTime() + this.#ackTimeoutMs) : null,
            nextAckCheckAt: acks ? new Date(at.getTime() + this.#ackCheckIntervalMs) : null,
          },
        };
      }
      case 'aborted':
        return { kind: 'release', value: { id: row.id, attempts: row.attempts, at: this.#deps.clock.now() } };
      case 'timeout':
        return this.#failure(row, PUSH_REASON.PUSH_TIMEOUT, `push() did not finish within ${pushTimeoutMs} ms and was aborted.`, true);
      case 'connector-error':
        return this.#failure(row, result.code, result.message, result.retryable);
      case 'crashed':
        // Not a ConnectorError: retried like a transient failure (see ADR "unknown throws"),
        // bounded by maxAttempts so a plugin bug still ends as a visible dead letter.
        return this.#failure(row, PUSH_REASON.CONNECTOR_CRASHED, `The connector threw ${result.errorName}: ${result.message}`, true);
      case 'invalid':
        return this.#dead(row, PUSH_REASON.CONNECTOR_CRASHED, result.message);
      case 'config-error':
        // The caller has logged the ids and reason code; the push says only this.
        return this.#dead(row, PUSH_REASON.CONFIG_DECRYPT_FAILED, 'Configuration error');
      case 'unavailable':
        return this.#failure(row, PUSH_REASON.CONNECTOR_UNAVAILABLE, `No plugin for connector type ${connection.connectorType} is loaded in this worker.`, true);
    }
  }

  #failure(row: PushRow, code: string, message: string, retryable: boolean): Outcome {
    if (!retryable) return this.#dead(row, code, message);
    if (!this.#retry.canRetry(row.attempts)) {
      return this.#dead(row, code, `${message} (gave up after ${row.attempts} attempts)`);
    }
    const at = this.#deps.clock.now();
    this.#deps.hooks?.retried?.(row.connectorType, code);
    return {
      kind: 'retry',
      value: { id: row.id, attempts: row.attempts, code, message: truncate(message), at, nextAttemptAt: new Date(at.getTime() + this.#retry.delayMs(row.attempts)) },
    };
  }

  #dead(row: PushRow, code: string, message: string): Outcome {
    this.#deps.hooks?.dead?.(row.connectorType, code);
    return { kind: 'dead', value: { id: row.id, attempts: row.attempts, code, message: truncate(message), at: this.#deps.clock.now() } };
  }

  #record(row: PushRow, outcome: Outcome): void {
    this.#outcomes.push(outcome);
    if (outcome.kind === 'dead' || outcome.kind === 'retry') {
      this.#deps.logger.info(
        { pushId: row.id, orgId: row.orgId, connectorType: row.connectorType, attempts: row.attempts, outcome: outcome.kind, code: outcome.value.code },
        outcome.kind === 'dead' ? 'push is a dead letter' : 'push failed; will retry',
      );
    }
  }

  /** Group commit: outcomes that arrive while a flush runs are written by the next one. */
  #scheduleFlush(): void {
    if (this.#flushing === undefined) this.#flushing = this.#flushLoop();
  }

  async #flushLoop(): Promise<void> {
    try {
      while (this.#outcomes.length > 0) {
        const batch = this.#outcomes;
        this.#outcomes = [];
        try {
          await this.#write(batch);
        } catch (err) {
          // Keep them and try again shortly; if this process dies, the leases expire and the
          // pushes are delivered again (idempotently).
          this.#deps.logger.error({ err, workerId: this.workerId, count: batch.length }, 'recording push outcomes failed; retrying');
          this.#outcomes.unshift(...batch);
          await new Promise((r) => setTimeout(r, 200));
          if (this.#stopping && this.#abort.signal.aborted) break;
        }
      }
    } finally {
      this.#flushing = undefined;
    }
  }

  async #flush(): Promise<void> {
    while (this.#flushing !== undefined || this.#outcomes.length > 0) {
      this.#scheduleFlush();
      await this.#flushing;
    }
  }

  async #write(batch: Outcome[]): Promise<void> {
    const of = <K extends Outcome['kind']>(kind: K) =>
      batch.filter((o): o is Extract<Outcome, { kind: K }> => o.kind === kind).map((o) => o.value as Extract<Outcome, { kind: K }>['value']);
    const delivered = of('delivered');
    const retry = of('retry');
    const dead = of('dead');
    const release = of('release');
    const writes: ((db: Knex | Knex.Transaction) => Promise<string[]>)[] = [];
    if (delivered.length > 0) writes.push((db) => this.#repo.markDelivered(db, this.workerId, delivered));
    if (retry.length > 0) writes.push((db) => this.#repo.markRetry(db, this.workerId, retry));
    if (dead.length > 0) writes.push((db) => this.#repo.markDead(db, this.workerId, dead));
    if (release.length > 0) writes.push((db) => this.#repo.release(db, this.workerId, release));
    // One kind (the usual case) is one UPDATE, atomic without BEGIN/COMMIT round trips.
    const written =
      writes.length === 1
        ? (await writes[0]!(this.#deps.db)).length
        : await this.#deps.db.transaction(async (trx) => {
            let n = 0;
            for (const write of writes) n += (await write(trx)).length;
            return n;
          });
    if (written < batch.length) {
      // The lease expired and someone else holds the push now: their outcome wins (fencing).
      this.#deps.logger.warn({ workerId: this.workerId, lost: batch.length - written }, 'outcomes not recorded: the lease was lost to another worker');
    }
  }

  async #checkAck(row: PushRow, connection: BoundConnection | undefined): Promise<AckOutcome> {
    const { clock, hooks } = this.#deps;
    const intervalMs = this.#ackCheckIntervalMs;
    const now = clock.now();
    const base = { id: row.id, ackChecks: row.ackChecks, at: now };
    const expired = row.ackDeadline !== null && now.getTime() >= row.ackDeadline.getTime();
    const later = (code?: string, message?: string): AckOutcome => {
      if (expired) {
        hooks?.dead?.(row.connectorType, PUSH_REASON.ACK_TIMEOUT);
        return {
          kind: 'dead', ...base, code: PUSH_REASON.ACK_TIMEOUT,
          message: `The ERP did not acknowledge the document (${row.externalRef}) by ${row.ackDeadline?.toISOString()}. Check the ERP's import job, then retry the push.`,
        };
      }
      return { kind: 'pending', ...base, nextCheckAt: new Date(now.getTime() + intervalMs), ...(code !== undefined ? { code, message: message ?? '' } : {}) };
    };
    if (connection === undefined) return later();
    const receipt: PushReceipt = { externalRef: row.externalRef ?? '', ...(row.receiptDetails !== null ? { details: row.receiptDetails } : {}) };
    const result = await this.#caller.call({ operation: 'checkDelivery', connection, receipt, timeoutMs: this.#pushTimeoutMs, signal: this.#abort.signal });
    switch (result.kind) {
      case 'value': {
        const status = result.value;
        if (status.state === 'acknowledged') return { kind: 'acknowledged', ...base, details: status.details };
        if (status.state === 'rejected') return { kind: 'rejected', ...base, message: status.message ?? 'The ERP rejected the document.', details: status.details };
        return later();
      }
      case 'unavailable':
        // A plugin not loaded here may be loaded by another worker: check again later. One
        // without checkDelivery can never answer: stop checking; the push stays DELIVERED.
        return result.reason === 'not-loaded' ? later() : { kind: 'pending', ...base, nextCheckAt: null };
      case 'config-error':
        return later(PUSH_REASON.CONFIG_DECRYPT_FAILED, 'Configuration error');
      case 'connector-error':
        if (!result.retryable) {
          // The connector says checking cannot work (e.g. acknowledgements are off in this
          // connection's config): stop checking; the push stays DELIVERED.
          return { kind: 'pending', ...base, nextCheckAt: null, details: { ackChecksStopped: { code: result.code, message: result.message } } };
        }
        return later(result.code, result.message);
      case 'timeout':
        return later('ACK_CHECK_FAILED', `checkDelivery() did not finish within ${result.timeoutMs} ms and was aborted.`);
      case 'aborted':
        return later('ACK_CHECK_FAILED', 'The worker is shutting down.');
      case 'crashed':
      case 'invalid':
        return later('ACK_CHECK_FAILED', result.message);
    }
  }
}

/** Aborts in-flight deliveries at the end of the shutdown grace period. */
class ShutdownAbort extends Error {
  constructor() {
    super('The worker is shutting down.');
    this.name = 'ShutdownAbort';
  }
}

function toDocument(row: PushRow): PushDocument {
  return Object.freeze({
    pushId: row.id,
    documentType: row.documentType,
    documentId: row.documentId,
    idempotencyKey: row.idempotencyKey,
    payload: row.payload,
    createdAt: row.createdAt.toISOString(),
    // The claim already counted this attempt.
    attempt: row.attempts,
  });
}

function positive(n: number, name: string): number {
  if (!Number.isFinite(n) || n <= 0) throw new RangeError(`${name} must be a positive number.`);
  return n;
}
