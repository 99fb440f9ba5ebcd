import type { Knex } from 'knex';
import { LEGACY_KEY_ID } from '../../crypto/index.js';
import { inTransaction, isUuid, toBuffer, toDate, toDateOrNull, uuidArray, type PageOptions } from './rows.js';
import { retryingTransaction } from '../errors.js';

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

/** What delivery needs of the connection a push is bound to. */
export interface BoundConnection {
  id: string;
  orgId: string;
  connectorType: string;
  status: string;
  configEncrypted: Uint8Array;
  configKeyId: string;
}

/** A connection row as key rotation reads it: its binding and its stored config. */
export interface StoredConfigRow {
  id: string;
  orgId: string;
  keyId: string;
  blob: Uint8Array;
}

/** One rewritten config: the new blob replaces the old one only if the row still holds `expectedKeyId`. */
export interface ConfigRewrite {
  id: string;
  blob: Buffer;
  expectedKeyId: string;
}

/** Rows per key id (`config_key_id`), legacy rows under LEGACY_KEY_ID. */
export interface KeyIdCount {
  keyId: string;
  rows: number;
}

/** Which rows a rotation may take besides those already under the active key. */
export interface RotationFilter {
  activeKeyId: string;
  /** Only rows under these key ids (the loaded ones, and LEGACY_KEY_ID). */
  keyIds: readonly string[];
  /** Rows this run already failed to decrypt: never claimed again in the same run. */
  excludeIds: readonly string[];
}

/** A connection row to insert as imported from the original system. */
export interface ImportedConnection {
  id: string;
  orgId: string;
  connectorType: string;
  name: string;
  status: ConnectionStatus;
  blob: Buffer;
  keyId: string;
  /** SHA-256 (hex) of the exported row's connector type and ciphertext: recognises a re-import. */
  source: string;
}

const TABLE = 'erp_connection';
/** Rows per multi-row INSERT or IN list: far below PostgreSQL's 65,535 parameters, few round trips. */
const CHUNK = 500;

function toStoredConfig(r: { id: string; org_id: string; config_key_id: string; config_encrypted: Uint8Array }): StoredConfigRow {
  return { id: r.id, orgId: r.org_id, keyId: r.config_key_id, blob: r.config_encrypted };
}

/**
 * The `erp_connection` table: the one place that reads or writes it. The API's lookups name the
 * organisation (a row of another organisation does not exist here); key rotation, the key status
 * and the import work across organisations and say so. Every method takes an optional
 * transaction so services can compose them, or runs on the transaction the repository is bound to.
 */
export class ConnectionRepository {
  constructor(private readonly db: Knex) {}

  /** Runs `fn` in one transaction, on a repository bound to it. */
  transaction<T>(fn: (tx: ConnectionRepository) => Promise<T>): Promise<T> {
    return retryingTransaction(this.db, (trx) => fn(new ConnectionRepository(trx)));
  }

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

