import type { Clock, PushDocument } from '@erpc/sdk';
import { truncateMessage, type ConnectorCaller } from '../plugins/connector-call.js';
import type { Outcome } from './outcome-writer.js';
import type { BoundConnection } from './ports.js';
import { PUSH_REASON, type PushRow } from './push-types.js';
import type { RetryPolicy } from './retry-policy.js';
import type { PushWorkerHooks } from './worker.js';

/** What a {@link PushDelivery} needs. Durations in milliseconds. */
export interface PushDeliveryDeps {
  readonly caller: ConnectorCaller;
  readonly clock: Clock;
  readonly retry: RetryPolicy;
  readonly hooks: PushWorkerHooks | undefined;
  readonly pushTimeoutMs: number;
  readonly ackTimeoutMs: number;
  readonly ackCheckIntervalMs: number;
  /** The worker's shutdown signal: a delivery it aborts is released, not charged an attempt. */
  readonly shutdown: AbortSignal;
}

/**
 * Delivers one claimed push through the connection it was accepted for (never another one) and
 * decides its outcome: delivered, retry (with backoff, within maxAttempts, or within the retry
 * horizon for failures an operator fixes), dead, or released.
 */
export class PushDelivery {
  readonly #deps: PushDeliveryDeps;

  constructor(deps: PushDeliveryDeps) {
    this.#deps = deps;
  }

  async attempt(row: PushRow, connection: BoundConnection | undefined, alone = false): Promise<Outcome> {
    if (connection === undefined) {
      return this.dead(row, PUSH_REASON.CONNECTION_MISSING, `Connection ${row.connectionId} no longer exists; the push was not delivered to any other connection.`);
    }
    if (connection.status !== 'ACTIVE') {
      return this.dead(
        row,
        PUSH_REASON.CONNECTION_DISABLED,
        `Connection ${row.connectionId} was disabled after this push was accepted, so it was not delivered (and never to another connection). Activate the connection again and retry the push, or push the document again to the current connection.`,
      );
    }
    const { caller, pushTimeoutMs, shutdown } = this.#deps;
    const result = await caller.call({ operation: 'push', connection, document: toDocument(row), timeoutMs: pushTimeoutMs, signal: shutdown, ...(alone ? { alone } : {}) });
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
            ackDeadline: acks ? new Date(at.getTime() + this.#deps.ackTimeoutMs) : null,
            nextAckCheckAt: acks ? new Date(at.getTime() + this.#deps.ackCheckIntervalMs) : null,
          },
        };
      }
      case 'aborted':
        return { kind: 'release', value: { id: row.id, attempts: row.attempts, at: this.#deps.clock.now() } };
      case 'timeout':
        return this.failure(row, PUSH_REASON.PUSH_TIMEOUT, `push() did not finish within ${pushTimeoutMs} ms and was aborted.`, true);
      case 'connector-error':
        if (result.operatorFixable) return this.operatorFixable(row, result.code, result.message);
        return this.failure(row, result.code, result.message, result.retryable);
      case 'crashed':
        // Not a ConnectorError: retried like a transient failure (see ADR "unknown throws"),
        // bounded by maxAttempts so a plugin bug still ends as a visible dead letter.
        return this.failure(row, PUSH_REASON.CONNECTOR_CRASHED, `The connector threw ${result.errorName}: ${result.message}`, true);
      case 'invalid':
        return this.dead(row, PUSH_REASON.CONNECTOR_CRASHED, result.message);
      case 'config-error':
        // The caller has logged the ids and reason code; the push says only this.
        return this.dead(row, PUSH_REASON.CONFIG_DECRYPT_FAILED, 'Configuration error');
      case 'unavailable':
        return this.failure(row, PUSH_REASON.CONNECTOR_UNAVAILABLE, `No plugin for connector type ${connection.connectorType} is loaded in this worker.`, true);
      case 'sandbox-crashed': {
        if (!result.alone) {
          // Its sandbox ended while other pushes were in it too: which one caused it is unknown.
          // Not charged: it runs again at once, alone in a fresh sandbox (one at a time per plugin).
          return this.attempt(row, connection, true);
        }
        // Alone, it ended its sandbox: it is the cause. Once more after a backoff; the second time a dead letter.
        const message = `The push ended its plugin's sandbox process: ${result.reason}${result.exitCode !== null ? ` (exit code ${result.exitCode})` : ''}${result.signal !== null ? ` (signal ${result.signal})` : ''}.`;
        if (row.lastErrorCode === PUSH_REASON.PLUGIN_CRASHED) return this.dead(row, PUSH_REASON.PLUGIN_CRASHED, `${message} It did so twice.`);
        return this.failure(row, PUSH_REASON.PLUGIN_CRASHED, message, true);
      }
      case 'sandbox-unavailable':
        // The plugin crashes repeatedly and waits its restart backoff: the push waits too, not charged.
        return { kind: 'release', value: { id: row.id, attempts: row.attempts, at: this.#deps.clock.now(), dueAt: new Date(this.#deps.clock.now().getTime() + result.retryAfterMs) } };
    }
  }

  /** A retry with backoff, or a dead letter when `retryable` is false or the attempts are used up. */
  failure(row: PushRow, code: string, message: string, retryable: boolean): Outcome {
    if (!retryable) return this.dead(row, code, message);
    const { retry, clock } = this.#deps;
    if (!retry.canRetry(row.attempts)) {
      return this.dead(row, code, `${message} (gave up after ${row.attempts} attempts)`);
    }
    const at = clock.now();
    this.#deps.hooks?.retried?.(row.connectorType, code);
    return {
      kind: 'retry',
      value: { id: row.id, attempts: row.attempts, code, message: truncateMessage(message), at, nextAttemptAt: new Date(at.getTime() + retry.delayMs(row.attempts)) },
    };
  }

  /**
   * A failure an operator fixes (folder missing, disk full, host unreachable): retried with
   * backoff until the retry horizon, counted from acceptance or the last manual retry, has passed,
   * whatever the attempt count (ADR 0028).
   */
  operatorFixable(row: PushRow, code: string, message: string): Outcome {
    const { retry, clock } = this.#deps;
    const at = clock.now();
    const delay = retry.delayMs(row.attempts);
    const since = row.retriedAt ?? row.createdAt;
    if (!retry.withinHorizon(since, at, delay)) {
      const hours = Math.round((retry.options.horizonMs / 3_600_000) * 10) / 10;
      return this.dead(row, code, `${message} (gave up after ${row.attempts} attempts over the retry horizon of ${hours} h)`);
    }
    this.#deps.hooks?.retried?.(row.connectorType, code);
    return {
      kind: 'retry',
      value: { id: row.id, attempts: row.attempts, code, message: truncateMessage(message), at, nextAttemptAt: new Date(at.getTime() + delay) },
    };
  }

  dead(row: PushRow, code: string, message: string): Outcome {
    this.#deps.hooks?.dead?.(row.connectorType, code);
    return { kind: 'dead', value: { id: row.id, attempts: row.attempts, code, message: truncateMessage(message), at: this.#deps.clock.now() } };
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
