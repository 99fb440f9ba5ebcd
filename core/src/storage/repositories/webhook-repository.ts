import type { Knex } from 'knex';
import { LEGACY_KEY_ID } from '../../crypto/index.js';
import { retryingTransaction } from '../errors.js';
import { ITEM_IDS, toBuffer, uuidArray, type KeysetCursor } from './rows.js';
import { hotQuery } from './hot-query.js';
import type { ConfigRewrite, KeyIdCount, RotationFilter, StoredConfigRow } from './connection-repository.js';

/** The channel webhook events are announced on (PostgreSQL); webhook dispatchers LISTEN to it. */
export const WEBHOOK_NOTIFY_CHANNEL = 'erpc_webhook';

/** A `webhook_endpoint` row. `secretEncrypted` never leaves the webhook service. */
export interface WebhookEndpointRow {
  id: string;
  orgId: string;
  url: string;
  description: string;
  events: string[];
  enabled: boolean;
  secretEncrypted: Buffer;
  secretKeyId: string;
  previousSecretExpiresAt: Date | null;
  disabledReason: string | null;
  disabledAt: Date | null;
  failingSince: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export type NewWebhookEndpoint = Omit<WebhookEndpointRow, 'previousSecretExpiresAt' | 'disabledReason' | 'disabledAt' | 'failingSince' | 'createdAt' | 'updatedAt'> & { now: Date };

/** What a PATCH (or a secret rotation) changes; `updated_at` is set with it. */
export interface WebhookEndpointPatch {
  url?: string | undefined;
  description?: string | undefined;
  events?: string[] | undefined;
  enabled?: boolean | undefined;
  /** Always with secretKeyId and previousSecretExpiresAt. */
  secret?: { encrypted: Buffer; keyId: string; previousExpiresAt: Date | null } | undefined;
  now: Date;
}

export type WebhookDeliveryStatus = 'PENDING' | 'PROCESSING' | 'DELIVERED' | 'FAILED';

/** A delivery (one event to one endpoint) with its event. */
export interface WebhookDeliveryRow {
  id: string;
  eventId: string;
  endpointId: string;
  orgId: string;
  pushId: string | null;
  type: string;
  status: WebhookDeliveryStatus;
  attempts: number;
  nextAttemptAt: Date | null;
  lastStatusCode: number | null;
  lastError: string | null;
  lastAttemptAt: Date | null;
  deliveredAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A claimed delivery with what sending it needs: the event, the endpoint, the push's payload. */
export interface ClaimedWebhookDelivery extends WebhookDeliveryRow {
  eventCreatedAt: Date;
  /** The event's stored data: for push events the push row's columns (payload aside). */
  data: Record<string, unknown>;
  /** The push's payload text (push events), read with the claim: payloads never change. */
  payloadText: string | null;
  payloadJson: unknown;
  endpoint: Pick<WebhookEndpointRow, 'id' | 'orgId' | 'url' | 'secretEncrypted' | 'secretKeyId' | 'previousSecretExpiresAt'>;
}

/** How one delivery attempt ended, fenced by (locked_by, attempts). */
export interface WebhookAttemptOutcome {
  id: string;
  endpointId: string;
  attempts: number;
  /** DELIVERED; PENDING again (a retry at nextAttemptAt); FAILED (no retry). */
  status: 'DELIVERED' | 'PENDING' | 'FAILED';
  nextAttemptAt: Date | null;
  statusCode: number | null;
  error: string | null;
  at: Date;
}

/** Deliveries written already claimed by the writing process's dispatcher (ADR 0042). */
export interface WebhookInsertClaim {
  readonly workerId: string;
  readonly leaseUntil: Date;
  /** At most this many are claimed; the rest are written PENDING. */
  readonly limit: number;
  /**
   * The deliveries written claimed come back as their ids alone: a dispatcher that holds them
   * while it gives way to a push backlog reads what sending needs when it sends them (ADR 0050
   * addendum), so the outcome statement does not build each one's body in the meantime.
   */
  readonly idsOnly?: boolean;
}

/** Events a webhook is sent for. */
export interface NewWebhookEvent {
  orgId: string;
  type: string;
  connectionId: string | null;
  data: Record<string, unknown>;
  at: Date;
}

type DbRow = Record<string, unknown>;

function rowsOf(result: unknown): DbRow[] {
  return ((result as { rows?: DbRow[] }).rows ?? []) as DbRow[];
}

const date = (v: unknown): Date | null => (v === null || v === undefined ? null : v instanceof Date ? v : new Date(String(v)));

function toEndpoint(r: DbRow): WebhookEndpointRow {
  return {
    id: String(r.id),
    orgId: String(r.org_id),
    url: String(r.url),
    description: String(r.description ?? ''),
    events: (r.events as string[]) ?? [],
    enabled: Boolean(r.enabled),
    secretEncrypted: toBuffer(r.secret_encrypted as Uint8Array),
    secretKeyId: String(r.secret_key_id),
    previousSecretExpiresAt: date(r.previous_secret_expires_at),
    disabledReason: (r.disabled_reason as string | null) ?? null,
    disabledAt: date(r.disabled_at),
    failingSince: date(r.failing_since),
    createdAt: date(r.created_at)!,
    updatedAt: date(r.updated_at)!,
  };
}

function toDelivery(r: DbRow): WebhookDeliveryRow {
  return {
    id: String(r.id),
    eventId: String(r.event_id),
    endpointId: String(r.endpoint_id),
    orgId: String(r.org_id),
    pushId: (r.push_id as string | null) ?? null,
    type: String(r.type),
    status: r.status as WebhookDeliveryStatus,
    attempts: Number(r.attempts),
    nextAttemptAt: date(r.next_attempt_at),
    lastStatusCode: r.last_status_code === null || r.last_status_code === undefined ? null : Number(r.last_status_code),
    lastError: (r.last_error as string | null) ?? null,
    lastAttemptAt: date(r.last_attempt_at),
    deliveredAt: date(r.delivered_at),
    createdAt: date(r.created_at)!,
    updatedAt: date(r.updated_at)!,
  };
}

/** A claimed delivery row, read with its event, endpoint and push columns (e_*, p_*). */
function claimedOf(r: DbRow): ClaimedWebhookDelivery {
  return {
    ...toDelivery(r),
    eventCreatedAt: date(r.event_created_at)!,
    data: (r.event_data as Record<string, unknown>) ?? {},
    payloadText: (r.p_payload_text as string | null | undefined) ?? null,
    payloadJson: r.p_payload ?? null,
    endpoint: {
      id: String(r.endpoint_id),
      orgId: String(r.org_id),
      url: String(r.e_url),
      secretEncrypted: toBuffer(r.e_secret_encrypted as Uint8Array),
      secretKeyId: String(r.e_secret_key_id),
      previousSecretExpiresAt: date(r.e_previous_secret_expires_at),
    },
  };
}

/**
 * The dispatcher's own statements (claims, attempt outcomes) commit asynchronously
 * (`synchronous_commit = off` for that statement's transaction alone): a crash may lose the last
 * few hundred milliseconds of them, which only means a delivery is sent again with the same
 * webhook-id, as after any lost lease. They no longer wait for a WAL flush (ADR 0036). Push
 * outcomes and their events keep synchronous commits.
 */
const ASYNC_COMMIT = `async_commit AS (SELECT set_config('synchronous_commit', 'off', true) AS was)`;

const DELIVERY_COLUMNS = `d.id, d.event_id, d.endpoint_id, d.org_id, d.push_id, ev.type, d.status, d.attempts, d.next_attempt_at,
  d.last_status_code, d.last_error, d.last_attempt_at, d.delivered_at, d.created_at, d.updated_at`;

/**
 * What sending a delivery `d` needs ({@link claimedOf}): its columns, its event's, its endpoint's
 * and its push's payload, from `d` joined with {@link CLAIMED_JOINS}.
 */
const CLAIMED_COLUMNS = `${DELIVERY_COLUMNS},
  ev.created_at AS event_created_at, ev.data AS event_data,
  e.url AS e_url, e.secret_encrypted AS e_secret_encrypted, e.secret_key_id AS e_secret_key_id,
  e.previous_secret_expires_at AS e_previous_secret_expires_at,
  p.payload_text AS p_payload_text, p.payload AS p_payload`;
const CLAIMED_JOINS = `JOIN webhook_event AS ev ON ev.id = d.event_id
  JOIN webhook_endpoint AS e ON e.id = d.endpoint_id
  LEFT JOIN push AS p ON p.id = d.push_id`;

/**
 * The webhook events of push outcomes, as CTEs that follow a CTE named `written` holding the
 * push rows as the outcome left them (`push.*`): one `type` event per push that an enabled
 * endpoint of its organisation subscribes to, with one delivery per such endpoint, up to a limit
 * of them written already claimed (ADR 0042; only where no earlier event of the same push is
 * still waiting for the same endpoint, the per-endpoint order of ADR 0035). The event's data is
 * the push row, payload aside (read when sending: it never changes). Five parameters from
 * `$first`, in the order of {@link pushEventValues}. Shared by the outcome's own statement
 * (`PushRepository.markWithEvents`, ADR 0043) and `insertPushEventsClaiming`.
 */
export function pushEventCtes(first: number): string {
  const [type, at, limit, worker, lease] = [0, 1, 2, 3, 4].map((i) => `$${first + i}`);
  return `targets AS (
         SELECT w.id AS push_id, w.org_id, e.id AS endpoint_id, to_jsonb(w) - 'payload' - 'payload_text' AS data,
                w.payload_text, CASE WHEN w.payload_text IS NULL THEN w.payload END AS payload
           FROM written AS w JOIN webhook_endpoint AS e ON e.org_id = w.org_id AND e.enabled AND ${type}::text = ANY (e.events)),
       ev AS (
         INSERT INTO webhook_event (id, org_id, type, push_id, data, created_at)
         SELECT gen_random_uuid(), t.org_id, ${type}::text, t.push_id, t.data, ${at}::timestamptz
           FROM (SELECT DISTINCT ON (push_id) push_id, org_id, data FROM targets ORDER BY push_id) AS t
         RETURNING id, seq, org_id, push_id, created_at),
       free AS (
         SELECT ev.id AS event_id, ev.seq, ev.org_id, ev.push_id, ev.created_at AS event_created_at, t.endpoint_id, t.data,
                t.payload_text, t.payload,
                CASE WHEN ${limit}::int > 0
                     THEN NOT EXISTS (SELECT 1 FROM webhook_delivery AS b
                                       WHERE b.endpoint_id = t.endpoint_id AND b.push_id = ev.push_id AND b.status IN ('PENDING', 'PROCESSING'))
                     ELSE false END AS free
           FROM ev JOIN targets AS t ON t.push_id = ev.push_id),
       placed AS (
         SELECT f.*, f.free AND row_number() OVER (PARTITION BY f.free ORDER BY f.seq, f.endpoint_id) <= ${limit}::int AS claimed FROM free AS f),
       d AS (
         INSERT INTO webhook_delivery (id, event_id, endpoint_id, org_id, event_seq, push_id, status, attempts, next_attempt_at,
                                       locked_by, locked_until, last_attempt_at, created_at, updated_at)
         SELECT gen_random_uuid(), r.event_id, r.endpoint_id, r.org_id, r.seq, r.push_id,
                CASE WHEN r.claimed THEN 'PROCESSING' ELSE 'PENDING' END, CASE WHEN r.claimed THEN 1 ELSE 0 END, ${at}::timestamptz,
                CASE WHEN r.claimed THEN ${worker}::text END, CASE WHEN r.claimed THEN ${lease}::timestamptz END,
                CASE WHEN r.claimed THEN ${at}::timestamptz END, ${at}::timestamptz, ${at}::timestamptz
           FROM placed AS r
         RETURNING *)`;
}

/** The values of {@link pushEventCtes}' parameters. */
export function pushEventValues(type: string, at: Date, claim: WebhookInsertClaim | undefined): unknown[] {
  const limit = claim === undefined ? 0 : Math.max(0, Math.floor(claim.limit));
  return [type, at, limit, claim?.workerId ?? null, claim?.leaseUntil ?? null, claim?.idsOnly === true];
}

/**
 * The result after {@link pushEventCtes} (`first`: the same first parameter): ONE row, `queued`
 * (the deliveries written) and `claimed`, the deliveries written claimed with what sending them
 * needs, as one JSON text (one parse for the lot instead of two dozen typed columns a delivery,
 * ADR 0043), or only their ids for a claim with `idsOnly`. A statement may add columns of its own
 * after it (`, … AS name`).
 */
export function pushEventResults(first: number): string {
  return `SELECT (SELECT count(*) FROM d)::int AS queued,
              (SELECT json_agg(CASE WHEN $${first + 5}::boolean THEN to_json(d.id) ELSE json_build_object(
                 'id', d.id, 'event_id', d.event_id, 'endpoint_id', d.endpoint_id, 'org_id', d.org_id, 'push_id', d.push_id,
                 'type', $${first}::text, 'status', d.status, 'attempts', d.attempts, 'next_attempt_at', d.next_attempt_at,
                 'last_status_code', d.last_status_code, 'last_error', d.last_error, 'last_attempt_at', d.last_attempt_at,
                 'delivered_at', d.delivered_at, 'created_at', d.created_at, 'updated_at', d.updated_at,
                 'event_created_at', r.event_created_at, 'event_data', r.data,
                 'e_url', e.url, 'e_secret_hex', encode(e.secret_encrypted, 'hex'), 'e_secret_key_id', e.secret_key_id,
                 'e_previous_secret_expires_at', e.previous_secret_expires_at,
                 'p_payload_text', r.payload_text, 'p_payload', r.payload) END)
                 FROM d
                 JOIN placed AS r ON r.event_id = d.event_id AND r.endpoint_id = d.endpoint_id AND r.claimed
                 JOIN webhook_endpoint AS e ON e.id = d.endpoint_id)::text AS claimed`;
}

/** What an outcome statement wrote for webhooks: deliveries queued, and those written claimed. */
export interface PushEventsWritten {
  /** Deliveries written (claimed or not). */
  queued: number;
  /** Written claimed, with what sending needs. */
  claimed: ClaimedWebhookDelivery[];
  /** Written claimed for a claim with `idsOnly`: their ids. */
  claimedIds: string[];
}

/** The deliveries written and those written claimed, from the row of {@link pushEventResults}. */
export function pushEventsOf(row: DbRow | undefined): PushEventsWritten {
  if (row === undefined) return { queued: 0, claimed: [], claimedIds: [] };
  const claimed: ClaimedWebhookDelivery[] = [];
  const claimedIds: string[] = [];
  if (typeof row.claimed === 'string') {
    for (const r of JSON.parse(row.claimed) as (DbRow | string)[]) {
      if (typeof r === 'string') {
        claimedIds.push(r);
        continue;
      }
      r.e_secret_encrypted = Buffer.from(String(r.e_secret_hex), 'hex');
      claimed.push(claimedOf(r));
    }
  }
  return { queued: Number(row.queued ?? 0), claimed, claimedIds };
}

/**
 * SQL of the webhook tables: endpoints, the event outbox and the deliveries (ADR 0035). The
 * event writes run inside the caller's transaction: bound to it through
 * {@link Repositories.transaction}, the same handle the push outcome is written with.
 */
export class WebhookRepository {
  constructor(private readonly db: Knex) {}

