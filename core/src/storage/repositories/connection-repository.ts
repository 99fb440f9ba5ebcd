import type { Knex } from 'knex';
import { inTransaction, isUuid, toBuffer, toDate, toDateOrNull, type PageOptions } from './rows.js';

/** Status of an ERP connection: at most one ACTIVE per organisation. */
export type ConnectionStatus = 'ACTIVE' | 'DISABLED';

/**
 * An `erp_connection` row for the service layer. `configEncrypted` never leaves the service
 * layer: no log line, response or error message may carry it.
 */
export interface ConnectionRow {
  id: string;
  orgId: string;
  connectorType: string;
  name: string;
  status: ConnectionStatus;
  configEncrypted: Buffer;
  /** The key id of the ciphertext's key, or 'legacy' for the original Python format. */
  configKeyId: string;
  createdAt: Date;
  updatedAt: Date;
  activatedAt: Date | null;
  disabledAt: Date | null;
  lastTestAt: Date | null;
  lastTestOk: boolean | null;
  lastTestLatencyMs: number | null;
  lastTestMessage: string | null;
}

/** What a new row needs. The id is made by the caller: the ciphertext is bound to it. */
export interface NewConnection {
  id: string;
  orgId: string;
  connectorType: string;
  name: string;
  configEncrypted: Uint8Array;
  configKeyId: string;
  /** Default DISABLED. ACTIVE while the org has another ACTIVE row is a unique violation (23505). */
  status?: ConnectionStatus;
  now?: Date;
}

/** Columns a PATCH may change; `updated_at` is set with them. */
export interface ConnectionPatch {
  name?: string | undefined;
  status?: ConnectionStatus | undefined;
  /** Always together with `configKeyId`: the pair names the ciphertext's format and key. */
  configEncrypted?: Uint8Array | undefined;
  configKeyId?: string | undefined;
  now?: Date | undefined;
}

/** The outcome of a connection test, as stored on the row. */
export interface TestOutcome {
  at: Date;
  ok: boolean;
  latencyMs: number;
  message: string | null;
}

interface DbConnection {
  id: string;
  org_id: string;
  connector_type: string;
  name: string;
  status: ConnectionStatus;
  config_encrypted: Uint8Array;
  config_key_id: string;
  created_at: Date | string;
  updated_at: Date | string;
  activated_at: Date | string | null;
  disabled_at: Date | string | null;
  last_test_at: Date | string | null;
  last_test_ok: boolean | null;
  last_test_latency_ms: number | null;
  last_test_message: string | null;
}

function toRow(r: DbConnection): ConnectionRow {
  return {
    id: r.id,
    orgId: r.org_id,
    connectorType: r.connector_type,
    name: r.name,
    status: r.status,
    configEncrypted: toBuffer(r.config_encrypted),
    configKeyId: r.config_key_id,
    createdAt: toDate(r.created_at),
    updatedAt: toDate(r.updated_at),
    activatedAt: toDateOrNull(r.activated_at),
    disabledAt: toDateOrNull(r.disabled_at),
    lastTestAt: toDateOrNull(r.last_test_at),
    lastTestOk: r.last_test_ok,
    lastTestLatencyMs: r.last_test_latency_ms,
    lastTestMessage: r.last_test_message,
  };
}

const TABLE = 'erp_connection';

/**
 * The `erp_connection` table. Every lookup names the organisation: a row of another organisation
 * does not exist here. Every method takes an optional transaction so services can compose them.
 */
export class ConnectionRepository {
  constructor(private readonly db: Knex) {}

  /** Inserts one row as given (status default DISABLED). */
  async insert(input: NewConnection, trx?: Knex.Transaction): Promise<ConnectionRow> {
    // Timestamps come from JS (millisecond precision) so a keyset cursor built from a Date
    // compares equal to the stored value; now() would store microseconds.
    const now = input.now ?? new Date();
    const status = input.status ?? 'DISABLED';
    const [row] = (await (trx ?? this.db)(TABLE)
      .insert({
        id: input.id,
        org_id: input.orgId,
        connector_type: input.connectorType,
        name: input.name,
        status,
        config_encrypted: toBuffer(input.configEncrypted),
        config_key_id: input.configKeyId,
        created_at: now,
        updated_at: now,
        activated_at: status === 'ACTIVE' ? now : null,
      })
      .returning('*')) as DbConnection[];
    return toRow(row!);
  }

  /**
   * Inserts; with `activate`, in one transaction after disabling the org's current ACTIVE row.
   * A concurrent activation surfaces as a unique violation (23505).
   */
  async create(input: Omit<NewConnection, 'status'> & { activate: boolean }, trx?: Knex.Transaction): Promise<ConnectionRow> {
    const { activate, ...rest } = input;
    if (!activate) return this.insert({ ...rest, status: 'DISABLED' }, trx);
    return inTransaction(this.db, trx, async (t) => {
      await this.disableActive(input.orgId, input.now ?? new Date(), t);
      return this.insert({ ...rest, status: 'ACTIVE' }, t);
    });
  }

  async findById(orgId: string, id: string, trx?: Knex.Transaction): Promise<ConnectionRow | undefined> {
    if (!isUuid(orgId) || !isUuid(id)) return undefined;
    const r = (await (trx ?? this.db)(TABLE).where({ org_id: orgId, id }).first()) as DbConnection | undefined;
    return r === undefined ? undefined : toRow(r);
  }

