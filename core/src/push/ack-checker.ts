import type { Logger } from 'pino';
import type { Clock, PushReceipt } from '@erpc/sdk';
import type { ConnectorCaller } from '../plugins/connector-call.js';
import type { AckOutcome, BoundConnection, PushConnections, PushEvents, PushStore } from './ports.js';
import { PUSH_REASON, type PushRow } from './push-types.js';
import { Wakeup } from './wakeup.js';
import type { PushWorkerHooks } from './worker.js';

/** What an {@link AckChecker} needs from its worker. Durations in milliseconds. */
export interface AckCheckerDeps {
  readonly pushes: PushStore;
  readonly connections: PushConnections;
  readonly caller: ConnectorCaller;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly hooks: PushWorkerHooks | undefined;
  readonly workerId: string;
  /** How long a check's claim is held. */
  readonly leaseMs: number;
  /** Most pushes checked per round. */
  readonly batchSize: number;
  /** Time between checks of one push, and between rounds that found nothing to do. */
  readonly intervalMs: number;
  /** Deadline of one checkDelivery() call. */
  readonly timeoutMs: number;
  /** The worker's shutdown signal: aborts checks still running at the end of the grace period. */
  readonly shutdown: AbortSignal;
  /** Webhook events: written in the outcomes' transaction (ADR 0035). */
  readonly events?: PushEvents | undefined;
}

/** The webhook event of each acknowledgement outcome (a check still pending is none). */
const ACK_EVENT_OF = { acknowledged: 'push.acknowledged', rejected: 'push.rejected', dead: 'push.dead' } as const;

/**
 * Asks connectors whether the ERP acknowledged or rejected what they delivered. Delivered pushes
 * with a check due are claimed with a lease like deliveries (so two workers never check the same
 * push at once), checked, and their outcomes written in one statement; a push not acknowledged by
 * its deadline becomes DEAD, ACK_TIMEOUT. Everything the connector says ends up in the push
 * record (API-visible), so it arrives scrubbed through the connector call.
 */
export class AckChecker {
  readonly #deps: AckCheckerDeps;
  readonly #wakeup = new Wakeup();
  #stopping = false;

  constructor(deps: AckCheckerDeps) {
    this.#deps = deps;
  }

  /** Checks round after round until {@link stop}: at once while rounds come back full, else every `intervalMs`. */
  async run(): Promise<void> {
    const { batchSize, intervalMs, logger, workerId } = this.#deps;
    while (!this.#stopping) {
      try {
        while (!this.#stopping && (await this.checkOnce()) === batchSize) {
          // A full batch: more are probably due.
        }
      } catch (err) {
        logger.error({ err, workerId }, 'checking acknowledgements failed; retrying later');
      }
      if (this.#stopping) break;
      await this.#wakeup.wait(intervalMs);
    }
  }

  /** Ends {@link run} after the round in progress. */
  stop(): void {
    this.#stopping = true;
    this.#wakeup.wake();
  }

  /** One round, awaited to the end. Returns how many pushes were checked. */
  async checkOnce(): Promise<number> {
    const { pushes, clock, workerId, leaseMs, batchSize } = this.#deps;
    const now = clock.now();
    const rows = await pushes.claimAckChecks(workerId, now, new Date(now.getTime() + leaseMs), batchSize);
    if (rows.length === 0) return 0;
    const connections = await this.#deps.connections.boundByIds(rows.map((r) => r.connectionId));
    const outcomes = await Promise.all(rows.map((row) => this.#check(row, connections.get(row.connectionId))));
    const events = this.#deps.events;
    if (events === undefined) {
      await pushes.recordAckOutcomes(workerId, outcomes);
      return rows.length;
    }
    const queued: [string, number][] = [];
    await events.storage.transaction(async (tx) => {
      queued.length = 0;
      const written = new Set(await tx.pushes.recordAckOutcomes(workerId, outcomes));
      for (const kind of ['acknowledged', 'rejected', 'dead'] as const) {
        const ids = outcomes.filter((o) => o.kind === kind && written.has(o.id)).map((o) => o.id);
        const deliveries = await tx.webhooks.insertPushEvents(ACK_EVENT_OF[kind], ids, now);
        if (deliveries > 0) queued.push([ACK_EVENT_OF[kind], deliveries]);
      }
    });
    for (const [type, deliveries] of queued) events.onQueued(type, deliveries);
    return rows.length;
  }

  async #check(row: PushRow, connection: BoundConnection | undefined): Promise<AckOutcome> {
    const { clock, hooks, intervalMs } = this.#deps;
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
    const result = await this.#deps.caller.call({ operation: 'checkDelivery', connection, receipt, timeoutMs: this.#deps.timeoutMs, signal: this.#deps.shutdown });
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
      case 'sandbox-crashed':
        return later(PUSH_REASON.PLUGIN_CRASHED, result.reason);
      case 'sandbox-unavailable':
        return later(PUSH_REASON.PLUGIN_CRASHED, `the plugin's sandbox is restarted in ${result.retryAfterMs} ms`);
    }
  }
}