  transaction<T>(fn: (tx: WebhookRepository) => Promise<T>): Promise<T> {
    return retryingTransaction(this.db, (trx) => fn(new WebhookRepository(trx)));
  }

  // --- endpoints ---

  async createEndpoint(e: NewWebhookEndpoint): Promise<WebhookEndpointRow> {
    const rows = await this.db('webhook_endpoint')
      .insert({
        id: e.id, org_id: e.orgId, url: e.url, description: e.description, events: e.events, enabled: e.enabled,
        secret_encrypted: e.secretEncrypted, secret_key_id: e.secretKeyId, created_at: e.now, updated_at: e.now,
      })
      .returning('*');
    return toEndpoint(rows[0] as DbRow);
  }

  async findEndpoint(orgId: string, id: string): Promise<WebhookEndpointRow | undefined> {
    const row = await this.db('webhook_endpoint').where({ org_id: orgId, id }).first();
    return row === undefined ? undefined : toEndpoint(row as DbRow);
  }

  /** Oldest first, by (created_at, id), strictly after `after`. */
  async listEndpoints(orgId: string, limit: number, after?: KeysetCursor): Promise<WebhookEndpointRow[]> {
    const q = this.db('webhook_endpoint').where('org_id', orgId);
    if (after !== undefined) q.whereRaw('(created_at, id) > (?, ?)', [after.createdAt, after.id]);
    const rows = (await q.orderBy([{ column: 'created_at' }, { column: 'id' }]).limit(limit + 1)) as DbRow[];
    return rows.map(toEndpoint);
  }