  /**
   * The id and connector type of the organisation's ACTIVE connection, if any: what accepting a
   * push needs (two columns; the config is not read on the hot path).
   */
  async activeBinding(orgId: string, trx?: Knex.Transaction): Promise<{ id: string; connectorType: string } | undefined> {
    if (!isUuid(orgId)) return undefined;
    const r = (await (trx ?? this.db)(TABLE).select('id', 'connector_type').where({ org_id: orgId, status: 'ACTIVE' }).first()) as
      | Pick<DbConnection, 'id' | 'connector_type'>
      | undefined;
    return r === undefined ? undefined : { id: r.id, connectorType: r.connector_type };
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

  /** Rows per `config_key_id` ('legacy' included), over every organisation, by key id. */
  async keyIdCounts(trx?: Knex.Transaction): Promise<KeyIdCount[]> {
    const rows = (await (trx ?? this.db)(TABLE).select('config_key_id').count({ rows: '*' }).groupBy('config_key_id').orderBy('config_key_id')) as {
      config_key_id: string;
      rows: string | number;
    }[];
    return rows.map((r) => ({ keyId: r.config_key_id, rows: Number(r.rows) }));
  }

  /** The rows bound to these ids (any organisation, any status): what delivery and its checks need. */
  async boundByIds(ids: readonly string[], trx?: Knex.Transaction): Promise<Map<string, BoundConnection>> {
    const unique = [...new Set(ids)].filter(isUuid);
    const found = new Map<string, BoundConnection>();
    if (unique.length === 0) return found;
    const rows = (await (trx ?? this.db)(TABLE)
      .select('id', 'org_id', 'connector_type', 'status', 'config_encrypted', 'config_key_id')
      .whereRaw('id = ANY(?::uuid[])', [uuidArray(unique)])) as Pick<DbConnection, 'id' | 'org_id' | 'connector_type' | 'status' | 'config_encrypted' | 'config_key_id'>[];
    for (const r of rows) {
      found.set(r.id, { id: r.id, orgId: r.org_id, connectorType: r.connector_type, status: r.status, configEncrypted: toBuffer(r.config_encrypted), configKeyId: r.config_key_id });
    }
    return found;
  }

  // --- key rotation and key status (every organisation) ---

  /** Rows that a rotation claim with this filter could still take (locked or not). */
  async countRotatable(filter: RotationFilter, trx?: Knex.Transaction): Promise<number> {
    const row = (await this.#rotatable(trx ?? this.db, filter).count({ n: '*' }).first()) as { n: string | number } | undefined;
    return Number(row?.n ?? 0);
  }

  /**
   * Claims up to `limit` rows not under the active key with an id after `afterId`, in id order,
   * locking them until the transaction ends; rows another transaction holds are skipped
   * (`FOR UPDATE SKIP LOCKED`), so concurrent rotations take disjoint rows. Needs a transaction:
   * `trx`, or the one this repository is bound to.
   */
  async claimForRotation(filter: RotationFilter, afterId: string | null, limit: number, trx?: Knex.Transaction): Promise<StoredConfigRow[]> {
    const q = this.#rotatable(trx ?? this.db, filter).select('id', 'org_id', 'config_key_id', 'config_encrypted');
    // The cursor keeps each claim from re-scanning the rows this run already rotated (quadratic otherwise).
    if (afterId !== null) q.where('id', '>', afterId);
    const rows = await q.orderBy('id').limit(limit).forUpdate().skipLocked();
    return rows.map(toStoredConfig);
  }

  /** Reads (no lock) up to `limit` rows not under the active key with an id after `afterId`: the dry run's walk. */
  async scanForRotation(filter: RotationFilter, afterId: string | null, limit: number, trx?: Knex.Transaction): Promise<StoredConfigRow[]> {
    const q = this.#rotatable(trx ?? this.db, filter).select('id', 'org_id', 'config_key_id', 'config_encrypted').orderBy('id').limit(limit);
    if (afterId !== null) q.where('id', '>', afterId);
    return (await q).map(toStoredConfig);
  }

  /** Ids of the rows under these key ids (for reporting rows whose key is not loaded). */
  async idsUnderKeys(keyIds: readonly string[], trx?: Knex.Transaction): Promise<{ id: string; keyId: string }[]> {
    if (keyIds.length === 0) return [];
    const rows = (await (trx ?? this.db)(TABLE).select('id', 'config_key_id').whereIn('config_key_id', [...keyIds]).orderBy('id')) as {
      id: string;
      config_key_id: string;
    }[];
    return rows.map((r) => ({ id: r.id, keyId: r.config_key_id }));
  }

  /** The first legacy row by id, if any (the key status tries to decrypt it). */
  async firstLegacyRow(trx?: Knex.Transaction): Promise<StoredConfigRow | undefined> {
    const row = await (trx ?? this.db)(TABLE).select('id', 'org_id', 'config_key_id', 'config_encrypted').where('config_key_id', LEGACY_KEY_ID).orderBy('id').first();
    return row === undefined ? undefined : toStoredConfig(row);
  }

  /**
   * Writes a batch of rewritten configs in ONE statement (`UPDATE … FROM (VALUES …)`). A row is
   * written only while it still holds the key it was read with, so a concurrent API update (which
   * writes under the active key) is never overwritten. Returns the ids actually written.
   */
  async rewriteConfigs(newKeyId: string, rewrites: readonly ConfigRewrite[], trx?: Knex.Transaction): Promise<string[]> {
    if (rewrites.length === 0) return [];
    const values = rewrites.map(() => '(?::uuid, ?::bytea, ?::text)').join(', ');
    const bindings: unknown[] = [newKeyId];
    for (const r of rewrites) bindings.push(r.id, r.blob, r.expectedKeyId);
    const result = await (trx ?? this.db).raw(
      `UPDATE erp_connection AS c
          SET config_encrypted = v.blob, config_key_id = ?
         FROM (VALUES ${values}) AS v (id, blob, expected_key_id)
        WHERE c.id = v.id AND c.config_key_id = v.expected_key_id
        RETURNING c.id`,
      bindings as Knex.RawBinding[],
    );
    return (result.rows as { id: string }[]).map((r) => r.id);
  }

  #rotatable(db: Knex, filter: RotationFilter): Knex.QueryBuilder {
    const q = db(TABLE).whereNot('config_key_id', filter.activeKeyId).whereIn('config_key_id', [...filter.keyIds]);
    if (filter.excludeIds.length > 0) q.whereRaw('NOT (id = ANY(?::uuid[]))', [uuidArray(filter.excludeIds)]);
    return q;
  }

  // --- import from the original system (every organisation) ---

  /** The ACTIVE connections of these organisations (id and org id only). */
  async activeOfOrgs(orgIds: readonly string[], trx?: Knex.Transaction): Promise<{ id: string; orgId: string }[]> {
    if (orgIds.length === 0) return [];
    const rows = (await (trx ?? this.db)(TABLE).select('id', 'org_id').where('status', 'ACTIVE').whereIn('org_id', [...orgIds]).orderBy('org_id')) as {
      id: string;
      org_id: string;
    }[];
    return rows.map((r) => ({ id: r.id, orgId: r.org_id }));
  }

  /** The connections imported before from these fingerprints, keyed `${orgId} ${source}`. */
  async importedSources(sources: readonly string[], trx?: Knex.Transaction): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    const unique = [...new Set(sources)];
    for (let i = 0; i < unique.length; i += CHUNK) {
      const rows = (await (trx ?? this.db)(TABLE)
        .select('id', 'org_id', 'import_source_sha256')
        .whereIn('import_source_sha256', unique.slice(i, i + CHUNK))) as { id: string; org_id: string; import_source_sha256: string }[];
      for (const r of rows) found.set(`${r.org_id} ${r.import_source_sha256}`, r.id);
    }
    return found;
  }

  /** Inserts imported connections in chunks of multi-row INSERTs, reporting progress per chunk. */
  async insertImported(rows: readonly ImportedConnection[], onChunk?: (done: number) => void, trx?: Knex.Transaction): Promise<void> {
    for (let i = 0; i < rows.length; i += CHUNK) {
      const chunk = rows.slice(i, i + CHUNK);
      const now = new Date();
      await (trx ?? this.db)(TABLE).insert(
        chunk.map((r) => ({
          id: r.id,
          org_id: r.orgId,
          connector_type: r.connectorType,
          name: r.name,
          status: r.status,
          config_encrypted: r.blob,
          config_key_id: r.keyId,
          import_source_sha256: r.source,
          created_at: now,
          updated_at: now,
        })),
      );
      onChunk?.(Math.min(i + CHUNK, rows.length));
    }
  }

  private async disableActive(orgId: string, now: Date, trx: Knex.Transaction): Promise<void> {
    await trx(TABLE).where({ org_id: orgId, status: 'ACTIVE' }).update({ status: 'DISABLED', disabled_at: now, updated_at: now });
  }
}
