import type { Knex } from 'knex';
import { parseExactJson } from '@erpc/sdk';
import { markPlainJson } from '../../input/plain-json.js';
import { PUSH_REASON, PUSH_STATUSES, type PushStatus } from '../../push/push-types.js';
import type { BoundConnection } from './connection-repository.js';
import { retryingStatement, retryingTransaction } from '../errors.js';
import { hotQuery, textArray } from './hot-query.js';
import { ITEM_IDS, toBuffer } from './rows.js';
import type { ApiKeyCredential } from './api-key-repository.js';
import { pushEventCtes, pushEventResults, pushEventValues, pushEventsOf, type PushEventsWritten, type WebhookInsertClaim } from './webhook-repository.js';

export type { BoundConnection };

/** A push row as the repository returns it (camelCase, Dates). */
export interface PushRow {
  id: string;
  orgId: string;
  connectionId: string;
  connectorType: string;
  documentType: string;
  documentId: string;
  idempotencyKey: string;
  payload: unknown;
  payloadSha256: string;
  status: PushStatus;
  attempts: number;
  nextAttemptAt: Date | null;
  lockedBy: string | null;
  lockedUntil: Date | null;
  lastErrorCode: string | null;
  lastErrorMessage: string | null;
  /** The most recent failed attempt; kept when delivery clears lastError. */
  lastFailureCode: string | null;
  lastFailureMessage: string | null;
  lastFailureAt: Date | null;
  externalRef: string | null;
  receiptDetails: Record<string, unknown> | null;
  ackDetails: Record<string, unknown> | null;
  ackDeadline: Date | null;
  nextAckCheckAt: Date | null;
  ackChecks: number;
  manualRetries: number;
  retriedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  lastAttemptAt: Date | null;
  deliveredAt: Date | null;
  acknowledgedAt: Date | null;
  rejectedAt: Date | null;
  deadAt: Date | null;
  /** The HTTP request that accepted the push (log lines name it); null outside a request. */
  requestId: string | null;
}


/** The columns a new push is inserted with. */
export type NewPush = Pick<
  PushRow,
  'id' | 'orgId' | 'connectionId' | 'connectorType' | 'documentType' | 'documentId' | 'idempotencyKey' | 'payload' | 'payloadSha256' | 'requestId'
> & {
  /** The payload's exact JSON text (`JSON.stringify` of the exact payload), what is stored. */
  payloadText: string;
  now: Date;
};

/** One document of an {@link AcceptBatch}: its connection is looked up by the statement itself. */
export interface AcceptItem {
  /** A UUID in its canonical text (randomUUID). */
  id: string;
  documentType: string;
  documentId: string;
  idempotencyKey: string;
  payloadText: string;
  /** Hex SHA-256 (payloadSha256). */
  payloadSha256: string;
}

/** Documents of one organisation accepted by one statement (ADR 0037). */
export interface AcceptBatch {
  /**
   * Whose documents: an organisation already known (the library call, `erpc push`), or the API
   * key presented with the request (`POST /v1/pushes`): the statement itself checks that the key
   * exists, is not revoked and has this secret, and takes its organisation (ADR 0044).
   */
  owner: { orgId: string } | { key: ApiKeyCredential };
  items: readonly AcceptItem[];
  now: Date;
  requestId: string | null;
  /**
   * Connector types that accept only some document types, with those types: an item whose
   * document type the active connection's connector does not accept is not inserted.
   */
  restricted: Readonly<Record<string, readonly string[]>>;
  /** NOTIFY the workers' channel when a row was inserted (PostgreSQL). */
  notify: boolean;
}

/** What {@link PushRepository.acceptBatch} did: the active connection (if any) and the ids inserted. */
export interface AcceptBatchResult {
  /** The organisation the documents belong to; undefined when the presented key was refused. */
  orgId: string | undefined;
  connection: { id: string; connectorType: string } | undefined;
  inserted: Set<string>;
}

/**
 * The accept statement: the organisation's ACTIVE connection, the insert of the items its
 * connector accepts (a key already taken is skipped: ON CONFLICT DO NOTHING, the caller reads
 * the winner for the whole-request comparison), and pg_notify only when a row was inserted, in
 * one autocommit statement. The items are parallel arrays (unnest), one parameter each.
 */