  async updateEndpoint(orgId: string, id: string, p: WebhookEndpointPatch): Promise<WebhookEndpointRow | undefined> {
    const set: Record<string, unknown> = { updated_at: p.now };
    if (p.url !== undefined) set.url = p.url;
    if (p.description !== undefined) set.description = p.description;
    if (p.events !== undefined) set.events = p.events;
    if (p.enabled !== undefined) {
      set.enabled = p.enabled;
      // Enabled again by a person: the failure history that disabled it starts over.
      if (p.enabled) Object.assign(set, { disabled_reason: null, disabled_at: null, failing_since: null });
    }
    if (p.secret !== undefined) {
      Object.assign(set, { secret_encrypted: p.secret.encrypted, secret_key_id: p.secret.keyId, previous_secret_expires_at: p.secret.previousExpiresAt });
    }
    const rows = (await this.db('webhook_endpoint').where({ org_id: orgId, id }).update(set).returning('*')) as DbRow[];
    return rows[0] === undefined ? undefined : toEndpoint(rows[0]);
  }

  /** Locks the endpoint row for a read-modify-write (secret rotation); needs a transaction. */
  async findEndpointForUpdate(orgId: string, id: string): Promise<WebhookEndpointRow | undefined> {
    const row = await this.db('webhook_endpoint').where({ org_id: orgId, id }).forUpdate().first();
    return row === undefined ? undefined : toEndpoint(row as DbRow);
  }

