import type { Knex } from 'knex';
import { hotQuery } from './hot-query.js';
import { isUuid, toBuffer, toDate, toDateOrNull } from './rows.js';

/** An API key as stored: only the SHA-256 of its secret part. */
export interface ApiKeyRow {
  id: string;
  orgId: string;
  secretHash: Buffer;
  name: string | null;
  createdAt: Date;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
}

interface DbApiKey {
  id: string;
  org_id: string;
  secret_hash: Uint8Array;
  name: string | null;
  created_at: Date | string;
  revoked_at: Date | string | null;
  last_used_at: Date | string | null;
}

const toRow = (r: DbApiKey): ApiKeyRow => ({
  id: r.id,
  orgId: r.org_id,
  secretHash: toBuffer(r.secret_hash),
  name: r.name,
  createdAt: toDate(r.created_at),
  revokedAt: toDateOrNull(r.revoked_at),
  lastUsedAt: toDateOrNull(r.last_used_at),
});

/** A presented API key as the database checks it: its public id and the SHA-256 of its secret. */
export interface ApiKeyCredential {
  keyId: string;
  secretHash: Uint8Array;
}

/** The `api_key` table. */
export class ApiKeyRepository {
  constructor(private readonly db: Knex) {}

  /** Inserts a key by its public id and the hash of its secret. A duplicate id is a 23505. */
  async create(
    input: { id: string; orgId: string; secretHash: Uint8Array; name?: string | null; now?: Date },
    trx?: Knex.Transaction,
  ): Promise<ApiKeyRow> {
    const [row] = (await (trx ?? this.db)('api_key')
      .insert({
        id: input.id,
        org_id: input.orgId,
        secret_hash: toBuffer(input.secretHash),
        name: input.name ?? null,
        created_at: input.now ?? new Date(),
      })
      .returning('*')) as DbApiKey[];
    return toRow(row!);
  }

  /** Read on every API request (authentication): a prepared statement (ADR 0037). */
  async findById(id: string, trx?: Knex.Transaction): Promise<ApiKeyRow | undefined> {
    const r = (await hotQuery(trx ?? this.db, 'erpc_api_key_by_id', 'SELECT * FROM api_key WHERE id = $1 LIMIT 1', [id]))[0] as DbApiKey | undefined;
    return r === undefined ? undefined : toRow(r);
  }

  /** Revokes a key (the first revocation time is kept). False when no key has this id. */
  async revoke(id: string, now: Date = new Date(), trx?: Knex.Transaction): Promise<boolean> {
    const rows = (await (trx ?? this.db)('api_key')
      .where({ id })
      .update({ revoked_at: (trx ?? this.db).raw('COALESCE(revoked_at, ?)', [now]) })
      .returning('id')) as unknown[];
    return rows.length > 0;
  }

  /**
   * Records a use of the key. With `minIntervalMs`, writes only when the stored time is older than
   * that, so authentication does not turn every request into a row update.
   */
  async touchLastUsed(id: string, now: Date = new Date(), minIntervalMs = 0, trx?: Knex.Transaction): Promise<boolean> {
    const q = (trx ?? this.db)('api_key').where({ id });
    if (minIntervalMs > 0) {
      const threshold = new Date(now.getTime() - minIntervalMs);
      q.andWhere((w) => w.whereNull('last_used_at').orWhere('last_used_at', '<', threshold));
    }
    return (await q.update({ last_used_at: now })) > 0;
  }

  /** The keys of an organisation, oldest first. */
  async listByOrg(orgId: string, trx?: Knex.Transaction): Promise<ApiKeyRow[]> {
    if (!isUuid(orgId)) return [];
    const rows = (await (trx ?? this.db)('api_key').where({ org_id: orgId }).orderBy([{ column: 'created_at' }, { column: 'id' }])) as DbApiKey[];
    return rows.map(toRow);
  }
}