const acceptSql = (org: string, key = '') => `
WITH ${key}conn AS (
  SELECT id, connector_type FROM erp_connection WHERE org_id = ${org} AND status = 'ACTIVE'
), v AS (
  SELECT * FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
           AS v(id, document_type, document_id, idempotency_key, payload_text, payload_sha256)
), ins AS (
  INSERT INTO push (id, org_id, connection_id, connector_type, document_type, document_id, idempotency_key,
                    payload_text, payload_sha256, status, attempts, next_attempt_at, created_at, updated_at, request_id)
  SELECT v.id, ${org}, conn.id, conn.connector_type, v.document_type, v.document_id, v.idempotency_key,
         v.payload_text, v.payload_sha256, 'PENDING', 0, $8::timestamptz, $8::timestamptz, $8::timestamptz, $9::text
    FROM v CROSS JOIN conn
   WHERE NOT jsonb_exists($10::jsonb, conn.connector_type)
      OR jsonb_exists($10::jsonb -> conn.connector_type, v.document_type)
  ON CONFLICT (org_id, idempotency_key) DO NOTHING
  RETURNING id
), woke AS (
  SELECT pg_notify('erpc_push', '') /* PUSH_NOTIFY_CHANNEL */ FROM (SELECT 1 FROM ins LIMIT 1) AS any_new WHERE $11::boolean
)
SELECT ${org}::text AS org_id, conn.id AS connection_id, conn.connector_type,
       -- The ids inserted, only when some item was not (an array of 500 uuids costs more to read than to skip).
       CASE WHEN (SELECT count(*) FROM ins) < cardinality($2::uuid[]) THEN ARRAY(SELECT id::text FROM ins) END AS inserted,
       (SELECT count(*) FROM woke) AS woke
  FROM (SELECT 1) AS one LEFT JOIN conn ON true`;
const ACCEPT_SQL = acceptSql('$1::uuid');
/**
 * The same statement for a request that presented an API key ($1 its id, $12 the SHA-256 of its
 * secret): the organisation is the key's, and a key that is unknown, revoked or has another
 * secret yields no organisation, so no connection and no row (ADR 0044). The hash is compared
 * in SQL: a caller controls the secret, not its hash, so the comparison's timing tells nothing.
 */
const ACCEPT_BY_KEY_SQL = acceptSql(
  '(SELECT org_id FROM api_key_owner)',
  'api_key_owner AS (SELECT org_id FROM api_key WHERE id = $1::text AND revoked_at IS NULL AND secret_hash = $12::bytea), ',
);

/** Filters and page of a keyset listing (newest first). */
export interface PushListQuery {
  status?: PushStatus;
  documentType?: string;
  limit: number;
  /** The last row of the previous page. */
  after?: { createdAt: Date; id: string };
}

/** Which dead letters a bulk retry takes; every field narrows it. */
export interface DeadLetterFilter {
  code?: string;
  connectionId?: string;
  documentType?: string;
  /** Dead at or after. */
  deadAfter?: Date;
  /** Dead before. */
  deadBefore?: Date;
}

function deadLetterWhere(orgId: string, f: DeadLetterFilter): { sql: string; params: (string | Date)[] } {
  const parts = [`org_id = ?`, `status = 'DEAD'`];
  const params: (string | Date)[] = [orgId];
  if (f.code !== undefined) (parts.push('last_error_code = ?'), params.push(f.code));
  if (f.connectionId !== undefined) (parts.push('connection_id = ?'), params.push(f.connectionId));
  if (f.documentType !== undefined) (parts.push('document_type = ?'), params.push(f.documentType));
  if (f.deadAfter !== undefined) (parts.push('dead_at >= ?'), params.push(f.deadAfter));
  if (f.deadBefore !== undefined) (parts.push('dead_at < ?'), params.push(f.deadBefore));
  return { sql: parts.join(' AND '), params };
}

/** Outcomes the worker records in batches, each fenced by (locked_by, attempts). */
export interface DeliveredOutcome {
  id: string;
  attempts: number;
  externalRef: string;
  receiptDetails: Record<string, unknown> | null;
  at: Date;
  /** Set when the connector reports acknowledgements. */
  ackDeadline: Date | null;
  nextAckCheckAt: Date | null;
}
export interface RetryOutcome {
  id: string;
  attempts: number;
  nextAttemptAt: Date;
  code: string;
  message: string;
  at: Date;
}
export interface DeadOutcome {
  id: string;
  attempts: number;
  code: string;
  message: string;
  at: Date;
}
export interface ReleaseOutcome {
  id: string;
  attempts: number;
  at: Date;
  /** When it is due again (default `at`): a push released unstarted keeps its place in the queue. */
  dueAt?: Date | null;
}

/** Outcomes of acknowledgement checks, fenced by (locked_by, ack_checks). */
export type AckOutcome =
  | { kind: 'acknowledged'; id: string; ackChecks: number; details: Record<string, unknown> | null; at: Date }
  | { kind: 'rejected'; id: string; ackChecks: number; message: string; details: Record<string, unknown> | null; at: Date }
  | { kind: 'pending'; id: string; ackChecks: number; nextCheckAt: Date | null; at: Date; code?: string; message?: string; details?: Record<string, unknown> }
  | { kind: 'dead'; id: string; ackChecks: number; code: string; message: string; at: Date };

