import type { Logger } from 'pino';
import { GroupCommit } from '../group-commit.js';
import type { ClaimedWebhookDelivery } from '../webhooks/ports.js';
import type { DeadOutcome, DeliveredOutcome, PushEvents, PushStore, ReleaseOutcome, RetryOutcome } from './ports.js';
import type { PushRow } from './push-types.js';

/** How one claimed push ended in this worker, waiting to be written. */
export type Outcome =
  | { kind: 'delivered'; value: DeliveredOutcome }
  | { kind: 'retry'; value: RetryOutcome }
  | { kind: 'dead'; value: DeadOutcome }
  | { kind: 'release'; value: ReleaseOutcome };

/** What the writer needs from its worker. */
export interface OutcomeWriterDeps {
  readonly pushes: PushStore;
  readonly workerId: string;
  readonly logger: Logger;
  /** The worker's shutdown signal: once it aborted, a failing write is not retried forever in the background. */
  readonly shutdown: AbortSignal;
  /** Webhook events: written in the outcomes' transaction (ADR 0035). */
  readonly events?: PushEvents | undefined;
}

/** The webhook event of each outcome kind (a release is not an outcome). */
const EVENT_OF = { delivered: 'push.delivered', retry: 'push.retrying', dead: 'push.dead' } as const;

/**
 * Writes the outcomes of one worker's deliveries by group commit: outcomes that arrive while a
 * write runs are written together by the next one, each kind as one fenced UPDATE (ADR 0015).
 * An outcome is written only if the row is still PROCESSING, held by this worker, at the
 * attempt it was claimed with (the repository's fencing predicate).
 */
export class OutcomeWriter {
  readonly #deps: OutcomeWriterDeps;
  readonly #queue: GroupCommit<Outcome>;

