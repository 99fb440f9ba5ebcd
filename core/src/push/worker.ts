import { setMaxListeners } from 'node:events';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Clock } from '@erpc/sdk';
import type { Logger } from 'pino';
import type { ConfigCipher } from '../crypto/index.js';
import { ConnectionConfigCache } from '../plugins/connection-config-cache.js';
import { ConnectorCaller } from '../plugins/connector-call.js';
import type { ConnectorRegistry } from '../plugins/connector-registry.js';
import type { GrantPolicy } from '../plugins/sandbox/grants.js';
import type { SandboxSupervisor } from '../plugins/sandbox/sandbox-supervisor.js';
import { AckChecker } from './ack-checker.js';
import { ClaimAheadQueue, type ClaimedPush } from './claim-ahead.js';
import { PushDelivery } from './delivery.js';
import { OutcomeWriter, type Outcome } from './outcome-writer.js';
import type { PushEvents, PushStorage } from './ports.js';
import { PUSH_REASON } from './push-types.js';
import { RetryPolicy } from './retry-policy.js';
import { Wakeup } from './wakeup.js';

/** Settings of a worker. Every duration is in milliseconds. */
export interface PushWorkerOptions {
  /** Identifies this worker in `locked_by` (default host:pid:random). */
  workerId?: string;
  /** Deliveries in flight at once in this process (default 16). */
  concurrency?: number;
  /**
   * Most pushes claimed by one claim query (default: the claim loop fills all its room, slots and
   * prefetch, at once, i.e. concurrency + prefetch; `runOnce` and the acknowledgement checks take
   * concurrency).
   */
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
  /** The push table and the connections pushes are bound to. */
  storage: PushStorage;
  registry: ConnectorRegistry;
  /** Runs sandboxed plugins' calls (needed once such a plugin is loaded). */
  sandboxes?: SandboxSupervisor;
  grants?: GrantPolicy;
  cipher: ConfigCipher;
  clock: Clock;
  logger: Logger;
  hooks?: PushWorkerHooks;
  /** Webhook events, written in the transaction of each outcome (ADR 0035). */
  events?: PushEvents;
}

/**
 * Claims due pushes with FOR UPDATE SKIP LOCKED, delivers them through their connector and
 * records the outcomes. Any number of workers, in any number of processes, share one database.
 * This file is the claim loop; the parts it drives each have their own file: the claim-ahead
 * queue (`claim-ahead.ts`), one delivery and its outcome (`delivery.ts`, through the one
 * connector call), the group-committed outcome writes (`outcome-writer.ts`) and the
 * acknowledgement checks (`ack-checker.ts`). Both loops sleep on a {@link Wakeup}.
 *
 * Rules that keep a push safe:
 * - claims and outcome writes are short transactions; no transaction is open during a connector
 *   call (PGlite has one connection; PostgreSQL would hold row locks for seconds);
 * - a claim is a lease (locked_by, locked_until) and bumps `attempts`, which is the fencing
 *   token: an outcome is written only if the row is still PROCESSING, held by this worker, at
 *   that attempt — a worker that outlived its lease cannot overwrite a re-claimed push;
 * - a push is delivered through the connection it was accepted for, never another one;
 * - a push claimed ahead of a free slot waits at most min(2 s, (leaseMs − pushTimeoutMs) / 2)
 *   from before its claim, so it can still run its full pushTimeoutMs inside its lease, else it
 *   is released unstarted (ADR 0017);
 * - on stop: no new claims, pushes claimed ahead are released first, in-flight deliveries get
 *   the grace period, then are aborted and released (the attempt not counted), outcomes flushed.
 */
export class PushWorker {
  readonly workerId: string;
  readonly #deps: PushWorkerDeps;
  // Decrypted configs between pushes of the same connection; the row (status, ciphertext) is
  // still read with every claim, so disabling or re-keying a connection takes effect at once.
  readonly #configs = new ConnectionConfigCache();
  readonly #retry: RetryPolicy;
  readonly #concurrency: number;
  readonly #batchSize: number;
  // The claim loop's batch: fewer, larger claims (one statement each) when pushes are quick (ADR 0037).
  readonly #claimBatch: number;
  readonly #leaseMs: number;
  readonly #pollIntervalMs: number;
  readonly #leaseCheckIntervalMs: number;
  readonly #shutdownGraceMs: number;

