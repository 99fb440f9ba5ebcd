/**
 * What the webhook service and dispatcher need of storage. WebhookRepository implements it
 * (container.ts binds it); row types live with the repository.
 */
import type {
  ClaimedWebhookDelivery,
  WebhookAttemptOutcome,
  WebhookDeliveryRow,
  WebhookDeliveryStatus,
  WebhookEndpointPatch,
  WebhookEndpointRow,
  NewWebhookEndpoint,
  NewWebhookEvent,
  PushEventsWritten,
  WebhookInsertClaim,
} from '../storage/repositories/webhook-repository.js';
import type { KeysetCursor } from '../storage/repositories/rows.js';

export type { ClaimedWebhookDelivery, PushEventsWritten, WebhookAttemptOutcome, WebhookDeliveryRow, WebhookDeliveryStatus, WebhookEndpointPatch, WebhookEndpointRow, NewWebhookEndpoint, NewWebhookEvent, WebhookInsertClaim };

/** The event outbox as outcome writers see it: written inside their transaction. */
export interface WebhookEventOutbox {
  /** One `type` event per push (of an org with a subscribed, enabled endpoint); returns the deliveries queued. */
  insertPushEvents(type: string, pushIds: readonly string[], at: Date): Promise<number>;
  /** The same, up to `claim.limit` of the deliveries written already claimed (ADR 0042). */
  insertPushEventsClaiming(type: string, pushIds: readonly string[], at: Date, claim: WebhookInsertClaim | undefined): Promise<PushEventsWritten>;
  insertEvent(event: NewWebhookEvent): Promise<number>;
}

/** Endpoints, deliveries and events of one organisation (the API) or of all (operators). */
export interface WebhookStore extends WebhookEventOutbox {
  createEndpoint(e: NewWebhookEndpoint): Promise<WebhookEndpointRow>;
  findEndpoint(orgId: string, id: string): Promise<WebhookEndpointRow | undefined>;
  findEndpointForUpdate(orgId: string, id: string): Promise<WebhookEndpointRow | undefined>;
  listEndpoints(orgId: string, limit: number, after?: KeysetCursor): Promise<WebhookEndpointRow[]>;
  updateEndpoint(orgId: string, id: string, patch: WebhookEndpointPatch): Promise<WebhookEndpointRow | undefined>;
  deleteEndpoint(orgId: string, id: string): Promise<boolean>;
  listDeliveries(orgId: string, endpointId: string, q: { status?: WebhookDeliveryStatus | undefined; limit: number; after?: KeysetCursor | undefined }): Promise<WebhookDeliveryRow[]>;
  listDeliveriesForOperator(q: { orgId?: string | undefined; status?: WebhookDeliveryStatus | undefined; limit: number }): Promise<(WebhookDeliveryRow & { url: string })[]>;
  findEvent(orgId: string | undefined, eventId: string): Promise<{ id: string; orgId: string; type: string } | undefined>;
  replayEvent(orgId: string, eventId: string, now: Date): Promise<WebhookDeliveryRow[]>;
  transaction<T>(fn: (tx: WebhookStore) => Promise<T>): Promise<T>;
}

/** What the dispatcher claims and records. */
export interface WebhookDeliveryStore {
  /** Claims deliveries due at `dueBefore` (default `now`) or earlier; `now` stamps the attempt. */
  claimDue(workerId: string, now: Date, leaseUntil: Date, limit: number, dueBefore?: Date): Promise<ClaimedWebhookDelivery[]>;
  /** What sending needs of deliveries this worker holds claimed by id (written claimed with `idsOnly`). */
  loadClaimed(workerId: string, ids: readonly string[]): Promise<ClaimedWebhookDelivery[]>;
  requeueExpiredLeases(now: Date, limit: number): Promise<number>;
  /** The outcomes and the endpoints' failure streaks, in one statement. */
  recordAttempts(
    workerId: string,
    items: readonly WebhookAttemptOutcome[],
    health: { succeeded: readonly string[]; failed: readonly string[]; disableBefore: Date; reason: string },
  ): Promise<{ written: string[]; disabled: { id: string; orgId: string }[]; successorsWaiting: boolean }>;
}

/** A connection test's outcome and, when it failed, its event, in one transaction. */
export interface ConnectionTestStorage {
  transaction<T>(
    fn: (tx: {
      readonly connections: { recordTest(orgId: string, id: string, outcome: { at: Date; ok: boolean; latencyMs: number; message: string | null }): Promise<unknown> };
      readonly webhooks: WebhookEventOutbox;
    }) => Promise<T>,
  ): Promise<T>;
}
