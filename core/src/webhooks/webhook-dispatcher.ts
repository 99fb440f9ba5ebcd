import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Clock } from '@erpc/sdk';
import type { Logger } from 'pino';
import type { ConfigCipher } from '../crypto/index.js';
import { GroupCommit } from '../group-commit.js';
import { Wakeup } from '../push/wakeup.js';
import { toPushView } from '../push/push-types.js';
import { toRow as pushRowOf } from '../storage/repositories/push-repository.js';
import type { WebhookHandoff } from '../push/ports.js';
import type { ClaimedWebhookDelivery, WebhookAttemptOutcome, WebhookDeliveryStore, WebhookInsertClaim } from './ports.js';
import type { WebhookRetrySchedule } from './retry-schedule.js';
import { webhookHeaders } from './signing.js';
import type { SendResult, WebhookHttpClient } from './webhook-http.js';
import { decryptSecrets, type WebhookSecrets } from './webhook-secret.js';

/** What the dispatcher reports to metrics. */
export interface WebhookDispatcherHooks {
  delivered?(type: string, attemptSeconds: number, sinceEventSeconds: number): void;
  failed?(type: string, final: boolean): void;
  endpointDisabled?(): void;
}

export interface WebhookDispatcherDeps {
  readonly store: WebhookDeliveryStore;
  readonly cipher: ConfigCipher;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly http: WebhookHttpClient;
  readonly schedule: WebhookRetrySchedule;
  readonly hooks?: WebhookDispatcherHooks | undefined;
  /**
   * Whether the push worker of this process has a backlog right now (its last claim came back
   * full). While it has, new webhooks give way to push deliveries for up to `yieldMs` (ADR 0050).
   */
  readonly pushBacklog?: (() => boolean) | undefined;
}

export interface WebhookDispatcherOptions {
  workerId?: string;
  /** Requests in flight at once (default 32). */
  concurrency?: number;
  /** ERPC_WEBHOOK_TIMEOUT_MS (default 10 s). */
  timeoutMs?: number;
  /** How long a claim is held (default timeoutMs + 30 s). */
  leaseMs?: number;
  /** Poll for due deliveries this often when nothing wakes the dispatcher (default 1 s). */
  pollIntervalMs?: number;
  /** Look for expired leases at most this often (default 5 s). */
  leaseCheckIntervalMs?: number;
  /** ERPC_WEBHOOK_DISABLE_AFTER (default 5 days). */
  disableAfterMs?: number;
  /** How long attempt outcomes wait to be written with others (default 5 ms; ADR 0043). */
  outcomeLingerMs?: number;
  /**
   * ERPC_WEBHOOK_YIELD_MS: while `pushBacklog()` says the push worker is behind, deliveries the
   * outcome writers hand over are held in memory (claimed, leased for yieldMs longer) and sent
   * once the backlog is gone or they have waited yieldMs; the claim loop takes only deliveries due
   * yieldMs ago or earlier, and looks every 100 ms instead of at every wake (default 0: never
   * held; ADR 0050).
   */
  yieldMs?: number;
  /** Most deliveries held in memory while yielding (default concurrency × 128); beyond it they are written unclaimed. */
  holdMax?: number;
}

/** While yielding to a push backlog, the claim loop looks for deliveries due `yieldMs` ago this often. */
const YIELD_CHECK_MS = 100;

/**
 * Sends webhook deliveries: claims due ones with FOR UPDATE SKIP LOCKED and a lease (attempts +
 * 1 is the fencing token, as for pushes), signs each attempt (Standard Webhooks; both secrets
 * during a rotation), POSTs it through the SSRF-guarded client, and group-commits the outcomes
 * together with the endpoints' failure streaks. Runs beside the push worker in every worker
 * process; any number of them share one database. Per-endpoint order of a push's events is kept
 * by the claim (ADR 0035): a finished delivery wakes the loop so the next one goes at once.
 *
 * - no transaction is open during a request;
 * - a dispatcher that dies mid-request leaves its lease to expire: the delivery is sent again,
 *   same `webhook-id` (receivers drop duplicates by it);
 * - 2xx delivered; timeouts, connection errors, 408, 429 and 5xx retried on the schedule (a
 *   `Retry-After` replaces that delay); other answers fail at once (redirects are not followed);
 * - the push outcomes written in this process hand it their new deliveries already claimed
 *   (`offer`/`take`, ADR 0042): those go out at once, with no claim round trip;
 * - while this process's push worker has a backlog, new webhooks give way to it for at most
 *   `yieldMs` (ERPC_WEBHOOK_YIELD_MS, ADR 0050): written unclaimed, then claimed in order.
 */