  async deleteEndpoint(orgId: string, id: string): Promise<boolean> {
    const rows = (await this.db('webhook_endpoint').where({ org_id: orgId, id }).delete().returning('id')) as unknown[];
    return rows.length > 0;
  }

  // --- the event outbox (inside the caller's transaction) ---

  /**
   * Writes one `type` event per push in `pushIds` that an enabled endpoint of its organisation
   * subscribes to, with one delivery per such endpoint, in ONE statement. The event's data is
   * the push row as it is now (this transaction just wrote the outcome), payload aside (read
   * when sending: it never changes). For an organisation without such an endpoint the join
   * finds nothing and nothing is written (ADR 0035: what that costs). Returns the deliveries made.
   * No NOTIFY: outcomes are written by workers, and every worker process runs a dispatcher its
   * writer wakes directly; a NOTIFY would serialise these commits with every other notifying
   * commit (PostgreSQL takes one global lock for it) for nothing (ADR 0036).
   */
  async insertPushEvents(type: string, pushIds: readonly string[], at: Date): Promise<number> {
    return (await this.insertPushEventsClaiming(type, pushIds, at, undefined)).queued;
  }

  /**
   * {@link insertPushEvents}, and up to `claim.limit` of the deliveries are written already
   * claimed by `claim.workerId` (PROCESSING, attempt 1, leased until `claim.leaseUntil`) and
   * returned with what sending them needs, so the dispatcher of the writing process sends them
   * at once, without a claim round trip or a second update (ADR 0042). A delivery is claimed
   * only where no earlier event of the same push is still waiting for the same endpoint (the
   * per-endpoint order the claim query keeps, ADR 0035); the others are written PENDING, as
   * without a claim. The claim is part of the outcome's transaction: rolled back with it.
   */
  async insertPushEventsClaiming(
    type: string,
    pushIds: readonly string[],
    at: Date,
    claim: WebhookInsertClaim | undefined,
  ): Promise<PushEventsWritten> {
    if (pushIds.length === 0) return { queued: 0, claimed: [], claimedIds: [] };
    const rows = await hotQuery(
      this.db,
      'erpc_webhook_push_events',
      `WITH written AS (SELECT * FROM push WHERE id = ANY ($1::uuid[])), ${pushEventCtes(2)}
       ${pushEventResults(2)}`,
      [uuidArray(pushIds), ...pushEventValues(type, at, claim)],
    );
    return pushEventsOf(rows[0]);
  }