  readonly #abort = new AbortController();
  readonly #inflight = new Set<Promise<void>>();
  readonly #wakeup = new Wakeup();
  readonly #writer: OutcomeWriter;
  // Claimed, leased, not started: started in claim order as slots free up (ADR 0017).
  readonly #ahead: ClaimAheadQueue;
  readonly #delivery: PushDelivery;
  readonly #acks: AckChecker;
  #stopping = false;
  #loop: Promise<void> | undefined;
  #ackLoop: Promise<void> | undefined;
  #lastLeaseCheck = 0;
  #lastClaimFull = false;

  constructor(deps: PushWorkerDeps, options: PushWorkerOptions = {}) {
    this.#deps = deps;
    // Every in-flight operation listens on the shutdown signal; there are `concurrency` of them.
    setMaxListeners(0, this.#abort.signal);
    this.workerId = options.workerId ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
    this.#retry = options.retryPolicy ?? new RetryPolicy();
    this.#concurrency = positive(options.concurrency ?? 16, 'concurrency');
    this.#batchSize = positive(options.batchSize ?? this.#concurrency, 'batchSize');
    const pushTimeoutMs = positive(options.pushTimeoutMs ?? 30_000, 'pushTimeoutMs');
    this.#leaseMs = positive(options.leaseMs ?? pushTimeoutMs + 30_000, 'leaseMs');
    if (this.#leaseMs <= pushTimeoutMs) {
      throw new RangeError('leaseMs must be longer than pushTimeoutMs, or a slow push would be delivered twice at once.');
    }
    this.#pollIntervalMs = positive(options.pollIntervalMs ?? 1_000, 'pollIntervalMs');
    const prefetch = options.prefetch ?? Math.floor(this.#concurrency / 2);
    if (!Number.isInteger(prefetch) || prefetch < 0) throw new RangeError('prefetch must be a whole number, 0 or more.');
    // A prefetched push must still be able to run its full pushTimeoutMs inside its lease, and
    // waits at most 2 s: its connection row was read at claim time, so a connection disabled
    // meanwhile is noticed by the next claim, at most that much later than without prefetching.
    const maxWaitMs = Math.min(2_000, (this.#leaseMs - pushTimeoutMs) / 2);
    this.#claimBatch = options.batchSize ?? this.#concurrency + prefetch;
    this.#leaseCheckIntervalMs = positive(options.leaseCheckIntervalMs ?? 5_000, 'leaseCheckIntervalMs');
    const ackCheckIntervalMs = positive(options.ackCheckIntervalMs ?? 10_000, 'ackCheckIntervalMs');
    const ackTimeoutMs = positive(options.ackTimeoutMs ?? 24 * 3_600_000, 'ackTimeoutMs');
    this.#shutdownGraceMs = Math.max(0, options.shutdownGraceMs ?? 10_000);

    const { storage, clock, logger, hooks } = deps;
    const shutdown = this.#abort.signal;
    const caller = new ConnectorCaller({
      registry: deps.registry,
      cipher: deps.cipher,
      logger,
      configs: this.#configs,
      ...(deps.sandboxes !== undefined ? { sandboxes: deps.sandboxes } : {}),
      ...(deps.grants !== undefined ? { grants: deps.grants } : {}),
    });
    this.#writer = new OutcomeWriter({ pushes: storage.pushes, workerId: this.workerId, logger, shutdown, events: deps.events });
    this.#ahead = new ClaimAheadQueue({
      // A lease margin too tight to wait even a poll interval leaves no room for prefetching.
      depth: maxWaitMs >= this.#pollIntervalMs ? prefetch : 0,
      maxWaitMs, writer: this.#writer, clock, logger, workerId: this.workerId,
    });
    this.#delivery = new PushDelivery({ caller, clock, retry: this.#retry, hooks, pushTimeoutMs, ackTimeoutMs, ackCheckIntervalMs, shutdown });
    this.#acks = new AckChecker({
      pushes: storage.pushes, connections: storage.connections, caller, clock, logger, hooks, workerId: this.workerId,
      leaseMs: this.#leaseMs, batchSize: this.#batchSize, intervalMs: ackCheckIntervalMs, timeoutMs: pushTimeoutMs, shutdown, events: deps.events,
    });
  }