export class WebhookDispatcher implements WebhookHandoff {
  readonly workerId: string;
  readonly #deps: WebhookDispatcherDeps;
  readonly #concurrency: number;
  readonly #timeoutMs: number;
  readonly #leaseMs: number;
  readonly #pollIntervalMs: number;
  readonly #leaseCheckIntervalMs: number;
  readonly #disableAfterMs: number;
  readonly #wakeup = new Wakeup();
  readonly #inflight = new Set<Promise<void>>();
  readonly #outcomes: GroupCommit<WebhookAttemptOutcome>;
  #stopping = false;
  #loop: Promise<void> | undefined;
  #lastLeaseCheck = 0;
  readonly #yieldMs: number;
  readonly #holdMax: number;
  // While yielding (ADR 0050): the claim loop's next look, by performance.now().
  #nextYieldedClaim = 0;
  // Handed over while yielding: claimed for this dispatcher, sent oldest first once the backlog is
  // gone or they have waited yieldMs (`at`, performance.now() when taken).
  // Held while yielding: by id (written claimed with `idsOnly`, read when sent) or whole.
  readonly #held: { d: ClaimedWebhookDelivery | string; at: number }[] = [];
  #heldHead = 0;
  // Offers made to be held, and the hold places they reserve until settled.
  readonly #holdOffers = new WeakSet<WebhookInsertClaim>();
  #reservedHold = 0;
  // Decrypted secrets between deliveries to the same endpoint, keyed by the stored ciphertext
  // (read with every claim): a rotated or re-keyed secret is a new ciphertext, so it is never stale.
  readonly #secrets = new Map<string, { blob: Buffer; secrets: WebhookSecrets }>();
  /** Slots offered to outcome writers and not yet settled (ADR 0042). */
  #reserved = 0;