  /** One event not tied to a push (connection.test_failed), to every enabled endpoint of the org subscribed to it. */
  async insertEvent(e: NewWebhookEvent): Promise<number> {
    const result = await this.db.raw(
      `WITH targets AS (
         SELECT id AS endpoint_id FROM webhook_endpoint WHERE org_id = ? AND enabled AND ? = ANY (events)),
       ev AS (
         INSERT INTO webhook_event (id, org_id, type, connection_id, data, created_at)
         SELECT gen_random_uuid(), ?, ?, ?, ?::jsonb, ?::timestamptz WHERE EXISTS (SELECT 1 FROM targets)
         RETURNING id, seq, org_id),
       d AS (
         INSERT INTO webhook_delivery (id, event_id, endpoint_id, org_id, event_seq, push_id, status, attempts, next_attempt_at, created_at, updated_at)
         SELECT gen_random_uuid(), ev.id, t.endpoint_id, ev.org_id, ev.seq, NULL, 'PENDING', 0, ?::timestamptz, ?::timestamptz, ?::timestamptz
           FROM ev CROSS JOIN targets AS t
         RETURNING 1)
       -- NOTIFY (at commit) only when something was queued: one statement, no extra round trip.
       SELECT count(*) AS n, (SELECT pg_notify('${WEBHOOK_NOTIFY_CHANNEL}', '') FROM (SELECT 1 FROM d LIMIT 1) AS queued) IS NULL AS silent FROM d`,
      [e.orgId, e.type, e.orgId, e.type, e.connectionId, JSON.stringify(e.data), e.at, e.at, e.at, e.at],
    );
    return Number(rowsOf(result)[0]?.n ?? 0);
  }

  /** Wakes LISTENing dispatchers when the surrounding transaction commits. */
  async notify(): Promise<void> {
    await this.db.raw('SELECT pg_notify(?, ?)', [WEBHOOK_NOTIFY_CHANNEL, '']);
  }

  // --- deliveries ---

  /**
   * Claims due deliveries of enabled endpoints: PROCESSING, leased, attempts + 1 (the fencing
   * token). A delivery of a push event waits while an earlier event of the same push to the
   * same endpoint is still PENDING or PROCESSING (per-endpoint order, ADR 0035). `dueBefore`
   * (default `now`) is earlier while the dispatcher gives way to a push backlog (ADR 0050).
   */
  async claimDue(workerId: string, now: Date, leaseUntil: Date, limit: number, dueBefore: Date = now): Promise<ClaimedWebhookDelivery[]> {
    const result = await this.db.raw(
      `WITH ${ASYNC_COMMIT}, claimed AS (
         UPDATE webhook_delivery AS d
            SET status = 'PROCESSING', locked_by = ?, locked_until = ?, attempts = d.attempts + 1, last_attempt_at = ?, updated_at = ?
           FROM (SELECT q.id FROM webhook_delivery AS q
                   JOIN webhook_endpoint AS e ON e.id = q.endpoint_id AND e.enabled
                  WHERE q.status = 'PENDING' AND q.next_attempt_at <= ?
                    AND (q.push_id IS NULL OR NOT EXISTS (
                          SELECT 1 FROM webhook_delivery AS b
                           WHERE b.endpoint_id = q.endpoint_id AND b.push_id = q.push_id AND b.event_seq < q.event_seq
                             AND b.status IN ('PENDING', 'PROCESSING')))
                  ORDER BY q.next_attempt_at
                  LIMIT ?
                  FOR UPDATE OF q SKIP LOCKED) AS due
          WHERE d.id = due.id
          RETURNING d.*)
       SELECT ${CLAIMED_COLUMNS}
         FROM claimed AS d
         CROSS JOIN async_commit
         ${CLAIMED_JOINS}`,
      [workerId, leaseUntil, now, now, dueBefore, limit],
    );
    return rowsOf(result).map(claimedOf);
  }

