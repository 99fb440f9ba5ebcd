import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { ApiKeyRepository } from './api-key-repository.js';
import { isUuid, toDate, type Db, type PageOptions } from './rows.js';
import { retryingTransaction } from '../errors.js';

/** An organisation (tenant). */
export interface OrganizationRow {
  id: string;
  name: string;
  createdAt: Date;
}

interface DbOrganization {
  id: string;
  name: string;
  created_at: Date | string;
}

/** Rows per multi-row INSERT: far below PostgreSQL's 65,535 parameters. */
const INSERT_CHUNK = 500;

const toRow = (r: DbOrganization): OrganizationRow => ({ id: r.id, name: r.name, createdAt: toDate(r.created_at) });

/** The `organization` table. */
export class OrganizationRepository {
  constructor(private readonly db: Knex) {}

  /** Inserts an organisation; `id` defaults to a random UUID, `now` to the current time. */
  async create(input: { id?: string; name: string; now?: Date }, trx?: Knex.Transaction): Promise<OrganizationRow> {
    const now = input.now ?? new Date();
    const [row] = (await (trx ?? this.db)('organization')
      .insert({ id: input.id ?? randomUUID(), name: input.name, created_at: now, updated_at: now })
      .returning(['id', 'name', 'created_at'])) as DbOrganization[];
    return toRow(row!);
  }

  /**
   * Inserts an organisation and its first API key in one transaction: either both exist
   * afterwards or neither (an organisation nobody can call would be left otherwise).
   */
  async createWithApiKey(
    input: { id: string; name: string; now: Date; key: { id: string; secretHash: Uint8Array } },
    trx?: Knex.Transaction,
  ): Promise<OrganizationRow> {
    const write = async (t: Knex.Transaction): Promise<OrganizationRow> => {
      const row = await this.create(input, t);
      await new ApiKeyRepository(this.db).create({ id: input.key.id, orgId: row.id, secretHash: input.key.secretHash, now: input.now }, t);
      return row;
    };
    return trx === undefined ? retryingTransaction(this.db, write) : write(trx);
  }

  async findById(id: string, trx?: Knex.Transaction): Promise<OrganizationRow | undefined> {
    if (!isUuid(id)) return undefined;
    const r = (await (trx ?? this.db)('organization').select('id', 'name', 'created_at').where({ id }).first()) as DbOrganization | undefined;
    return r === undefined ? undefined : toRow(r);
  }

  async exists(id: string, trx?: Knex.Transaction): Promise<boolean> {
    if (!isUuid(id)) return false;
    const r = await (trx ?? this.db)('organization').select('id').where({ id }).first();
    return r !== undefined;
  }

  /** Oldest first by (created_at, id); without `page`, every organisation. */
  async list(page?: PageOptions, trx?: Knex.Transaction): Promise<OrganizationRow[]> {
    const q = (trx ?? this.db)('organization').select('id', 'name', 'created_at');
    if (page?.after !== undefined) q.whereRaw('(created_at, id) > (?, ?)', [page.after.createdAt, page.after.id]);
    q.orderBy([{ column: 'created_at' }, { column: 'id' }]);
    if (page !== undefined) q.limit(page.limit);
    return ((await q) as DbOrganization[]).map(toRow);
  }

  /**
   * Creates the organisations that do not exist yet, keeping the given ids (an import keeps the
   * original system's). Their name is a placeholder (`Imported <id>`), to be renamed. Returns how
   * many were created.
   */
  async createMissing(ids: readonly string[], trx?: Knex.Transaction): Promise<number> {
    let created = 0;
    for (let i = 0; i < ids.length; i += INSERT_CHUNK) {
      const chunk = ids.slice(i, i + INSERT_CHUNK);
      const now = new Date();
      const rows = await (trx ?? this.db)('organization')
        .insert(chunk.map((id) => ({ id, name: `Imported ${id}`, created_at: now, updated_at: now })))
        .onConflict('id')
        .ignore()
        .returning('id');
      created += rows.length;
    }
    return created;
  }

  async count(trx?: Knex.Transaction): Promise<number> {
    return countOf(trx ?? this.db, 'organization');
  }
}

async function countOf(db: Db, table: string): Promise<number> {
  const row = (await db(table).count<{ n: string | number }[]>({ n: '*' }).first()) as { n: string | number } | undefined;
  return Number(row?.n ?? 0);
}