  /** The organisation's ACTIVE connection, if any. */
  async activeForOrg(orgId: string, trx?: Knex.Transaction): Promise<ConnectionRow | undefined> {
    if (!isUuid(orgId)) return undefined;
    const r = (await (trx ?? this.db)(TABLE).where({ org_id: orgId, status: 'ACTIVE' }).first()) as DbConnection | undefined;
    return r === undefined ? undefined : toRow(r);
  }

  /** Oldest first by (created_at, id), strictly after `after`, at most `limit` rows. */
  async listByOrg(orgId: string, page: PageOptions, trx?: Knex.Transaction): Promise<ConnectionRow[]> {
    if (!isUuid(orgId)) return [];
    const q = (trx ?? this.db)(TABLE).where({ org_id: orgId });
    if (page.after !== undefined) q.andWhereRaw('(created_at, id) > (?, ?)', [page.after.createdAt, page.after.id]);
    const rows = (await q.orderBy([{ column: 'created_at' }, { column: 'id' }]).limit(page.limit)) as DbConnection[];
    return rows.map(toRow);
  }

  /** Updates the given columns and `updated_at`; undefined when the org has no such row. */
  async update(orgId: string, id: string, patch: ConnectionPatch, trx?: Knex.Transaction): Promise<ConnectionRow | undefined> {
    if (!isUuid(orgId) || !isUuid(id)) return undefined;
    if ((patch.configEncrypted === undefined) !== (patch.configKeyId === undefined)) {
      throw new TypeError('configEncrypted and configKeyId are updated together');
    }
    const now = patch.now ?? new Date();
    const values: Record<string, unknown> = { updated_at: now };
    if (patch.name !== undefined) values.name = patch.name;
    if (patch.configEncrypted !== undefined) values.config_encrypted = toBuffer(patch.configEncrypted);
    if (patch.configKeyId !== undefined) values.config_key_id = patch.configKeyId;
    if (patch.status !== undefined) {
      values.status = patch.status;
      values[patch.status === 'ACTIVE' ? 'activated_at' : 'disabled_at'] = now;
    }
    const [row] = (await (trx ?? this.db)(TABLE).where({ org_id: orgId, id }).update(values).returning('*')) as DbConnection[];
    return row === undefined ? undefined : toRow(row);
  }

  /**
   * Makes this connection the org's only ACTIVE one, in one transaction: the current ACTIVE row
   * becomes DISABLED, then this one ACTIVE. When a concurrent activation commits in between, the
   * partial unique index rejects this one: the unique violation (23505,
   * `erp_connection_one_active_per_org`) reaches the caller. Undefined when the org has no such row.
   */
  async activate(orgId: string, id: string, now: Date = new Date(), trx?: Knex.Transaction): Promise<ConnectionRow | undefined> {
    if (!isUuid(orgId) || !isUuid(id)) return undefined;
    return inTransaction(this.db, trx, async (t) => {
      const target = (await t(TABLE).where({ org_id: orgId, id }).first()) as DbConnection | undefined;
      if (target === undefined) return undefined;
      if (target.status === 'ACTIVE') return toRow(target);
      await this.disableActive(orgId, now, t);
      const [row] = (await t(TABLE)
        .where({ org_id: orgId, id })
        .update({ status: 'ACTIVE', activated_at: now, updated_at: now })
        .returning('*')) as DbConnection[];
      return row === undefined ? undefined : toRow(row);
    });
  }

  /** Sets the row DISABLED (kept as history). Undefined when the org has no such row. */
  async disable(orgId: string, id: string, now: Date = new Date(), trx?: Knex.Transaction): Promise<ConnectionRow | undefined> {
    if (!isUuid(orgId) || !isUuid(id)) return undefined;
    const db = trx ?? this.db;
    const [row] = (await db(TABLE)
      .where({ org_id: orgId, id })
      .update({
        // An already DISABLED row keeps its disabled_at.
        disabled_at: db.raw(`CASE WHEN status = 'ACTIVE' THEN ?::timestamptz ELSE disabled_at END`, [now]),
        status: 'DISABLED',
        updated_at: now,
      })
      .returning('*')) as DbConnection[];
    return row === undefined ? undefined : toRow(row);
  }

  /** Stores the outcome of a connection test. False when the org has no such row. */
  async recordTest(orgId: string, id: string, outcome: TestOutcome, trx?: Knex.Transaction): Promise<boolean> {
    if (!isUuid(orgId) || !isUuid(id)) return false;
    const n = await (trx ?? this.db)(TABLE).where({ org_id: orgId, id }).update({
      last_test_at: outcome.at,
      last_test_ok: outcome.ok,
      last_test_latency_ms: Math.round(outcome.latencyMs),
      last_test_message: outcome.message,
    });
    return n > 0;
  }

  /** Rows per `config_key_id` ('legacy' included), over every organisation. */
  async countByKeyId(trx?: Knex.Transaction): Promise<Map<string, number>> {
    const rows = (await (trx ?? this.db)(TABLE).select('config_key_id').count<{ config_key_id: string; n: string | number }[]>({ n: '*' }).groupBy('config_key_id')) as {
      config_key_id: string;
      n: string | number;
    }[];
    return new Map(rows.map((r) => [r.config_key_id, Number(r.n)]));
  }

  private async disableActive(orgId: string, now: Date, trx: Knex.Transaction): Promise<void> {
    await trx(TABLE).where({ org_id: orgId, status: 'ACTIVE' }).update({ status: 'DISABLED', disabled_at: now, updated_at: now });
  }
}
