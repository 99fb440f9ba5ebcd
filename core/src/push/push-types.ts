import type { FromSchema } from 'json-schema-to-ts';
import type { PushRow } from '../storage/repositories/push-repository.js';

export type { PushRow };
/** The states of a push. See docs/adr (push lifecycle) and the issue D model. */
export const PUSH_STATUSES = ['PENDING', 'PROCESSING', 'DELIVERED', 'ACKNOWLEDGED', 'REJECTED', 'DEAD'] as const;
export type PushStatus = (typeof PUSH_STATUSES)[number];

/** What the API and the library return for a push (no lease internals). */
const nullableDate = { type: ['string', 'null'], format: 'date-time' } as const;
const nullableObject = { type: ['object', 'null'], additionalProperties: true } as const;

/** A push as the API shows it. Listed fields only: lease internals never leave the host. */
export const pushViewSchema = {
  type: 'object',
  additionalProperties: false,
  required: [
    'id', 'status', 'connectionId', 'connectorType', 'documentType', 'documentId', 'idempotencyKey', 'payloadSha256', 'attempts',
    'nextAttemptAt', 'lastError', 'lastFailure', 'externalRef', 'receiptDetails', 'ackDetails', 'ackDeadline', 'createdAt', 'updatedAt',
    'lastAttemptAt', 'deliveredAt', 'acknowledgedAt', 'rejectedAt', 'deadAt', 'manualRetries', 'retriedAt',
  ],
  properties: {
    id: { type: 'string', format: 'uuid' },
    status: { type: 'string', enum: [...PUSH_STATUSES] },
    connectionId: { type: 'string', format: 'uuid', description: 'The connection the push was accepted for; it is never delivered elsewhere.' },
    connectorType: { type: 'string' },
    documentType: { type: 'string' },
    documentId: { type: 'string' },
    idempotencyKey: { type: 'string' },
    payloadSha256: { type: 'string', description: 'SHA-256 (hex) of the payload\'s canonical JSON (keys sorted).' },
    attempts: { type: 'integer' },
    nextAttemptAt: { ...nullableDate, description: 'When a PENDING push is due.' },
    lastError: {
      type: ['object', 'null'],
      additionalProperties: false,
      required: ['code', 'message'],
      description: 'The error of the current state (a retry pending, a dead letter); null once delivered.',
      properties: { code: { type: 'string' }, message: { type: 'string' } },
    },
    lastFailure: {
      type: ['object', 'null'],
      additionalProperties: false,
      required: ['code', 'message', 'at'],
      description: 'The most recent failed attempt. Unlike lastError (cleared when the push is delivered), it stays: the record of why earlier attempts failed.',
      properties: { code: { type: 'string' }, message: { type: 'string' }, at: { type: ['string', 'null'], format: 'date-time' } },
    },
    externalRef: { type: ['string', 'null'], description: 'The ERP-side reference the connector returned.' },
    receiptDetails: nullableObject,
    ackDetails: nullableObject,
    ackDeadline: nullableDate,
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
    lastAttemptAt: nullableDate,
    deliveredAt: nullableDate,
    acknowledgedAt: nullableDate,
    rejectedAt: nullableDate,
    deadAt: nullableDate,
    manualRetries: { type: 'integer' },
    retriedAt: nullableDate,
    payload: { type: 'object', additionalProperties: true, description: 'Only in GET /v1/pushes/:id.' },
  },
} as const;

/** A push as the API shows it: derived from {@link pushViewSchema}, so the shape exists once. */
export type PushView = FromSchema<typeof pushViewSchema>;

const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString());

/** The public view of a row; `withPayload` for single-push reads. */
export function toPushView(row: PushRow, withPayload = false): PushView {
  return {
    id: row.id,
    status: row.status,
    connectionId: row.connectionId,
    connectorType: row.connectorType,
    documentType: row.documentType,
    documentId: row.documentId,
    idempotencyKey: row.idempotencyKey,
    payloadSha256: row.payloadSha256,
    attempts: row.attempts,
    nextAttemptAt: row.status === 'PENDING' ? iso(row.nextAttemptAt) : null,
    lastError: row.lastErrorCode === null ? null : { code: row.lastErrorCode, message: row.lastErrorMessage ?? '' },
    lastFailure: row.lastFailureCode === null ? null : { code: row.lastFailureCode, message: row.lastFailureMessage ?? '', at: iso(row.lastFailureAt) },
    externalRef: row.externalRef,
    receiptDetails: row.receiptDetails,
    ackDetails: row.ackDetails,
    ackDeadline: iso(row.ackDeadline),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    lastAttemptAt: iso(row.lastAttemptAt),
    deliveredAt: iso(row.deliveredAt),
    acknowledgedAt: iso(row.acknowledgedAt),
    rejectedAt: iso(row.rejectedAt),
    deadAt: iso(row.deadAt),
    manualRetries: row.manualRetries,
    retriedAt: iso(row.retriedAt),
    ...(withPayload ? { payload: row.payload as Record<string, unknown> } : {}),
  };
}

/** Dead-letter and retry reasons the host itself records in `last_error_code` (connector codes are kept as they are). */
export const PUSH_REASON = {
  /** The connection the push is bound to was disabled before delivery. */
  CONNECTION_DISABLED: 'CONNECTION_DISABLED',
  /** The connection row no longer exists. */
  CONNECTION_MISSING: 'CONNECTION_MISSING',
  /** The connection's stored config does not decrypt. */
  CONFIG_DECRYPT_FAILED: 'CONFIG_DECRYPT_FAILED',
  /** No loaded plugin provides the push's connector type (retryable: another deployment may). */
  CONNECTOR_UNAVAILABLE: 'CONNECTOR_UNAVAILABLE',
  /** push() did not finish within the timeout. */
  PUSH_TIMEOUT: 'PUSH_TIMEOUT',
  /** push() threw something that is not a ConnectorError. */
  CONNECTOR_CRASHED: 'CONNECTOR_CRASHED',
  /** A worker died (lease expired) during the last allowed attempt. */
  WORKER_LOST: 'WORKER_LOST',
  /** The ERP did not acknowledge a delivered document before the deadline. */
  ACK_TIMEOUT: 'ACK_TIMEOUT',
  /** The ERP rejected a delivered document (checkDelivery). */
  REJECTED_BY_ERP: 'REJECTED_BY_ERP',
  /** The push ended its plugin's sandbox process when it ran there alone (exit, memory, uncaught error). */
  PLUGIN_CRASHED: 'PLUGIN_CRASHED',
  /** The connection's configured path is no longer inside a folder granted to its connector type. */
  CONFIG_PATH_NOT_GRANTED: 'ERPC_ERR_CONFIG_PATH_NOT_GRANTED',
} as const;