  constructor(deps: OutcomeWriterDeps) {
    this.#deps = deps;
    this.#queue = new GroupCommit<Outcome>({
      write: (batch) => this.#write(batch),
      // Kept and tried again shortly; if this process dies, the leases expire and the pushes are
      // delivered again (idempotently).
      failed: (err, count) => deps.logger.error({ err, workerId: deps.workerId, count }, 'recording push outcomes failed; retrying'),
      stopRetrying: () => deps.shutdown.aborted,
    });
  }

  /** Queues the outcome of a delivery (dead letters and retries are logged) and schedules a write. */
  record(row: PushRow, outcome: Outcome): void {
    // Each line names the push and the request that accepted it; a dead letter needs an operator (warn).
    const about = { pushId: row.id, requestId: row.requestId ?? undefined, orgId: row.orgId, connectorType: row.connectorType, attempts: row.attempts, outcome: outcome.kind };
    if (outcome.kind === 'dead') this.#deps.logger.warn({ ...about, code: outcome.value.code }, 'push is a dead letter');
    else if (outcome.kind === 'retry') this.#deps.logger.info({ ...about, code: outcome.value.code }, 'push failed; will retry');
    else if (outcome.kind === 'delivered') this.#deps.logger.debug(about, 'push delivered');
    this.#queue.add(outcome);
  }

  /** Hands unstarted pushes back: PENDING, the attempt not counted, due when they were due before (so they keep their place). */
  release(rows: readonly PushRow[], at: Date): void {
    if (rows.length === 0) return;
    this.#queue.add(...rows.map((row): Outcome => ({ kind: 'release', value: { id: row.id, attempts: row.attempts, at, dueAt: row.nextAttemptAt } })));
  }

  /** Resolves once every outcome queued so far (and any queued meanwhile) is written. */
  flush(): Promise<void> {
    return this.#queue.flush();
  }

  async #write(batch: Outcome[]): Promise<void> {
    const { pushes, workerId } = this.#deps;
    const of = <K extends Outcome['kind']>(kind: K) =>
      batch.filter((o): o is Extract<Outcome, { kind: K }> => o.kind === kind).map((o) => o.value as Extract<Outcome, { kind: K }>['value']);
    const delivered = of('delivered');
    const retry = of('retry');
    const dead = of('dead');
    const release = of('release');
    if (this.#deps.events !== undefined) return this.#writeWithEvents(batch, { delivered, retry, dead, release });
    const writes: ((store: PushStore) => Promise<string[]>)[] = [];
    if (delivered.length > 0) writes.push((store) => store.markDelivered(workerId, delivered));
    if (retry.length > 0) writes.push((store) => store.markRetry(workerId, retry));
    if (dead.length > 0) writes.push((store) => store.markDead(workerId, dead));
    if (release.length > 0) writes.push((store) => store.release(workerId, release));
    // One kind (the usual case) is one UPDATE, atomic without BEGIN/COMMIT round trips.
    const written =
      writes.length === 1
        ? (await writes[0]!(pushes)).length
        : await pushes.transaction(async (tx) => {
            let n = 0;
            for (const write of writes) n += (await write(tx)).length;
            return n;
          });
    if (written < batch.length) {
      // The lease expired and someone else holds the push now: their outcome wins (fencing).
      this.#deps.logger.warn({ workerId, lost: batch.length - written }, 'outcomes not recorded: the lease was lost to another worker');
    }
  }

  /** The outcomes and, in the same transaction, the webhook event of each one written (fenced ids only). */
  async #writeWithEvents(
    batch: Outcome[],
    o: { delivered: DeliveredOutcome[]; retry: RetryOutcome[]; dead: DeadOutcome[]; release: ReleaseOutcome[] },
  ): Promise<void> {
    const { workerId } = this.#deps;
    const events = this.#deps.events!;
    const at = batch.length > 0 ? latest(batch) : new Date();
    // This process's dispatcher, if it has room, gets the new deliveries claimed in this very
    // transaction and sends them after the commit, with no claim round trip (ADR 0042).
    const offer = events.handoff?.offer(at);
    const queued: [string, number, number][] = [];
    const claimed: ClaimedWebhookDelivery[] = [];
    const claimedIds: string[] = [];
    const kinds = (['delivered', 'retry', 'dead'] as const).filter((k) => o[k].length > 0);
    let written: number;
    try {
      if (kinds.length === 1 && o.release.length === 0) {
        // The usual batch, one kind: the outcome and its events in one statement, no transaction (ADR 0043).
        const kind = kinds[0]!;
        const r = await events.storage.pushes.markWithEvents(kind, workerId, o[kind] as never, { type: EVENT_OF[kind], at, claim: offer });
        written = r.written.length;
        claimed.push(...r.claimed);
        claimedIds.push(...r.claimedIds);
        if (r.queued > 0) queued.push([EVENT_OF[kind], r.queued, r.queued - r.claimed.length - r.claimedIds.length]);
      } else {
        written = await events.storage.transaction(async (tx) => {
          queued.length = 0;
          claimed.length = 0;
          claimedIds.length = 0;
          let n = 0;
          const writes: Record<(typeof kinds)[number], () => Promise<string[]>> = {
            delivered: () => tx.pushes.markDelivered(workerId, o.delivered),
            retry: () => tx.pushes.markRetry(workerId, o.retry),
            dead: () => tx.pushes.markDead(workerId, o.dead),
          };
          for (const kind of kinds) {
            const ids = await writes[kind]();
            n += ids.length;
            const claim = offer === undefined ? undefined : { ...offer, limit: offer.limit - claimed.length - claimedIds.length };
            const r = await tx.webhooks.insertPushEventsClaiming(EVENT_OF[kind], ids, at, claim);
            claimed.push(...r.claimed);
            claimedIds.push(...r.claimedIds);
            if (r.queued > 0) queued.push([EVENT_OF[kind], r.queued, r.queued - r.claimed.length - r.claimedIds.length]);
          }
          if (o.release.length > 0) n += (await tx.pushes.release(workerId, o.release)).length;
          return n;
        });
      }
    } catch (err) {
      // Rolled back: nothing was written claimed; the offer's slots are free again (the retry offers anew).
      if (offer !== undefined) events.handoff!.cancel(offer);
      throw err;
    }
    if (offer !== undefined) events.handoff!.take(claimed, offer, claimedIds);
    for (const [type, deliveries, unclaimed] of queued) events.onQueued(type, deliveries, unclaimed);
    if (written < batch.length) {
      this.#deps.logger.warn({ workerId, lost: batch.length - written }, 'outcomes not recorded: the lease was lost to another worker');
    }
  }
}

/** The time of the latest outcome in a batch: the events' timestamp. */
function latest(batch: readonly Outcome[]): Date {
  let t = batch[0]!.value.at;
  for (const o of batch) if (o.value.at > t) t = o.value.at;
  return t;
}
