/**
 * What the push service and the worker need of storage. The storage module's repositories
 * implement these (container.ts binds them); row types live with their repository.
 */
import type { BoundConnection } from '../storage/repositories/connection-repository.js';
import type {
  AcceptBatch,
  AcceptBatchResult,
  AcceptItem,
  AckOutcome,
  DeadLetterFilter,
  DeadOutcome,
  DeliveredOutcome,
  NewPush,
  OutcomeItems,
  PushListQuery,
  PushRow,
  ReleaseOutcome,
  RetryOutcome,
} from '../storage/repositories/push-repository.js';
import type { PushStatus } from './push-types.js';
import type { ApiKeyCredential } from '../storage/repositories/api-key-repository.js';
import type { ClaimedWebhookDelivery, PushEventsWritten, WebhookInsertClaim } from '../webhooks/ports.js';

export type { ApiKeyCredential, AcceptBatch, AcceptBatchResult, AcceptItem, AckOutcome, BoundConnection, DeadLetterFilter, DeadOutcome, DeliveredOutcome, NewPush, OutcomeItems, PushListQuery, PushRow, ReleaseOutcome, RetryOutcome };

/** The push table (outbox and delivery record). Outcome writes are fenced by (locked_by, attempts). */
export interface PushStore {
  /** The active-connection lookup, the insert and the NOTIFY of an accept, in one statement (ADR 0037). */
  acceptBatch(batch: AcceptBatch): Promise<AcceptBatchResult>;
  findByKeys(orgId: string, keys: readonly string[]): Promise<PushRow[]>;
  findById(orgId: string, id: string): Promise<PushRow | undefined>;
  list(orgId: string, q: PushListQuery): Promise<PushRow[]>;
  countByStatus(orgId?: string): Promise<Record<PushStatus, number>>;
  queueDepth(): Promise<{ pending: number; processing: number; awaitingAck: number; dead: number }>;
  /** A DEAD or REJECTED push back to PENDING; undefined when it is neither (or not there). */
  retry(orgId: string, id: string, now: Date): Promise<PushRow | undefined>;
  /** Bulk retry, one batch: DEAD pushes matching the filter, not retried since `runStartedAt`, back to PENDING. */
  retryDeadBatch(orgId: string, filter: DeadLetterFilter, runStartedAt: Date, now: Date, limit: number): Promise<string[]>;
  /** How many DEAD pushes match the filter. */
  countDead(orgId: string, filter: DeadLetterFilter): Promise<number>;
  /** Wakes LISTENing workers at commit (PostgreSQL). */
  notify(): Promise<void>;
  /** Claims due pushes with the connection each is bound to, in one statement. */
  claimDueWithConnections(workerId: string, now: Date, leaseUntil: Date, limit: number): Promise<{ row: PushRow; connection: BoundConnection | undefined }[]>;
  requeueExpiredLeases(now: Date, maxAttempts: number, limit: number, horizonMs?: number): Promise<{ id: string; status: PushStatus }[]>;
  markDelivered(workerId: string, items: readonly DeliveredOutcome[]): Promise<string[]>;
  markRetry(workerId: string, items: readonly RetryOutcome[]): Promise<string[]>;
  markDead(workerId: string, items: readonly DeadOutcome[]): Promise<string[]>;
  /**
   * Outcomes of one kind and their webhook events (with deliveries, some written claimed for
   * `event.claim`) in one statement, atomic without a transaction (ADR 0043).
   */
  markWithEvents<K extends keyof OutcomeItems>(
    kind: K,
    workerId: string,
    items: readonly OutcomeItems[K][],
    event: { type: string; at: Date; claim: WebhookInsertClaim | undefined },
  ): Promise<{ written: string[] } & PushEventsWritten>;
  release(workerId: string, items: readonly ReleaseOutcome[]): Promise<string[]>;
  claimAckChecks(workerId: string, now: Date, leaseUntil: Date, limit: number): Promise<PushRow[]>;
  recordAckOutcomes(workerId: string, items: readonly AckOutcome[]): Promise<string[]>;
  /** Runs `fn` in one transaction. */
  transaction<T>(fn: (tx: PushStore) => Promise<T>): Promise<T>;
}

/** The connections pushes are accepted for and delivered through (read only). */
export interface PushConnections {
  /** The organisation's ACTIVE connection, if any. */
  activeBinding(orgId: string): Promise<{ id: string; connectorType: string } | undefined>;
  /** The connections with these ids, whatever their status (delivery checks the status itself). */
  boundByIds(ids: readonly string[]): Promise<Map<string, BoundConnection>>;
}

/** Whether an organisation exists (an unknown one is ERPC_ERR_ORG_NOT_FOUND, not "no active connection"). */
export interface PushOrganizations {
  exists(id: string): Promise<boolean>;
}

/**
 * The webhook event outbox, written in the transaction of the push outcome that causes each
 * event (webhooks/ports.ts; ADR 0035). Returns the deliveries queued.
 */
export interface PushEventOutbox {
  insertPushEvents(type: string, pushIds: readonly string[], at: Date): Promise<number>;
  /** The same, with up to `claim.limit` deliveries written already claimed for this process's dispatcher (ADR 0042). */
  insertPushEventsClaiming(
    type: string,
    pushIds: readonly string[],
    at: Date,
    claim: WebhookInsertClaim | undefined,
  ): Promise<PushEventsWritten>;
}

/**
 * The webhook dispatcher of the process that writes the outcomes: the deliveries of their events
 * are written already claimed for it and handed over after the commit, so it sends them without
 * a claim round trip (ADR 0042). What it does not take is written PENDING and claimed as usual.
 */
export interface WebhookHandoff {
  /**
   * The claim to write now, or undefined when it takes none (stopping, no free slot). Its slots
   * are reserved until `take` or `cancel` settles it.
   */
  offer(now: Date): WebhookInsertClaim | undefined;
  /**
   * After the commit: sends the deliveries written claimed (never throws) and frees the rest of
   * the offer's slots. `claimedIds`: those written claimed by id alone (an offer with `idsOnly`).
   */
  take(claimed: readonly ClaimedWebhookDelivery[], offered: WebhookInsertClaim, claimedIds?: readonly string[]): void;
  /** The write with this offer failed (rolled back): its slots are free again. */
  cancel(offered: WebhookInsertClaim): void;
}

/** Push outcomes and their webhook events in one transaction; `onQueued` after a commit that queued deliveries. */
export interface PushEventStorage {
  /** Outside a transaction: the one-statement outcome with its events (`markWithEvents`). */
  readonly pushes: PushStore;
  transaction<T>(fn: (tx: { readonly pushes: PushStore; readonly webhooks: PushEventOutbox }) => Promise<T>): Promise<T>;
}
export interface PushEvents {
  readonly storage: PushEventStorage;
  /** `deliveries` were queued by a commit; `unclaimed` of them (default all) wait for a claim: wake a dispatcher. */
  onQueued(type: string, deliveries: number, unclaimed?: number): void;
  readonly handoff?: WebhookHandoff | undefined;
}

/** Pushes and their connections, with transactions spanning both (accepting a push). */
export interface PushStorage {
  readonly pushes: PushStore;
  readonly connections: PushConnections;
  readonly organizations: PushOrganizations;
  transaction<T>(fn: (tx: { readonly pushes: PushStore; readonly connections: PushConnections; readonly organizations: PushOrganizations }) => Promise<T>): Promise<T>;
}