  constructor(deps: WebhookDispatcherDeps, options: WebhookDispatcherOptions = {}) {
    this.#deps = deps;
    this.workerId = options.workerId ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}:webhooks`;
    this.#concurrency = options.concurrency ?? 32;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#leaseMs = options.leaseMs ?? this.#timeoutMs + 30_000;
    if (this.#leaseMs <= this.#timeoutMs) throw new RangeError('leaseMs must be longer than timeoutMs');
    this.#pollIntervalMs = options.pollIntervalMs ?? 1_000;
    this.#leaseCheckIntervalMs = options.leaseCheckIntervalMs ?? 5_000;
    this.#disableAfterMs = options.disableAfterMs ?? 5 * 86_400_000;
    this.#yieldMs = options.yieldMs ?? 0;
    if (!Number.isInteger(this.#yieldMs) || this.#yieldMs < 0) throw new RangeError('yieldMs must be a whole number of milliseconds, 0 or more.');
    this.#holdMax = options.holdMax ?? this.#concurrency * 128;
    this.#outcomes = new GroupCommit<WebhookAttemptOutcome>({
      write: (batch) => this.#write(batch),
      failed: (err, count) => deps.logger.error({ err, workerId: this.workerId, count }, 'recording webhook outcomes failed; retrying'),
      stopRetrying: () => this.#stopping && this.#inflight.size === 0,
      // Nobody waits on these writes (the webhook was sent; they commit asynchronously anyway):
      // a few milliseconds buy batches several times larger, fewer statements per webhook.
      lingerMs: options.outcomeLingerMs ?? 5,
    });
  }

  start(): void {
    if (this.#loop === undefined) this.#loop = this.#run();
  }

  /** Wakes an idle dispatcher (events were queued, a NOTIFY arrived). */
  wake(): void {
    this.#wakeup.wake();
  }

  get inflight(): number {
    return this.#inflight.size;
  }

  /** True while new webhooks give way to this process's push backlog (ADR 0050). */
  get yielding(): boolean {
    return this.#yieldMs > 0 && this.#deps.pushBacklog?.() === true;
  }

  /**
   * The claim an outcome writer of this process may write for this dispatcher now: as many as it
   * has free slots, reserved until `take` or `cancel` (so the claim loop, or a second writer,
   * cannot fill the same slots meanwhile).
   */
  offer(now: Date): WebhookInsertClaim | undefined {
    if (this.#stopping || this.#loop === undefined) return undefined;
    if (this.yielding) {
      // Yielding to a push backlog (ADR 0050): claimed now, held here, sent after the backlog;
      // the lease covers the hold. Beyond holdMax they are written unclaimed (claimed later).
      const places = this.#holdMax - this.heldCount - this.#reservedHold;
      if (places <= 0) return undefined;
      this.#reservedHold += places;
      // By id alone: what sending needs is read when they go, not built by every outcome statement
      // of the backlog, nor kept here meanwhile.
      const offered = { workerId: this.workerId, leaseUntil: new Date(now.getTime() + this.#yieldMs + this.#leaseMs), limit: places, idsOnly: true };
      this.#holdOffers.add(offered);
      return offered;
    }
    const room = this.#room();
    if (room <= 0) return undefined;
    this.#reserved += room;
    return { workerId: this.workerId, leaseUntil: new Date(now.getTime() + this.#leaseMs), limit: room };
  }

  /** An offer whose write failed: its slots are free again. */
  cancel(offered: WebhookInsertClaim): void {
    if (this.#holdOffers.delete(offered)) this.#reservedHold = Math.max(0, this.#reservedHold - offered.limit);
    else this.#reserved = Math.max(0, this.#reserved - offered.limit);
  }

  /** Deliveries held while yielding, not sent yet. */
  get heldCount(): number {
    return this.#held.length - this.#heldHead;
  }

  /** Slots neither sending nor reserved by an offer. */
  #room(): number {
    return this.#concurrency - this.#inflight.size - this.#reserved;
  }

  /** Slots reserved by offers not yet settled (tests). */
  get reserved(): number {
    return this.#reserved;
  }

  /** Deliveries written already claimed for this dispatcher (committed): sent at once; the offer's other slots are freed. */
  take(claimed: readonly ClaimedWebhookDelivery[], offered: WebhookInsertClaim, claimedIds: readonly string[] = []): void {
    const hold = this.#holdOffers.delete(offered);
    if (hold) this.#reservedHold = Math.max(0, this.#reservedHold - offered.limit);
    else this.#reserved = Math.max(0, this.#reserved - offered.limit);
    const count = claimed.length + claimedIds.length;
    if (hold && !this.#stopping) {
      // Held (ADR 0050): sent by the loop once the backlog is gone or they waited yieldMs; on stop, within its grace.
      const at = performance.now();
      for (const d of claimed) this.#held.push({ d, at });
      for (const d of claimedIds) this.#held.push({ d, at });
      // The loop may be in a poll-interval wait begun before the backlog: from here on it looks
      // every YIELD_CHECK_MS, so the held ones go within that once the backlog is gone.
      if (count > 0) this.#wakeup.wake();
      return;
    }
    // No wake here: deliveries left unclaimed wake the loop through onQueued, right after this.
    if (this.#stopping) {
      // Offered before the stop began: left to their lease, sent again by whoever claims them (same webhook-id).
      this.#deps.logger.warn({ workerId: this.workerId, count }, 'webhook deliveries handed over during shutdown are left to their lease');
      return;
    }
    for (const d of claimed) this.#track(this.#send(d));
    this.#sendByIds(claimedIds);
  }

  /**
   * No new claims; requests in flight get `graceMs` to finish (each is bounded by the timeout
   * anyway), then the outcomes are written. One still running after the grace period is left to
   * its lease: another worker sends it again, same webhook-id.
   */
  async stop(graceMs: number = this.#timeoutMs): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#wakeup.wake();
    await this.#loop;
    // Held deliveries are committed claims of this dispatcher: sent now, within the grace (the
    // HTTP client queues them beyond its sockets); any not finished are left to their lease.
    this.#releaseHeld(Infinity, true);
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, graceMs))));
    await Promise.race([Promise.allSettled([...this.#inflight]), grace]);
    clearTimeout(timer);
    if (this.#inflight.size > 0) this.#deps.logger.warn({ workerId: this.workerId, inflight: this.#inflight.size }, 'webhook requests still running at shutdown are left to their lease');
    await this.flush();
    this.#secrets.clear();
  }

  /** One claim-send-record round, awaited to the end (tests that drive the clock). Returns how many were claimed. */
  async runOnce(): Promise<number> {
    const claimed = await this.#claim(this.#concurrency);
    await Promise.all(claimed.map((d) => this.#send(d)));
    await this.flush();
    return claimed.length;
  }

  flush(): Promise<void> {
    return this.#outcomes.flush();
  }

  async #run(): Promise<void> {
    let lastFull = false;
    while (!this.#stopping) {
      // Held deliveries first: they are the oldest (ADR 0050).
      const yielding = this.yielding;
      if (this.heldCount > 0) this.#releaseHeld(this.#room(), !yielding);
      const room = this.#room();
      // Under load (the last claim came back full), wait for a quarter of the slots before
      // claiming again: fewer, larger claims, as the push worker does.
      const minRoom = lastFull ? Math.max(1, Math.floor(this.#concurrency / 4)) : 1;
      if (room < minRoom) {
        await this.#wakeup.wait(this.#pollIntervalMs);
        continue;
      }
      // Yielding to a push backlog (ADR 0050): wakes (every outcome batch queues events) do not
      // start a claim; the loop looks every YIELD_CHECK_MS for deliveries due `yieldMs` ago, and
      // claims everything due again as soon as the backlog is gone.
      if (yielding || this.heldCount > 0) {
        const t = performance.now();
        if (t < this.#nextYieldedClaim) {
          await this.#wakeup.wait(Math.min(this.#pollIntervalMs, this.#nextYieldedClaim - t));
          continue;
        }
        this.#nextYieldedClaim = t + YIELD_CHECK_MS;
      }
      let claimed: ClaimedWebhookDelivery[] = [];
      try {
        claimed = await this.#claim(room, yielding ? this.#yieldMs : 0);
      } catch (err) {
        this.#deps.logger.error({ err, workerId: this.workerId }, 'claiming webhook deliveries failed; retrying after the poll interval');
      }
      lastFull = claimed.length === room;
      for (const d of claimed) this.#track(this.#send(d));
      if (claimed.length < room) await this.#wakeup.wait(yielding ? Math.min(this.#pollIntervalMs, YIELD_CHECK_MS) : this.#pollIntervalMs);
    }
  }

  /** Starts up to `room` held deliveries, oldest first: all of them, or (`all` false) those held yieldMs already. */
  #releaseHeld(room: number, all: boolean): void {
    const ripe = performance.now() - this.#yieldMs;
    let started = 0;
    const byId: string[] = [];
    while (started < room && this.#heldHead < this.#held.length) {
      const h = this.#held[this.#heldHead]!;
      if (!all && h.at > ripe) break;
      this.#heldHead++;
      started++;
      if (typeof h.d === 'string') byId.push(h.d);
      else this.#track(this.#send(h.d));
    }
    this.#sendByIds(byId);
    if (this.#heldHead === this.#held.length) {
      this.#held.length = 0;
      this.#heldHead = 0;
    } else if (this.#heldHead > 1024 && this.#heldHead * 2 > this.#held.length) {
      this.#held.splice(0, this.#heldHead);
      this.#heldHead = 0;
    }
  }

  #track(task: Promise<void>): void {
    this.#inflight.add(task);
    void task.finally(() => {
      this.#inflight.delete(task);
      // A slot is free: the loop may be waiting for room.
      if (this.#inflight.size === this.#concurrency - Math.max(1, Math.floor(this.#concurrency / 4))) this.wake();
    });
  }

  /**
   * Sends deliveries this dispatcher holds claimed by id: one read for the lot, then each is sent
   * in the order given (each takes its slot from now on). One no longer held under this worker's
   * lease (or whose endpoint was disabled meanwhile) is not sent; if the read fails, all are left
   * to their lease and sent again by whoever claims them next (same webhook-id).
   */
  #sendByIds(ids: readonly string[]): void {
    if (ids.length === 0) return;
    const loaded = this.#deps.store.loadClaimed(this.workerId, ids).then(
      (list) => new Map(list.map((d) => [d.id, d])),
      (err: unknown) => {
        this.#deps.logger.error({ err, workerId: this.workerId, count: ids.length }, 'reading held webhook deliveries failed; they are left to their lease');
        return new Map<string, ClaimedWebhookDelivery>();
      },
    );
    for (const id of ids) {
      this.#track(
        loaded.then((byId) => {
          const d = byId.get(id);
          return d === undefined ? undefined : this.#send(d);
        }),
      );
    }
  }

  /** Requeues expired leases (now and then), then claims deliveries due `heldMs` ago or earlier. */
  async #claim(limit: number, heldMs = 0): Promise<ClaimedWebhookDelivery[]> {
    const now = this.#deps.clock.now();
    if (now.getTime() - this.#lastLeaseCheck >= this.#leaseCheckIntervalMs) {
      this.#lastLeaseCheck = now.getTime();
      const n = await this.#deps.store.requeueExpiredLeases(now, 1000);
      if (n > 0) this.#deps.logger.warn({ workerId: this.workerId, count: n }, 'requeued webhook deliveries whose worker lease expired');
    }
    return this.#deps.store.claimDue(this.workerId, now, new Date(now.getTime() + this.#leaseMs), limit, heldMs > 0 ? new Date(now.getTime() - heldMs) : now);
  }

  /** Sends one claimed delivery and queues its outcome. Never throws. */
  async #send(d: ClaimedWebhookDelivery): Promise<void> {
    const { clock, http, logger } = this.#deps;
    const about = { deliveryId: d.id, eventId: d.eventId, endpointId: d.endpointId, orgId: d.orgId, type: d.type, attempt: d.attempts };
    let result: SendResult;
    const started = performance.now();
    try {
      const now = clock.now();
      const secrets = this.#secretsOf(d);
      const signing = [secrets.current];
      if (secrets.previous !== undefined && d.endpoint.previousSecretExpiresAt !== null && d.endpoint.previousSecretExpiresAt > now) signing.push(secrets.previous);
      const body = eventBody(d);
      result = await http.send(d.endpoint.url, webhookHeaders(signing, d.eventId, Math.floor(now.getTime() / 1000), body), body, this.#timeoutMs);
    } catch (err) {
      // The secret does not decrypt (a key not loaded) or a bug of ours: logged by ids, retried.
      logger.error({ ...about, err: { name: (err as Error).name, code: (err as { code?: unknown }).code } }, 'preparing a webhook failed');
      result = { kind: 'network', message: 'The webhook could not be prepared (see the server log); it is retried.' };
    }
    const outcome = this.#outcome(d, result);
    if (outcome.status === 'DELIVERED') {
      this.#deps.hooks?.delivered?.(d.type, (performance.now() - started) / 1000, Math.max(0, outcome.at.getTime() - d.eventCreatedAt.getTime()) / 1000);
      logger.debug(about, 'webhook delivered');
    } else {
      this.#deps.hooks?.failed?.(d.type, outcome.status === 'FAILED');
      logger.info({ ...about, status: outcome.status, statusCode: outcome.statusCode, error: outcome.error }, outcome.status === 'FAILED' ? 'webhook failed; not retried' : 'webhook failed; will retry');
    }
    this.#outcomes.add(outcome);
  }

  #secretsOf(d: ClaimedWebhookDelivery): WebhookSecrets {
    const cached = this.#secrets.get(d.endpointId);
    if (cached !== undefined && cached.blob.equals(d.endpoint.secretEncrypted)) return cached.secrets;
    const secrets = decryptSecrets(this.#deps.cipher, d.orgId, d.endpointId, d.endpoint.secretEncrypted, d.endpoint.secretKeyId);
    if (this.#secrets.size >= 10_000) this.#secrets.clear();
    this.#secrets.set(d.endpointId, { blob: Buffer.from(d.endpoint.secretEncrypted), secrets });
    return secrets;
  }

  #outcome(d: ClaimedWebhookDelivery, r: SendResult): WebhookAttemptOutcome {
    const at = this.#deps.clock.now();
    const base = { id: d.id, endpointId: d.endpointId, attempts: d.attempts, at };
    if (r.kind === 'response' && r.status >= 200 && r.status < 300) {
      return { ...base, status: 'DELIVERED', nextAttemptAt: null, statusCode: r.status, error: null };
    }
    let retryable: boolean;
    let error: string;
    let statusCode: number | null = null;
    let retryAfter: number | undefined;
    if (r.kind === 'response') {
      statusCode = r.status;
      retryable = r.status === 408 || r.status === 429 || r.status >= 500;
      error = r.status >= 300 && r.status < 400 ? `HTTP ${r.status}: redirects are not followed; point the endpoint at the final URL.` : `HTTP ${r.status}`;
      retryAfter = retryable ? r.retryAfterMs : undefined;
    } else {
      retryable = true;
      error = r.message;
    }
    const delay = retryable ? this.#deps.schedule.delayAfter(d.attempts, retryAfter) : undefined;
    if (delay === undefined) {
      return { ...base, status: 'FAILED', nextAttemptAt: null, statusCode, error: retryable ? `${error} (gave up after ${d.attempts} attempts)` : error };
    }
    return { ...base, status: 'PENDING', nextAttemptAt: new Date(at.getTime() + delay), statusCode, error };
  }

  async #write(outcomes: WebhookAttemptOutcome[]): Promise<void> {
    const at = this.#deps.clock.now();
    const succeeded = new Set<string>();
    const failed = new Set<string>();
    for (const o of outcomes) (o.status === 'DELIVERED' ? succeeded : failed).add(o.endpointId);
    for (const id of succeeded) failed.delete(id);
    const days = Math.round((this.#disableAfterMs / 86_400_000) * 10) / 10;
    const reason = `Disabled by erpc: every delivery failed for ${days} day(s) (ERPC_WEBHOOK_DISABLE_AFTER). Fix the receiver, then enable the endpoint again (PATCH enabled: true); pending deliveries resume.`;
    const { written, disabled, successorsWaiting } = await this.#deps.store.recordAttempts(this.workerId, outcomes, {
      succeeded: [...succeeded], failed: [...failed], disableBefore: new Date(at.getTime() - this.#disableAfterMs), reason,
    });
    // A delivery that ended may free the next event of its push to the same endpoint: claim again at once.
    if (successorsWaiting) this.wake();
    if (written.length < outcomes.length) {
      this.#deps.logger.warn({ workerId: this.workerId, lost: outcomes.length - written.length }, 'webhook outcomes not recorded: the lease was lost to another worker');
    }
    for (const e of disabled) {
      this.#deps.hooks?.endpointDisabled?.();
      this.#deps.logger.warn({ endpointId: e.id, orgId: e.orgId }, 'webhook endpoint disabled: its deliveries kept failing');
    }
  }
}

/**
 * The body of an event: `{type, timestamp, data}`; for push events `data` is the push as
 * `GET /v1/pushes/:id` shows it at the time of the event (payload included). The same event
 * gives the same bytes on every attempt.
 */
export function eventBody(d: Pick<ClaimedWebhookDelivery, 'type' | 'eventCreatedAt' | 'pushId' | 'data' | 'payloadText' | 'payloadJson'>): string {
  const envelope = (data: unknown) => JSON.stringify({ type: d.type, timestamp: d.eventCreatedAt.toISOString(), data });
  if (d.pushId === null) return envelope(d.data);
  // A push accepted before its exact text was kept (migration 0004): its jsonb, through the view.
  if (d.payloadText === null) return envelope(toPushView(pushRowOf({ ...d.data, payload_text: null, payload: d.payloadJson }), true));
  // The stored text IS the payload's JSON as the view prints it (ADR 0027): spliced in as it is,
  // in the place the view puts it (its last field, and data is the body's last), instead of being
  // parsed and printed again (ADR 0043). The same bytes as before, on every attempt.
  const head = envelope(toPushView(pushRowOf({ ...d.data, payload_text: null, payload: null }), false));
  return `${head.slice(0, -2)},"payload":${d.payloadText}}}`;
}