const WORKER_LOST_MESSAGE = 'The worker delivering this push stopped (or hung) before recording an outcome; the lease expired.';

/** The channel PushService notifies on PostgreSQL and workers LISTEN to. */
export const PUSH_NOTIFY_CHANNEL = 'erpc_push';

type DbRow = Record<string, unknown>;

/**
 * A stored payload: the exact text (ADR 0027) parsed with exact numbers, or the jsonb of a row
 * accepted before migration 0004. The text is `JSON.stringify` of the exact payload, so when a
 * plain parse serialises back to the same text every number is a plain one and the (ten times
 * slower) exact parse is skipped.
 */
function storedPayload(text: unknown, jsonb: unknown): unknown {
  if (typeof text !== 'string') return jsonb;
  const plain: unknown = JSON.parse(text);
  // Marked plain: a sandboxed push then carries it inside the call's line (ADR 0048).
  return JSON.stringify(plain) === text ? markPlainJson(plain) : parseExactJson(text);
}

const date = (v: unknown): Date | null => (v === null || v === undefined ? null : v instanceof Date ? v : new Date(String(v)));

export function toRow(r: DbRow): PushRow {
  return {
    id: String(r.id),
    orgId: String(r.org_id),
    connectionId: String(r.connection_id),
    connectorType: String(r.connector_type),
    documentType: String(r.document_type),
    documentId: String(r.document_id),
    idempotencyKey: String(r.idempotency_key),
    payload: storedPayload(r.payload_text, r.payload),
    payloadSha256: String(r.payload_sha256),
    status: r.status as PushStatus,
    attempts: Number(r.attempts),
    nextAttemptAt: date(r.next_attempt_at),
    lockedBy: (r.locked_by as string | null) ?? null,
    lockedUntil: date(r.locked_until),
    lastErrorCode: (r.last_error_code as string | null) ?? null,
    lastErrorMessage: (r.last_error_message as string | null) ?? null,
    lastFailureCode: (r.last_failure_code as string | null) ?? null,
    lastFailureMessage: (r.last_failure_message as string | null) ?? null,
    lastFailureAt: date(r.last_failure_at),
    externalRef: (r.external_ref as string | null) ?? null,
    receiptDetails: (r.receipt_details as Record<string, unknown> | null) ?? null,
    ackDetails: (r.ack_details as Record<string, unknown> | null) ?? null,
    ackDeadline: date(r.ack_deadline),
    nextAckCheckAt: date(r.next_ack_check_at),
    ackChecks: Number(r.ack_checks),
    manualRetries: Number(r.manual_retries),
    retriedAt: date(r.retried_at),
    createdAt: date(r.created_at)!,
    updatedAt: date(r.updated_at)!,
    lastAttemptAt: date(r.last_attempt_at),
    deliveredAt: date(r.delivered_at),
    acknowledgedAt: date(r.acknowledged_at),
    rejectedAt: date(r.rejected_at),
    deadAt: date(r.dead_at),
    requestId: (r.request_id as string | null | undefined) ?? null,
  };
}

/** A connection from its columns, named with `prefix` (a claim's join prefixes them). */
function toConnection(r: DbRow, prefix: string): BoundConnection {
  return {
    id: String(r[`${prefix}id`]),
    orgId: String(r[`${prefix}org_id`]),
    connectorType: String(r[`${prefix}connector_type`]),
    status: String(r[`${prefix}status`]),
    configEncrypted: r[`${prefix}config_encrypted`] as Uint8Array,
    configKeyId: String(r[`${prefix}config_key_id`]),
  };
}

/** Rows of a raw query on pg / PGlite (knex returns the driver's result object). */
function rowsOf(result: unknown): DbRow[] {
  return ((result as { rows?: DbRow[] }).rows ?? []) as DbRow[];
}

/** JSON for jsonb_to_recordset: Dates as ISO strings, null/undefined fields left out (→ SQL NULL). */
function recordset(items: readonly object[]): string {
  return JSON.stringify(items, (_key, value: unknown) => (value === null ? undefined : value));
}

/** The outcome kinds a worker writes, with their items. */
export interface OutcomeItems {
  delivered: DeliveredOutcome;
  retry: RetryOutcome;
  dead: DeadOutcome;
}
type OutcomeKind = keyof OutcomeItems;

/**
 * The fenced outcome UPDATEs ($1 the items as a jsonb recordset, $2 the worker), without their
 * RETURNING clause: `markDelivered` & co. return the ids, `markWithEvents` the rows for the events.
 *
 * Written so the planner looks each id up by the primary key (ADR 0043):
 * - `(p.status = 'PROCESSING') IS TRUE`, not `p.status = 'PROCESSING'` (status is NOT NULL: the
 *   same rows), so it cannot prove the lease index's predicate. With the plain form, once the
 *   statistics say few rows are PROCESSING, it scanned that whole partial index and hash-joined;
 *   the index holds an entry for every push ever claimed until vacuum removes them: 548 buffers
 *   instead of 12 for 4 outcomes on a 20,000-row table, growing with the table.
 * - `p.id = ANY (the items' ids)`: an index condition on the primary key whose cost does not grow
 *   with the table (the recordset alone is costed at 100 rows, which made a sequential scan look
 *   cheaper on small tables).
 */
