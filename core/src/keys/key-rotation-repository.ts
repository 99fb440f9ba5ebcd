import type { Knex } from 'knex';
import { LEGACY_KEY_ID } from '../crypto/index.js';

/** A connection row as rotation reads it: its binding and its stored config. */
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

/** Rows per key id (`config_key_id`), legacy rows under {@link LEGACY_KEY_ID}. */
export interface KeyIdCount {
  keyId: string;
  rows: number;
}

/** What a claim skips besides rows already under the active key. */
export interface ClaimFilter {
  activeKeyId: string;
  /** Only rows under these key ids (the loaded ones, and {@link LEGACY_KEY_ID}). */
  keyIds: readonly string[];
  /** Rows this run already failed to decrypt: never claimed again in the same run. */
  excludeIds: readonly string[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A PostgreSQL array literal of uuids, passed as ONE parameter (no per-id placeholders, no 65,535-parameter limit). */
function uuidArray(ids: readonly string[]): string {
  for (const id of ids) if (!UUID.test(id)) throw new TypeError('not a uuid');
  return `{${ids.join(',')}}`;
}

function toRow(r: { id: string; org_id: string; config_key_id: string; config_encrypted: Uint8Array }): StoredConfigRow {
  return { id: r.id, orgId: r.org_id, keyId: r.config_key_id, blob: r.config_encrypted };
}

/**
 * The SQL of key rotation, the key status and the start-up key check. Every method takes the
 * Knex handle to run on: the database, or the open transaction (PGlite has one connection, so a
 * query outside the open transaction would wait for it forever).
 */
export class KeyRotationRepository {
  /** Connection rows per key id. */
  async countByKeyId(db: Knex | Knex.Transaction): Promise<KeyIdCount[]> {
    const rows = (await db('erp_connection')
      .select('config_key_id')
      .count({ rows: '*' })
      .groupBy('config_key_id')
      .orderBy('config_key_id')) as { config_key_id: string; rows: string | number }[];
    return rows.map((r) => ({ keyId: r.config_key_id, rows: Number(r.rows) }));
  }

  /** Rows that a claim with this filter could still take (locked or not). */
  async countClaimable(db: Knex | Knex.Transaction, filter: ClaimFilter): Promise<number> {
    const row = (await this.#claimable(db, filter).count({ n: '*' }).first()) as { n: string | number } | undefined;
    return Number(row?.n ?? 0);
  }

  /**
   * Claims up to `limit` rows not under the active key with an id after `afterId`, in id order, locking them until the
   * transaction ends; rows another transaction holds are skipped (`FOR UPDATE SKIP LOCKED`), so
   * concurrent rotations take disjoint rows. Must run inside a transaction.
   */
  async claim(trx: Knex.Transaction, filter: ClaimFilter, afterId: string | null, limit: number): Promise<StoredConfigRow[]> {
    const q = this.#claimable(trx, filter).select('id', 'org_id', 'config_key_id', 'config_encrypted');
    // The cursor keeps each claim from re-scanning the rows this run already rotated (quadratic otherwise).
    if (afterId !== null) q.where('id', '>', afterId);
    const rows = await q.orderBy('id').limit(limit).forUpdate().skipLocked();
    return rows.map(toRow);
  }

  /** Reads (no lock) up to `limit` rows not under the active key with an id after `afterId`: the dry run's walk. */
  async scan(db: Knex | Knex.Transaction, filter: ClaimFilter, afterId: string | null, limit: number): Promise<StoredConfigRow[]> {
    const q = this.#claimable(db, filter).select('id', 'org_id', 'config_key_id', 'config_encrypted').orderBy('id').limit(limit);
    if (afterId !== null) q.where('id', '>', afterId);
    return (await q).map(toRow);
  }

  /** Ids of the rows under `keyId` (for reporting rows whose key is not loaded). */
  async idsUnderKeys(db: Knex | Knex.Transaction, keyIds: readonly string[]): Promise<{ id: string; keyId: string }[]> {
    if (keyIds.length === 0) return [];
    const rows = (await db('erp_connection').select('id', 'config_key_id').whereIn('config_key_id', [...keyIds]).orderBy('id')) as {
      id: string;
      config_key_id: string;
    }[];
    return rows.map((r) => ({ id: r.id, keyId: r.config_key_id }));
  }

  /** The first legacy row by id, if any (the start-up check tries to decrypt it). */
  async firstLegacyRow(db: Knex | Knex.Transaction): Promise<StoredConfigRow | undefined> {
    const row = await db('erp_connection')
      .select('id', 'org_id', 'config_key_id', 'config_encrypted')
      .where('config_key_id', LEGACY_KEY_ID)
      .orderBy('id')
      .first();
    return row === undefined ? undefined : toRow(row);
  }

  /**
   * Writes a batch of rewritten configs in ONE statement (`UPDATE … FROM (VALUES …)`). A row is
   * written only while it still holds the key it was read with, so a concurrent API update (which
   * writes under the active key) is never overwritten. Returns the ids actually written.
   */
  async rewrite(trx: Knex.Transaction, newKeyId: string, rewrites: readonly ConfigRewrite[]): Promise<string[]> {
    if (rewrites.length === 0) return [];
    const values = rewrites.map(() => '(?::uuid, ?::bytea, ?::text)').join(', ');
    const bindings: unknown[] = [newKeyId];
    for (const r of rewrites) bindings.push(r.id, r.blob, r.expectedKeyId);
    const result = await trx.raw(
      `UPDATE erp_connection AS c
          SET config_encrypted = v.blob, config_key_id = ?
         FROM (VALUES ${values}) AS v (id, blob, expected_key_id)
        WHERE c.id = v.id AND c.config_key_id = v.expected_key_id
        RETURNING c.id`,
      bindings as Knex.RawBinding[],
    );
    return (result.rows as { id: string }[]).map((r) => r.id);
  }

  #claimable(db: Knex | Knex.Transaction, filter: ClaimFilter): Knex.QueryBuilder {
    const q = db('erp_connection').whereNot('config_key_id', filter.activeKeyId).whereIn('config_key_id', [...filter.keyIds]);
    if (filter.excludeIds.length > 0) q.whereRaw('NOT (id = ANY(?::uuid[]))', [uuidArray(filter.excludeIds)]);
    return q;
  }
}