  /** Starts the claim loop and the acknowledgement loop in the background. */
  start(): void {
    if (this.#loop !== undefined) return;
    this.#loop = this.#run();
    this.#ackLoop = this.#acks.run();
  }

  /** Wakes an idle worker (a NOTIFY arrived, or a push was accepted in this process). */
  wake(): void {
    this.#wakeup.wake();
  }

  /** Pushes this worker is delivering right now. */
  get inflight(): number {
    return this.#inflight.size;
  }

  /**
   * Whether this worker has a backlog: its last claim came back full (more pushes are due than it
   * had room for). This process's webhook dispatcher gives way to it meanwhile (ADR 0050).
   */
  get backlogged(): boolean {
    return this.#lastClaimFull && !this.#stopping;
  }

  /** Pushes claimed ahead and waiting for a free slot. */
  get prefetched(): number {
    return this.#ahead.size;
  }

  /**
   * Graceful stop: no new claims; in-flight deliveries get `graceMs` (default `shutdownGraceMs`)
   * to finish, then are aborted and released (PENDING again, the attempt not counted); outcomes
   * are flushed.
   */
  async stop(graceMs: number = this.#shutdownGraceMs): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#wakeup.wake();
    this.#acks.stop();
    await this.#loop;
    // Before waiting for the acknowledgement loop: their leases run meanwhile.
    this.#ahead.releaseAll();
    await this.#ackLoop;
    if (this.#inflight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, Math.max(0, graceMs));
      });
      await Promise.race([Promise.allSettled([...this.#inflight]), grace]);
      clearTimeout(timer);
    }
    if (this.#inflight.size > 0) {
      this.#deps.logger.warn({ workerId: this.workerId, inflight: this.#inflight.size }, 'aborting deliveries still running after the shutdown grace period; they are released');
      this.#abort.abort(new ShutdownAbort());
      await Promise.allSettled([...this.#inflight]);
    }
    await this.#writer.flush();
    this.#configs.clear();
  }

  /**
   * One claim-deliver-record round, awaited to the end: for tests and tools that drive time
   * with an injected clock. Returns how many pushes were claimed.
   */
  async runOnce(): Promise<number> {
    const pushes = await this.#claim(this.#batchSize);
    await Promise.all(pushes.map((push) => this.#deliver(push)));
    await this.#writer.flush();
    return pushes.length;
  }

  /** One acknowledgement-check round, awaited to the end. Returns how many pushes were checked. */
  checkAcksOnce(): Promise<number> {
    return this.#acks.checkOnce();
  }

  async #run(): Promise<void> {
    const ahead = this.#ahead;
    while (!this.#stopping) {
      this.#pump();
      const capacity = this.#concurrency + ahead.depthAt(performance.now());
      const room = capacity - this.#inflight.size - ahead.size;
      // Under load, wait for a quarter of the room (half the slots without prefetch) before
      // claiming again: fewer, larger claims.
      const minRoom = this.#lastClaimFull ? Math.max(1, Math.floor(ahead.enabled ? capacity / 4 : this.#concurrency / 2)) : 1;
      if (room < minRoom) {
        await this.#wakeup.wait(this.#pollIntervalMs);
        continue;
      }
      let pushes: ClaimedPush[] = [];
      const wanted = Math.min(room, this.#claimBatch);
      // Taken before the claim, like the lease: the wait bound then holds from the lease's start.
      const claimedAt = performance.now();
      try {
        pushes = await this.#claim(wanted);
      } catch (err) {
        this.#deps.logger.error({ err, workerId: this.workerId }, 'claiming pushes failed; retrying after the poll interval');
        await this.#wakeup.wait(this.#pollIntervalMs);
        continue;
      }
      this.#lastClaimFull = pushes.length === wanted;
      for (const push of pushes) {
        // Free slots take their pushes at once (however long the claim took); only the pushes
        // claimed ahead wait in the queue, and only they are subject to the wait bound.
        if (ahead.size === 0 && this.#inflight.size < this.#concurrency) this.#track(this.#deliver(push));
        else ahead.add(push, claimedAt);
      }
      this.#pump();
      if (pushes.length < wanted) await this.#wakeup.wait(this.#pollIntervalMs);
    }
  }

  /** Starts pushes claimed ahead while slots are free; releases any that waited too long for one. */
  #pump(): void {
    if (this.#stopping) return;
    const ahead = this.#ahead;
    ahead.expire(performance.now());
    while (this.#inflight.size < this.#concurrency && ahead.size > 0) this.#track(this.#deliver(ahead.take()!));
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

  /**
   * Requeues expired leases (now and then), then claims due pushes with their connections in
   * one statement: one round trip per claim, no explicit transaction (each statement is atomic).
   */
  async #claim(limit: number): Promise<ClaimedPush[]> {
    const now = this.#deps.clock.now();
    const leaseUntil = new Date(now.getTime() + this.#leaseMs);
    if (now.getTime() - this.#lastLeaseCheck >= this.#leaseCheckIntervalMs) {
      this.#lastLeaseCheck = now.getTime();
      const requeued = await this.#requeueExpiredLeases(now);
      if (requeued.length > 0) {
        this.#deps.logger.warn({ workerId: this.workerId, count: requeued.length }, 'requeued pushes whose worker lease expired');
      }
    }
    return this.#deps.storage.pushes.claimDueWithConnections(this.workerId, now, leaseUntil, limit);
  }

  /**
   * Pushes whose worker died: PENDING again (push.retrying) or, on the last attempt, DEAD
   * (push.dead), with their webhook events in the same transaction when webhooks are wired.
   */
  async #requeueExpiredLeases(now: Date): Promise<{ id: string; status: string }[]> {
    const { maxAttempts, horizonMs } = this.#retry.options;
    const events = this.#deps.events;
    if (events === undefined) return this.#deps.storage.pushes.requeueExpiredLeases(now, maxAttempts, 1000, horizonMs);
    const queued: [string, number][] = [];
    const requeued = await events.storage.transaction(async (tx) => {
      queued.length = 0;
      const rows = await tx.pushes.requeueExpiredLeases(now, maxAttempts, 1000, horizonMs);
      for (const [status, type] of [['PENDING', 'push.retrying'], ['DEAD', 'push.dead']] as const) {
        const deliveries = await tx.webhooks.insertPushEvents(type, rows.filter((r) => r.status === status).map((r) => r.id), now);
        if (deliveries > 0) queued.push([type, deliveries]);
      }
      return rows;
    });
    for (const [type, deliveries] of queued) events.onQueued(type, deliveries);
    return requeued;
  }

  /** Delivers one claimed push and queues its outcome. Never throws. */
  async #deliver({ row, connection }: ClaimedPush): Promise<void> {
    let outcome: Outcome;
    try {
      outcome = await this.#delivery.attempt(row, connection);
    } catch (err) {
      // A bug of ours, not of the connector: keep the push safe (retry) and say so.
      this.#deps.logger.error({ err, pushId: row.id, workerId: this.workerId }, 'unexpected failure while delivering a push');
      outcome = this.#delivery.failure(row, PUSH_REASON.CONNECTOR_CRASHED, 'Unexpected failure in the worker; see the server log.', true);
    }
    this.#writer.record(row, outcome);
  }
}

/** Aborts in-flight deliveries at the end of the shutdown grace period. */
class ShutdownAbort extends Error {
  constructor() {
    super('The worker is shutting down.');
    this.name = 'ShutdownAbort';
  }
}

function positive(n: number, name: string): number {
  if (!Number.isFinite(n) || n <= 0) throw new RangeError(`${name} must be a positive number.`);
  return n;
}