const MARK: { [K in OutcomeKind]: { name: string; sql: string; recordset(items: readonly OutcomeItems[K][]): string } } = {
  delivered: {
    name: 'erpc_push_delivered',
    sql: `UPDATE push AS p
          SET status = 'DELIVERED', locked_by = NULL, locked_until = NULL, next_attempt_at = NULL,
              last_error_code = NULL, last_error_message = NULL,
              external_ref = v.external_ref, receipt_details = v.receipt_details, delivered_at = v.at, updated_at = v.at,
              ack_deadline = v.ack_deadline, next_ack_check_at = v.next_ack_check_at
         FROM jsonb_to_recordset($1::jsonb) AS v(id uuid, attempts int, external_ref text, receipt_details jsonb,
              at timestamptz, ack_deadline timestamptz, next_ack_check_at timestamptz)
        WHERE p.id = v.id AND p.id = ANY (${ITEM_IDS}) AND (p.status = 'PROCESSING') IS TRUE AND p.locked_by = $2 AND p.attempts = v.attempts`,
    recordset: (items) =>
      recordset(items.map((o) => ({
        id: o.id, attempts: o.attempts, external_ref: o.externalRef, receipt_details: o.receiptDetails,
        at: o.at, ack_deadline: o.ackDeadline, next_ack_check_at: o.nextAckCheckAt,
      }))),
  },
  retry: {
    name: 'erpc_push_retry_later',
    sql: `UPDATE push AS p
          SET status = 'PENDING', locked_by = NULL, locked_until = NULL, next_attempt_at = v.next_attempt_at,
              last_error_code = v.code, last_error_message = v.message, updated_at = v.at,
              last_failure_code = v.code, last_failure_message = v.message, last_failure_at = v.at
         FROM jsonb_to_recordset($1::jsonb) AS v(id uuid, attempts int, next_attempt_at timestamptz, code text, message text, at timestamptz)
        WHERE p.id = v.id AND p.id = ANY (${ITEM_IDS}) AND (p.status = 'PROCESSING') IS TRUE AND p.locked_by = $2 AND p.attempts = v.attempts`,
    recordset: (items) => recordset(items.map((o) => ({ id: o.id, attempts: o.attempts, next_attempt_at: o.nextAttemptAt, code: o.code, message: o.message, at: o.at }))),
  },
  dead: {
    name: 'erpc_push_dead',
    sql: `UPDATE push AS p
          SET status = 'DEAD', locked_by = NULL, locked_until = NULL, next_attempt_at = NULL,
              last_error_code = v.code, last_error_message = v.message, dead_at = v.at, updated_at = v.at,
              last_failure_code = v.code, last_failure_message = v.message, last_failure_at = v.at
         FROM jsonb_to_recordset($1::jsonb) AS v(id uuid, attempts int, code text, message text, at timestamptz)
        WHERE p.id = v.id AND p.id = ANY (${ITEM_IDS}) AND (p.status = 'PROCESSING') IS TRUE AND p.locked_by = $2 AND p.attempts = v.attempts`,
    recordset: (items) => recordset(items.map((o) => ({ id: o.id, attempts: o.attempts, code: o.code, message: o.message, at: o.at }))),
  },
};

/** The text of an outcome UPDATE as `markDelivered` & co. send it (the plan test reads it). */
export function outcomeUpdateSql(kind: OutcomeKind): string {
  return `${MARK[kind].sql} RETURNING p.id`;
}

/**
 * SQL of the push table (the outbox and the record of every delivery). The claim also reads the
 * connection each claimed push is bound to, in the same statement (one round trip per claim,
 * ADR 0015); the rows of erp_connection are written only by ConnectionRepository. Bound to the
 * database, or inside {@link PushRepository.transaction} to the open transaction (PGlite has one
 * connection: inside a transaction, only that transaction may query).
 */
export class PushRepository {
  constructor(private readonly db: Knex) {}

  /** Runs `fn` in one transaction, on a repository bound to it. */
  transaction<T>(fn: (tx: PushRepository) => Promise<T>): Promise<T> {
    return retryingTransaction(this.db, (trx) => fn(new PushRepository(trx)));
  }

