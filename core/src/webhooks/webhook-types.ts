import type { FromSchema } from 'json-schema-to-ts';
import type { WebhookDeliveryRow, WebhookEndpointRow } from '../storage/repositories/webhook-repository.js';

/** Every event type a webhook endpoint may subscribe to. */
export const WEBHOOK_EVENT_TYPES = ['push.delivered', 'push.acknowledged', 'push.rejected', 'push.dead', 'push.retrying', 'connection.test_failed'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** What an endpoint created without `events` subscribes to: every type but push.retrying (opt-in: one per failed attempt). */
export const DEFAULT_WEBHOOK_EVENTS: readonly WebhookEventType[] = WEBHOOK_EVENT_TYPES.filter((t) => t !== 'push.retrying');

export const WEBHOOK_DELIVERY_STATUSES = ['PENDING', 'PROCESSING', 'DELIVERED', 'FAILED'] as const;

/** Input limits, one source for the route schemas and the service. */
export const WEBHOOK_LIMITS = { maxUrl: 2048, maxDescription: 500, maxPageSize: 200, defaultPageSize: 50 } as const;

const nullableDate = { type: ['string', 'null'], format: 'date-time' } as const;

/** An endpoint as the API shows it: never its secret (only the create answer carries that, once). */
export const webhookEndpointViewSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'url', 'description', 'events', 'enabled', 'disabledReason', 'disabledAt', 'failingSince', 'previousSecretExpiresAt', 'createdAt', 'updatedAt'],
  properties: {
    id: { type: 'string', format: 'uuid' },
    url: { type: 'string' },
    description: { type: 'string' },
    events: { type: 'array', items: { type: 'string', enum: [...WEBHOOK_EVENT_TYPES] } },
    enabled: { type: 'boolean' },
    disabledReason: { type: ['string', 'null'], description: 'Why erpc disabled the endpoint (it kept failing); null when enabled or disabled by a person.' },
    disabledAt: nullableDate,
    failingSince: { ...nullableDate, description: 'Start of the current run of failed deliveries; null after a success.' },
    previousSecretExpiresAt: { ...nullableDate, description: 'During a secret rotation: until when the previous secret still signs too.' },
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
  },
} as const;
export type WebhookEndpointView = FromSchema<typeof webhookEndpointViewSchema>;

/** The answer of create and rotate-secret: the view plus the signing secret, shown this once. */
export const webhookEndpointWithSecretSchema = {
  ...webhookEndpointViewSchema,
  required: [...webhookEndpointViewSchema.required, 'secret'],
  properties: { ...webhookEndpointViewSchema.properties, secret: { type: 'string', description: 'The signing secret (whsec_…). Shown once: store it now.' } },
} as const;
export type WebhookEndpointWithSecret = FromSchema<typeof webhookEndpointWithSecretSchema>;

/** One delivery (an event to an endpoint): attempts, status codes, next attempt, last error. */
export const webhookDeliveryViewSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'eventId', 'endpointId', 'eventType', 'pushId', 'status', 'attempts', 'nextAttemptAt', 'lastStatusCode', 'lastError', 'lastAttemptAt', 'deliveredAt', 'createdAt', 'updatedAt'],
  properties: {
    id: { type: 'string', format: 'uuid' },
    eventId: { type: 'string', format: 'uuid', description: 'The event, and the `webhook-id` header of every attempt.' },
    endpointId: { type: 'string', format: 'uuid' },
    eventType: { type: 'string', enum: [...WEBHOOK_EVENT_TYPES] },
    pushId: { type: ['string', 'null'], format: 'uuid' },
    status: { type: 'string', enum: [...WEBHOOK_DELIVERY_STATUSES] },
    attempts: { type: 'integer' },
    nextAttemptAt: nullableDate,
    lastStatusCode: { type: ['integer', 'null'], description: 'HTTP status of the last attempt; null when it got no answer.' },
    lastError: { type: ['string', 'null'] },
    lastAttemptAt: nullableDate,
    deliveredAt: nullableDate,
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
  },
} as const;
export type WebhookDeliveryView = FromSchema<typeof webhookDeliveryViewSchema>;

const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString());

export function toEndpointView(row: WebhookEndpointRow): WebhookEndpointView {
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    events: row.events as WebhookEventType[],
    enabled: row.enabled,
    disabledReason: row.disabledReason,
    disabledAt: iso(row.disabledAt),
    failingSince: iso(row.failingSince),
    previousSecretExpiresAt: iso(row.previousSecretExpiresAt),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

export function toDeliveryView(row: WebhookDeliveryRow): WebhookDeliveryView {
  return {
    id: row.id,
    eventId: row.eventId,
    endpointId: row.endpointId,
    eventType: row.type as WebhookEventType,
    pushId: row.pushId,
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: row.status === 'PENDING' ? iso(row.nextAttemptAt) : null,
    lastStatusCode: row.lastStatusCode,
    lastError: row.lastError,
    lastAttemptAt: iso(row.lastAttemptAt),
    deliveredAt: iso(row.deliveredAt),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