  /**
   * What sending needs of deliveries this worker holds claimed (written claimed with `idsOnly`),
   * read when they are sent. Only those still PROCESSING under this worker's lease; a delivery
   * of an endpoint disabled meanwhile is left out (its lease then runs out, and the claim skips
   * disabled endpoints).
   */
  async loadClaimed(workerId: string, ids: readonly string[]): Promise<ClaimedWebhookDelivery[]> {
    if (ids.length === 0) return [];
    const rows = await hotQuery(
      this.db,
      'erpc_webhook_load_claimed',
      `SELECT ${CLAIMED_COLUMNS}
         FROM webhook_delivery AS d
         ${CLAIMED_JOINS}
        WHERE d.id = ANY ($1::uuid[]) AND d.status = 'PROCESSING' AND d.locked_by = $2 AND e.enabled`,
      [uuidArray(ids), workerId],
    );
    return rows.map(claimedOf);
  }

  /** Deliveries whose worker died or hung (lease expired): PENDING again, due now. They are sent again, same webhook-id. */
  async requeueExpiredLeases(now: Date, limit: number): Promise<number> {
    const result = await this.db.raw(
      `UPDATE webhook_delivery AS d
          SET status = 'PENDING', locked_by = NULL, locked_until = NULL, next_attempt_at = ?, updated_at = ?,
              last_error = 'The worker sending this webhook stopped (or hung) before recording an outcome; the lease expired.'
         FROM (SELECT id FROM webhook_delivery WHERE status = 'PROCESSING' AND locked_until < ?
                ORDER BY locked_until LIMIT ? FOR UPDATE SKIP LOCKED) AS expired
        WHERE d.id = expired.id
        RETURNING d.id`,
      [now, now, now, limit],
    );
    return rowsOf(result).length;
  }

  /**
   * Records attempt outcomes (fenced by locked_by and attempts) and, in the same statement, the
   * endpoints' failure streaks: a success ends its endpoint's streak, a failure starts one if none
   * is running, and an endpoint failing since `disableBefore` or earlier is disabled with
   * `reason`. One statement: atomic without BEGIN/COMMIT round trips. Returns the delivery ids
   * still held and the endpoints this call disabled.
   */
  async recordAttempts(
    workerId: string,
    items: readonly WebhookAttemptOutcome[],
    health: { succeeded: readonly string[]; failed: readonly string[]; disableBefore: Date; reason: string },
  ): Promise<{ written: string[]; disabled: { id: string; orgId: string }[]; successorsWaiting: boolean }> {
    if (items.length === 0) return { written: [], disabled: [], successorsWaiting: false };
    const at = items[items.length - 1]!.at;
    // Prepared (hotQuery): one plan per connection instead of one per batch. `(… = 'PROCESSING') IS
    // TRUE` and `d.id = ANY (…)` keep the planner on the primary key, off the lease index's dead
    // entries and off a sequential scan (push-repository.ts, MARK; ADR 0043).
    const rows = await hotQuery(
      this.db,
      'erpc_webhook_record_attempts',
      `WITH ${ASYNC_COMMIT}, written AS (
         UPDATE webhook_delivery AS d
            SET status = v.status, locked_by = NULL, locked_until = NULL, next_attempt_at = v.next_attempt_at,
                last_status_code = v.status_code, last_error = v.error, updated_at = v.at,
                delivered_at = CASE WHEN v.status = 'DELIVERED' THEN v.at ELSE d.delivered_at END
           FROM jsonb_to_recordset($1::jsonb) AS v(id uuid, attempts int, status text, next_attempt_at timestamptz, status_code int, error text, at timestamptz)
          WHERE d.id = v.id AND d.id = ANY (${ITEM_IDS})
            AND (d.status = 'PROCESSING') IS TRUE AND d.locked_by = $2 AND d.attempts = v.attempts
          RETURNING d.id, d.endpoint_id, d.push_id),
       -- A later event of the same push waiting for the same endpoint: the dispatcher claims again at once.
       -- One probe of the order index per written delivery (LATERAL … LIMIT 1; push_id IS NOT NULL
       -- so that index's predicate holds): as a join it was planned as a sequential scan of the
       -- whole table on every call (ADR 0043).
       waiting AS (
         SELECT 1 FROM written AS w
          CROSS JOIN LATERAL (SELECT 1 FROM webhook_delivery AS n
                               WHERE n.endpoint_id = w.endpoint_id AND n.push_id = w.push_id AND n.push_id IS NOT NULL
                                 AND n.status = 'PENDING' AND n.id <> w.id LIMIT 1) AS next
          LIMIT 1),
       recovered AS (
         UPDATE webhook_endpoint SET failing_since = NULL WHERE id = ANY ($3::uuid[]) AND failing_since IS NOT NULL RETURNING id),
       failing AS (
         UPDATE webhook_endpoint AS w
            SET failing_since = COALESCE(w.failing_since, $4::timestamptz),
                enabled = w.enabled AND COALESCE(w.failing_since, $4::timestamptz) > $5::timestamptz,
                disabled_at = CASE WHEN w.enabled AND COALESCE(w.failing_since, $4::timestamptz) <= $5::timestamptz THEN $4::timestamptz ELSE w.disabled_at END,
                disabled_reason = CASE WHEN w.enabled AND COALESCE(w.failing_since, $4::timestamptz) <= $5::timestamptz THEN $6::text ELSE w.disabled_reason END
           FROM (SELECT id, enabled AS was_enabled FROM webhook_endpoint WHERE id = ANY ($7::uuid[])) AS before
          WHERE w.id = before.id AND (w.failing_since IS NULL OR (w.enabled AND w.failing_since <= $5::timestamptz))
          RETURNING w.id, w.org_id, before.was_enabled AND NOT w.enabled AS disabled_now)
       SELECT 'written' AS kind, id, NULL::uuid AS org_id FROM written CROSS JOIN async_commit
       UNION ALL SELECT 'disabled', id, org_id FROM failing WHERE disabled_now
       UNION ALL SELECT 'recovered', id, NULL FROM recovered
       UNION ALL SELECT 'waiting', NULL, NULL FROM waiting`,
      [
        JSON.stringify(items.map((o) => ({ id: o.id, attempts: o.attempts, status: o.status, next_attempt_at: o.nextAttemptAt, status_code: o.statusCode, error: o.error, at: o.at }))),
        workerId,
        uuidArray(health.succeeded),
        at,
        health.disableBefore,
        health.reason,
        uuidArray(health.failed),
      ],
    );
    return {
      written: rows.filter((r) => r.kind === 'written').map((r) => String(r.id)),
      disabled: rows.filter((r) => r.kind === 'disabled').map((r) => ({ id: String(r.id), orgId: String(r.org_id) })),
      successorsWaiting: rows.some((r) => r.kind === 'waiting'),
    };
  }