  /**
   * Accepts a batch (one document or many) in one statement: see {@link ACCEPT_SQL}. No
   * connection: nothing inserted, `connection` undefined.
   */
  async acceptBatch(b: AcceptBatch): Promise<AcceptBatchResult> {
    const col = (f: (i: AcceptItem) => string) => textArray(b.items.map(f));
    // uuids and hex digests need neither quotes nor escapes in an array literal.
    const plain = (f: (i: AcceptItem) => string) => `{${b.items.map(f).join(',')}}`;
    const { owner } = b;
    const [name, sql, who, ...keyHash] =
      'key' in owner
        ? (['erpc_push_accept_by_key', ACCEPT_BY_KEY_SQL, owner.key.keyId, toBuffer(owner.key.secretHash)] as const)
        : (['erpc_push_accept', ACCEPT_SQL, owner.orgId] as const);
    const values = [
      who, plain((i) => i.id), col((i) => i.documentType), col((i) => i.documentId), col((i) => i.idempotencyKey),
      col((i) => i.payloadText), plain((i) => i.payloadSha256), b.now, b.requestId, JSON.stringify(b.restricted), b.notify, ...keyHash,
    ];
    const rows = await retryingStatement(() => hotQuery(this.db, name, sql, values));
    const r = rows[0] ?? {};
    // No list: every item was inserted.
    const inserted = new Set<string>(r.inserted === null || r.inserted === undefined ? b.items.map((i) => i.id) : (r.inserted as string[]));
    return {
      orgId: r.org_id === null || r.org_id === undefined ? undefined : String(r.org_id),
      connection: r.connection_id === null || r.connection_id === undefined ? undefined : { id: String(r.connection_id), connectorType: String(r.connector_type) },
      inserted,
    };
  }

  async findByKey(orgId: string, idempotencyKey: string): Promise<PushRow | undefined> {
    const row = await this.db('push').where({ org_id: orgId, idempotency_key: idempotencyKey }).first();
    return row === undefined ? undefined : toRow(row as DbRow);
  }

  async findByKeys(orgId: string, keys: readonly string[]): Promise<PushRow[]> {
    if (keys.length === 0) return [];
    const rows = (await this.db('push').where({ org_id: orgId }).whereIn('idempotency_key', [...keys])) as DbRow[];
    return rows.map(toRow);
  }

  /** A push of `orgId` by id; another org's push is undefined, like a missing one. */
  async findById(orgId: string, id: string): Promise<PushRow | undefined> {
    const row = await this.db('push').where({ org_id: orgId, id }).first();
    return row === undefined ? undefined : toRow(row as DbRow);
  }

  /** Keyset page, newest first (created_at DESC, id DESC). Fetches limit + 1 to know if there is more. */
  async list(orgId: string, q: PushListQuery): Promise<PushRow[]> {
    const query = this.db('push')
      .select(
        'id', 'org_id', 'connection_id', 'connector_type', 'document_type', 'document_id', 'idempotency_key',
        this.db.raw('NULL AS payload'), 'payload_sha256', 'status', 'attempts', 'next_attempt_at', 'locked_by', 'locked_until',
        'last_error_code', 'last_error_message', 'last_failure_code', 'last_failure_message', 'last_failure_at', 'external_ref', 'receipt_details', 'ack_details', 'ack_deadline',
        'next_ack_check_at', 'ack_checks', 'manual_retries', 'retried_at', 'created_at', 'updated_at', 'last_attempt_at',
        'delivered_at', 'acknowledged_at', 'rejected_at', 'dead_at',
      )
      .where('org_id', orgId);
    if (q.status !== undefined) query.where('status', q.status);
    if (q.documentType !== undefined) query.where('document_type', q.documentType);
    if (q.after !== undefined) query.whereRaw('(created_at, id) < (?, ?)', [q.after.createdAt, q.after.id]);
    const rows = (await query.orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }]).limit(q.limit + 1)) as DbRow[];
    return rows.map(toRow);
  }

  /** Counts by status for one organisation; every status is present (0 when none). */
  async countByStatus(orgId?: string): Promise<Record<PushStatus, number>> {
    const query = this.db('push').select('status').count({ n: '*' }).groupBy('status');
    if (orgId !== undefined) query.where('org_id', orgId);
    const rows = (await query) as { status: PushStatus; n: string | number }[];
    const out = Object.fromEntries(PUSH_STATUSES.map((s) => [s, 0])) as Record<PushStatus, number>;
    for (const r of rows) out[r.status] = Number(r.n);
    return out;
  }

  /**
   * Counts of the states that make up the queue (not the terminal history), each through its
   * partial index, so a metrics scrape stays cheap on a table with millions of delivered rows.
   */
  async queueDepth(): Promise<{ pending: number; processing: number; awaitingAck: number; dead: number }> {
    const result = await this.db.raw(`
      SELECT (SELECT count(*) FROM push WHERE status = 'PENDING') AS pending,
             (SELECT count(*) FROM push WHERE status = 'PROCESSING') AS processing,
             (SELECT count(*) FROM push WHERE status = 'DELIVERED' AND next_ack_check_at IS NOT NULL) AS awaiting_ack,
             (SELECT count(*) FROM push WHERE status = 'DEAD') AS dead`);
    const r = rowsOf(result)[0] ?? {};
    return { pending: Number(r.pending ?? 0), processing: Number(r.processing ?? 0), awaitingAck: Number(r.awaiting_ack ?? 0), dead: Number(r.dead ?? 0) };
  }

  /** Manual retry: a DEAD or REJECTED push back to PENDING, due now, attempts reset. */
  async retry(orgId: string, id: string, now: Date): Promise<PushRow | undefined> {
    const result = await this.db.raw(
      `UPDATE push SET status = 'PENDING', attempts = 0, next_attempt_at = ?, locked_by = NULL, locked_until = NULL,
              ack_deadline = NULL, next_ack_check_at = NULL, ack_checks = 0, ack_details = NULL,
              delivered_at = NULL, acknowledged_at = NULL, rejected_at = NULL, dead_at = NULL,
              manual_retries = manual_retries + 1, retried_at = ?, updated_at = ?
       WHERE org_id = ? AND id = ? AND status IN ('DEAD', 'REJECTED')
       RETURNING *`,
      [now, now, now, orgId, id],
    );
    const row = rowsOf(result)[0];
    return row === undefined ? undefined : toRow(row);
  }

  /**
   * Bulk retry, one batch: up to `limit` of `orgId`'s DEAD pushes matching `filter` back to
   * PENDING (as {@link PushRepository.retry} does one), oldest dead letter first. Pushes retried
   * at or after `runStartedAt` are skipped, so a run never requeues one push twice (not even one
   * that died again meanwhile) and always ends. Returns the ids requeued.
   */
  async retryDeadBatch(orgId: string, filter: DeadLetterFilter, runStartedAt: Date, now: Date, limit: number): Promise<string[]> {
    const { sql, params } = deadLetterWhere(orgId, filter);
    const result = await this.db.raw(
      `UPDATE push AS p SET status = 'PENDING', attempts = 0, next_attempt_at = ?, locked_by = NULL, locked_until = NULL,
              dead_at = NULL, manual_retries = p.manual_retries + 1, retried_at = ?, updated_at = ?
         FROM (SELECT id FROM push
                WHERE ${sql} AND (retried_at IS NULL OR retried_at < ?)
                ORDER BY dead_at, id
                LIMIT ?
                FOR UPDATE SKIP LOCKED) AS due
        WHERE p.id = due.id
        RETURNING p.id`,
      [now, now, now, ...params, runStartedAt, limit],
    );
    return rowsOf(result).map((r) => String(r.id));
  }

  /** How many of `orgId`'s DEAD pushes match `filter` (a bulk retry's dry run). */
  async countDead(orgId: string, filter: DeadLetterFilter): Promise<number> {
    const { sql, params } = deadLetterWhere(orgId, filter);
    const result = await this.db.raw(`SELECT count(*) AS n FROM push WHERE ${sql}`, params);
    return Number(rowsOf(result)[0]?.n ?? 0);
  }

  /** Wakes LISTENing workers when the surrounding transaction commits (PostgreSQL only). */
  async notify(): Promise<void> {
    await this.db.raw('SELECT pg_notify(?, ?)', [PUSH_NOTIFY_CHANNEL, '']);
  }

  /**
   * Claims up to `limit` due PENDING pushes for `workerId`: PROCESSING, leased until
   * `leaseUntil`, attempts + 1 (the new attempts value is the claim's fencing token).
   * SKIP LOCKED lets any number of workers claim concurrently without waiting on each other.
   */
  async claimDue(workerId: string, now: Date, leaseUntil: Date, limit: number): Promise<PushRow[]> {
    // One claim statement for workers and callers alike: the bound connections are dropped here.
    return (await this.claimDueWithConnections(workerId, now, leaseUntil, limit)).map((c) => c.row);
  }

  /**
   * Claims due pushes and, in the same statement (one round trip, one snapshot), the connection
   * each claimed push is bound to (undefined when the row is gone). An UPDATE is atomic on its
   * own, so this needs no surrounding transaction.
   */
  async claimDueWithConnections(
    workerId: string,
    now: Date,
    leaseUntil: Date,
    limit: number,
  ): Promise<{ row: PushRow; connection: BoundConnection | undefined }[]> {
    const result = await hotQuery(this.db, 'erpc_push_claim', `WITH claimed AS (
         UPDATE push AS p
            SET status = 'PROCESSING', locked_by = $1, locked_until = $2, attempts = p.attempts + 1,
                last_attempt_at = $3, updated_at = $4
           FROM (SELECT id FROM push
                  WHERE status = 'PENDING' AND next_attempt_at <= $5
                  ORDER BY next_attempt_at
                  LIMIT $6
                  FOR UPDATE SKIP LOCKED) AS due
          WHERE p.id = due.id
          RETURNING p.*)
       SELECT claimed.*, c.id AS c_id, c.org_id AS c_org_id, c.connector_type AS c_connector_type,
              c.status AS c_status, c.config_encrypted AS c_config_encrypted, c.config_key_id AS c_config_key_id
         FROM claimed LEFT JOIN erp_connection AS c ON c.id = claimed.connection_id`,
      [workerId, leaseUntil, now, now, now, limit],
    );
    return result.map((r) => ({ row: toRow(r), connection: r.c_id === null || r.c_id === undefined ? undefined : toConnection(r, 'c_') }));
  }

  /**
   * Pushes whose lease expired (their worker died or hung): back to PENDING, due now, the lost
   * attempt counted; DEAD (WORKER_LOST) when that was the last allowed attempt. A push past
   * `maxAttempts` is one retried over the horizon (a fault an operator fixes, ADR 0028): it stays
   * retried while its horizon (from acceptance or the last manual retry) lasts.
   */
  async requeueExpiredLeases(now: Date, maxAttempts: number, limit: number, horizonMs = 0): Promise<{ id: string; status: PushStatus }[]> {
    const last = `(p.attempts >= $1 AND NOT (p.attempts > $1 AND COALESCE(p.retried_at, p.created_at) + make_interval(secs => $2::double precision) > $3::timestamptz))`;
    const result = await hotQuery(this.db, 'erpc_push_requeue_expired', `UPDATE push AS p
          SET status = CASE WHEN ${last} THEN 'DEAD' ELSE 'PENDING' END,
              dead_at = CASE WHEN ${last} THEN $3::timestamptz ELSE NULL END,
              next_attempt_at = CASE WHEN ${last} THEN NULL ELSE $3::timestamptz END,
              locked_by = NULL, locked_until = NULL, updated_at = $3,
              last_error_code = $4, last_error_message = $5,
              last_failure_code = $4, last_failure_message = $5, last_failure_at = $3
         FROM (SELECT id FROM push
                WHERE status = 'PROCESSING' AND locked_until < $3
                ORDER BY locked_until
                LIMIT $6
                FOR UPDATE SKIP LOCKED) AS expired
        WHERE p.id = expired.id
        RETURNING p.id, p.status`,
      [maxAttempts, horizonMs / 1000, now, PUSH_REASON.WORKER_LOST, WORKER_LOST_MESSAGE, limit],
    );
    return result.map((r) => ({ id: String(r.id), status: r.status as PushStatus }));
  }

  /** Records DELIVERED outcomes; returns the ids whose lease was still held (the others were not touched). */
  async markDelivered(workerId: string, items: readonly DeliveredOutcome[]): Promise<string[]> {
    return this.#mark('delivered', workerId, items);
  }

  /** Records retryable failures: back to PENDING at their backoff time. Returns the ids still held. */
  async markRetry(workerId: string, items: readonly RetryOutcome[]): Promise<string[]> {
    return this.#mark('retry', workerId, items);
  }

  /** Records dead letters. Returns the ids still held. */
  async markDead(workerId: string, items: readonly DeadOutcome[]): Promise<string[]> {
    return this.#mark('dead', workerId, items);
  }

  async #mark<K extends OutcomeKind>(kind: K, workerId: string, items: readonly OutcomeItems[K][]): Promise<string[]> {
    if (items.length === 0) return [];
    const m = MARK[kind];
    const result = await hotQuery(this.db, m.name, outcomeUpdateSql(kind), [m.recordset(items), workerId]);
    return result.map((r) => String(r.id));
  }

  /**
   * Records outcomes of one kind and, in the same statement, the webhook event of each push
   * written (fenced ids only) with its deliveries, up to `claim.limit` of them written already
   * claimed for the caller's dispatcher (ADR 0042). One prepared statement in autocommit: no
   * BEGIN/COMMIT round trips, no planning per batch (ADR 0043). The events are built from the
   * rows as this statement wrote them, exactly as `insertPushEventsClaiming` builds them in the
   * outcome's transaction.
   */
  async markWithEvents<K extends OutcomeKind>(
    kind: K,
    workerId: string,
    items: readonly OutcomeItems[K][],
    event: { type: string; at: Date; claim: WebhookInsertClaim | undefined },
  ): Promise<{ written: string[] } & PushEventsWritten> {
    if (items.length === 0) return { written: [], queued: 0, claimed: [], claimedIds: [] };
    const m = MARK[kind];
    const rows = await hotQuery(
      this.db,
      `${m.name}_events`,
      `WITH written AS (${m.sql} RETURNING p.*), ${pushEventCtes(3)}
       ${pushEventResults(3)}, (SELECT string_agg(w.id::text, ',') FROM written AS w) AS written`,
      [m.recordset(items), workerId, ...pushEventValues(event.type, event.at, event.claim)],
    );
    const written = rows[0]?.written;
    return { written: typeof written === 'string' && written !== '' ? written.split(',') : [], ...pushEventsOf(rows[0]) };
  }

  /** Gives pushes back (shutdown): PENDING, due now, the attempt not counted. Returns the ids still held. */
  async release(workerId: string, items: readonly ReleaseOutcome[]): Promise<string[]> {
    if (items.length === 0) return [];
    const result = await hotQuery(this.db, 'erpc_push_release', `UPDATE push AS p
          SET status = 'PENDING', locked_by = NULL, locked_until = NULL, attempts = p.attempts - 1,
              next_attempt_at = COALESCE(v.due_at, v.at), updated_at = v.at
         FROM jsonb_to_recordset($1::jsonb) AS v(id uuid, attempts int, at timestamptz, due_at timestamptz)
        WHERE p.id = v.id AND p.id = ANY (${ITEM_IDS}) AND (p.status = 'PROCESSING') IS TRUE AND p.locked_by = $2 AND p.attempts = v.attempts
        RETURNING p.id`,
      [recordset(items.map((o) => ({ id: o.id, attempts: o.attempts, at: o.at, due_at: o.dueAt ?? null }))), workerId],
    );
    return result.map((r) => String(r.id));
  }

  /**
   * Claims DELIVERED pushes whose acknowledgement check is due. The check is pushed forward by
   * the lease (so a checker that dies is replaced after it) and ack_checks + 1 is the fencing token.
   */
  async claimAckChecks(workerId: string, now: Date, leaseUntil: Date, limit: number): Promise<PushRow[]> {
    const result = await hotQuery(this.db, 'erpc_push_claim_ack_checks', `UPDATE push AS p
          SET locked_by = $1, locked_until = $2, next_ack_check_at = $3, ack_checks = p.ack_checks + 1, updated_at = $4
         FROM (SELECT id FROM push
                WHERE status = 'DELIVERED' AND next_ack_check_at <= $5
                ORDER BY next_ack_check_at
                LIMIT $6
                FOR UPDATE SKIP LOCKED) AS due
        WHERE p.id = due.id
        RETURNING p.*`,
      [workerId, leaseUntil, leaseUntil, now, now, limit],
    );
    return result.map(toRow);
  }

  /** Records acknowledgement-check outcomes. Returns the ids still held. */
  async recordAckOutcomes(workerId: string, items: readonly AckOutcome[]): Promise<string[]> {
    if (items.length === 0) return [];
    const result = await hotQuery(this.db, 'erpc_push_ack_outcomes', `UPDATE push AS p
          SET status = v.status,
              locked_by = NULL, locked_until = NULL,
              next_ack_check_at = v.next_ack_check_at,
              ack_details = COALESCE(v.details, p.ack_details),
              acknowledged_at = COALESCE(v.acknowledged_at, p.acknowledged_at),
              rejected_at = COALESCE(v.rejected_at, p.rejected_at),
              dead_at = COALESCE(v.dead_at, p.dead_at),
              last_error_code = COALESCE(v.code, p.last_error_code),
              last_error_message = COALESCE(v.message, p.last_error_message),
              last_failure_code = COALESCE(v.code, p.last_failure_code),
              last_failure_message = COALESCE(v.message, p.last_failure_message),
              last_failure_at = CASE WHEN v.code IS NULL THEN p.last_failure_at ELSE v.at END,
              updated_at = v.at
         FROM jsonb_to_recordset($1::jsonb) AS v(id uuid, ack_checks int, status text, next_ack_check_at timestamptz,
              details jsonb, acknowledged_at timestamptz, rejected_at timestamptz, dead_at timestamptz,
              code text, message text, at timestamptz)
        WHERE p.id = v.id AND p.id = ANY (${ITEM_IDS}) AND p.status = 'DELIVERED' AND p.locked_by = $2 AND p.ack_checks = v.ack_checks
        RETURNING p.id`,
      [
        recordset(
          items.map((o) => {
            const base = { id: o.id, ack_checks: o.ackChecks, at: o.at };
            switch (o.kind) {
              case 'acknowledged':
                return { ...base, status: 'ACKNOWLEDGED', details: o.details, acknowledged_at: o.at };
              case 'rejected':
                return { ...base, status: 'REJECTED', details: o.details, rejected_at: o.at, code: PUSH_REASON.REJECTED_BY_ERP, message: o.message };
              case 'pending':
                return { ...base, status: 'DELIVERED', next_ack_check_at: o.nextCheckAt, code: o.code, message: o.message, details: o.details };
              case 'dead':
                return { ...base, status: 'DEAD', dead_at: o.at, code: o.code, message: o.message };
            }
          }),
        ),
        workerId,
      ],
    );
    return result.map((r) => String(r.id));
  }
}