  /** An endpoint's deliveries, newest first (keyset on created_at, id). */
  async listDeliveries(orgId: string, endpointId: string, q: { status?: WebhookDeliveryStatus | undefined; limit: number; after?: KeysetCursor | undefined }): Promise<WebhookDeliveryRow[]> {
    const params: unknown[] = [orgId, endpointId];
    let where = 'd.org_id = ? AND d.endpoint_id = ?';
    if (q.status !== undefined) (where += ' AND d.status = ?'), params.push(q.status);
    if (q.after !== undefined) (where += ' AND (d.created_at, d.id) < (?, ?)'), params.push(q.after.createdAt, q.after.id);
    params.push(q.limit + 1);
    const result = await this.db.raw(
      `SELECT ${DELIVERY_COLUMNS} FROM webhook_delivery AS d JOIN webhook_event AS ev ON ev.id = d.event_id
        WHERE ${where} ORDER BY d.created_at DESC, d.id DESC LIMIT ?`,
      params as Knex.RawBinding[],
    );
    return rowsOf(result).map(toDelivery);
  }

  /** Deliveries across organisations for operators (`erpc webhooks list`), newest first. */
  async listDeliveriesForOperator(q: { orgId?: string | undefined; status?: WebhookDeliveryStatus | undefined; limit: number }): Promise<(WebhookDeliveryRow & { url: string })[]> {
    const params: unknown[] = [];
    const parts: string[] = ['true'];
    if (q.orgId !== undefined) (parts.push('d.org_id = ?'), params.push(q.orgId));
    if (q.status !== undefined) (parts.push('d.status = ?'), params.push(q.status));
    params.push(q.limit);
    const result = await this.db.raw(
      `SELECT ${DELIVERY_COLUMNS}, e.url FROM webhook_delivery AS d JOIN webhook_event AS ev ON ev.id = d.event_id
         JOIN webhook_endpoint AS e ON e.id = d.endpoint_id
        WHERE ${parts.join(' AND ')} ORDER BY d.created_at DESC, d.id DESC LIMIT ?`,
      params as Knex.RawBinding[],
    );
    return rowsOf(result).map((r) => ({ ...toDelivery(r), url: String(r.url) }));
  }

  /** Whether the event exists (of `orgId`, or of any organisation when orgId is undefined). */
  async findEvent(orgId: string | undefined, eventId: string): Promise<{ id: string; orgId: string; type: string } | undefined> {
    const q = this.db('webhook_event').select('id', 'org_id', 'type').where({ id: eventId });
    if (orgId !== undefined) q.where({ org_id: orgId });
    const row = (await q.first()) as DbRow | undefined;
    return row === undefined ? undefined : { id: String(row.id), orgId: String(row.org_id), type: String(row.type) };
  }

  /**
   * Sends an event again: its deliveries (except one being sent right now) PENDING, due now,
   * attempts from zero. Same event, so the same `webhook-id`. Returns the deliveries requeued.
   */
  async replayEvent(orgId: string, eventId: string, now: Date): Promise<WebhookDeliveryRow[]> {
    const result = await this.db.raw(
      `WITH r AS (
         UPDATE webhook_delivery AS d SET status = 'PENDING', attempts = 0, next_attempt_at = ?, locked_by = NULL, locked_until = NULL, updated_at = ?
          WHERE d.org_id = ? AND d.event_id = ? AND d.status <> 'PROCESSING'
          RETURNING d.*)
       SELECT ${DELIVERY_COLUMNS} FROM r AS d JOIN webhook_event AS ev ON ev.id = d.event_id`,
      [now, now, orgId, eventId],
    );
    const rows = rowsOf(result).map(toDelivery);
    if (rows.length > 0) await this.notify();
    return rows;
  }

  /** Counts for the metrics scrape: deliveries waiting and failed for good. */
  async queueDepth(): Promise<{ pending: number; failed: number }> {
    const result = await this.db.raw(`SELECT (SELECT count(*) FROM webhook_delivery WHERE status = 'PENDING') AS pending,
      (SELECT count(*) FROM webhook_delivery WHERE status = 'FAILED') AS failed`);
    const r = rowsOf(result)[0] ?? {};
    return { pending: Number(r.pending ?? 0), failed: Number(r.failed ?? 0) };
  }
}

/**
 * The signing secrets as `erpc keys rotate` walks them: the KeyStore shape of
 * ConnectionRepository's rotation methods, over `webhook_endpoint` (ADR 0035).
 */
export class WebhookSecretKeyStore {
  constructor(private readonly db: Knex) {}

  transaction<T>(fn: (tx: WebhookSecretKeyStore) => Promise<T>): Promise<T> {
    return retryingTransaction(this.db, (trx) => fn(new WebhookSecretKeyStore(trx)));
  }

  #rotatable(f: RotationFilter): Knex.QueryBuilder {
    const q = this.db('webhook_endpoint').whereNot('secret_key_id', f.activeKeyId).whereIn('secret_key_id', [...f.keyIds]);
    if (f.excludeIds.length > 0) q.whereNotIn('id', [...f.excludeIds]);
    return q;
  }

  async keyIdCounts(): Promise<KeyIdCount[]> {
    const rows = (await this.db('webhook_endpoint').select('secret_key_id').count({ rows: '*' }).groupBy('secret_key_id').orderBy('secret_key_id')) as { secret_key_id: string; rows: string | number }[];
    return rows.map((r) => ({ keyId: r.secret_key_id, rows: Number(r.rows) }));
  }

  async countRotatable(filter: RotationFilter): Promise<number> {
    const row = (await this.#rotatable(filter).count({ n: '*' }).first()) as { n: string | number } | undefined;
    return Number(row?.n ?? 0);
  }

  async claimForRotation(filter: RotationFilter, afterId: string | null, limit: number): Promise<StoredConfigRow[]> {
    const q = this.#rotatable(filter).select('id', 'org_id', 'secret_key_id', 'secret_encrypted');
    if (afterId !== null) q.where('id', '>', afterId);
    return ((await q.orderBy('id').limit(limit).forUpdate().skipLocked()) as DbRow[]).map(toStoredSecret);
  }

  async scanForRotation(filter: RotationFilter, afterId: string | null, limit: number): Promise<StoredConfigRow[]> {
    const q = this.#rotatable(filter).select('id', 'org_id', 'secret_key_id', 'secret_encrypted').orderBy('id').limit(limit);
    if (afterId !== null) q.where('id', '>', afterId);
    return ((await q) as DbRow[]).map(toStoredSecret);
  }

  async idsUnderKeys(keyIds: readonly string[]): Promise<{ id: string; keyId: string }[]> {
    if (keyIds.length === 0) return [];
    const rows = (await this.db('webhook_endpoint').select('id', 'secret_key_id').whereIn('secret_key_id', [...keyIds]).orderBy('id')) as DbRow[];
    return rows.map((r) => ({ id: String(r.id), keyId: String(r.secret_key_id) }));
  }

  /** Webhook secrets are never in the legacy format. */
  async firstLegacyRow(): Promise<StoredConfigRow | undefined> {
    const row = (await this.db('webhook_endpoint').select('id', 'org_id', 'secret_key_id', 'secret_encrypted').where('secret_key_id', LEGACY_KEY_ID).first()) as DbRow | undefined;
    return row === undefined ? undefined : toStoredSecret(row);
  }

  async rewriteConfigs(newKeyId: string, rewrites: readonly ConfigRewrite[]): Promise<string[]> {
    if (rewrites.length === 0) return [];
    const values = rewrites.map(() => '(?::uuid, ?::bytea, ?::text)').join(', ');
    const bindings: unknown[] = [newKeyId];
    for (const r of rewrites) bindings.push(r.id, r.blob, r.expectedKeyId);
    const result = await this.db.raw(
      `UPDATE webhook_endpoint AS w SET secret_encrypted = v.blob, secret_key_id = ?
         FROM (VALUES ${values}) AS v (id, blob, expected_key_id)
        WHERE w.id = v.id AND w.secret_key_id = v.expected_key_id
        RETURNING w.id`,
      bindings as Knex.RawBinding[],
    );
    return rowsOf(result).map((r) => String(r.id));
  }
}

function toStoredSecret(r: DbRow): StoredConfigRow {
  return { id: String(r.id), orgId: String(r.org_id), keyId: String(r.secret_key_id), blob: r.secret_encrypted as Uint8Array };
}
