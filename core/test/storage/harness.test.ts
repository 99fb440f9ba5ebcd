import { randomUUID } from 'node:crypto';
import knexFactory from 'knex';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { databaseKind, isUniqueViolation, knownMigrations, migrationStatus } from '../../src/storage/index.js';
import { createTestDatabase, describeEachBackend, testBackendNames } from '../support/db.js';

async function insertOrg(knex: import('knex').Knex, name = 'acme'): Promise<string> {
  const [row] = (await knex('organization').insert({ name }).returning('id')) as { id: string }[];
  return row!.id;
}

function connection(orgId: string, status: 'ACTIVE' | 'DISABLED') {
  return {
    id: randomUUID(),
    org_id: orgId,
    connector_type: 'MOCK',
    name: 'c',
    status,
    config_encrypted: Buffer.from([1, 2, 3]),
    config_key_id: '0123456789abcdef',
  };
}

describeEachBackend('test database harness', ({ backend, db, knex }) => {
  it('gives a migrated database of the right kind', async () => {
    expect(databaseKind(knex())).toBe(backend);
    const status = await migrationStatus(knex());
    expect(status).toEqual({ applied: knownMigrations(), pending: [] });
    expect(await knex().schema.hasTable('erp_connection')).toBe(true);
  });

  it('allows one ACTIVE connection per organisation and any number of DISABLED ones', async () => {
    const org = await insertOrg(knex());
    const other = await insertOrg(knex(), 'other');
    await knex()('erp_connection').insert([connection(org, 'DISABLED'), connection(org, 'DISABLED'), connection(org, 'DISABLED')]);
    await knex()('erp_connection').insert(connection(org, 'ACTIVE'));
    await knex()('erp_connection').insert(connection(other, 'ACTIVE'));
    // A second ACTIVE row of the same org is rejected even with another connector type.
    const err = await knex()('erp_connection')
      .insert({ ...connection(org, 'ACTIVE'), connector_type: 'DROPZONE_JSON_V1' })
      .then(() => undefined, (e: unknown) => e);
    expect(err).toBeDefined();
    expect(isUniqueViolation(err)).toBe(true);
    expect(isUniqueViolation(err, 'erp_connection_one_active_per_org')).toBe(true);
    expect(isUniqueViolation(err, 'api_key_pkey')).toBe(false);
    const counts = await knex()('erp_connection').where({ org_id: org }).select('status').count({ n: '*' }).groupBy('status');
    expect(Object.fromEntries(counts.map((r) => [r.status, Number(r.n)]))).toEqual({ ACTIVE: 1, DISABLED: 3 });
  });

  it('maps primary-key violations to 23505 with the constraint name', async () => {
    const org = await insertOrg(knex());
    const key = { id: 'k1', org_id: org, secret_hash: Buffer.alloc(32) };
    await knex()('api_key').insert(key);
    const err = await knex()('api_key').insert(key).then(() => undefined, (e: unknown) => e);
    expect(isUniqueViolation(err, 'api_key_pkey')).toBe(true);
    expect(isUniqueViolation(new Error('x'))).toBe(false);
    expect(isUniqueViolation({ code: '23503' })).toBe(false);
  });

  it('rejects a status other than ACTIVE or DISABLED', async () => {
    const org = await insertOrg(knex());
    await expect(knex()('erp_connection').insert({ ...connection(org, 'ACTIVE'), status: 'PAUSED' })).rejects.toMatchObject({ code: '23514' });
  });

  it('runs FOR UPDATE SKIP LOCKED', async () => {
    const org = await insertOrg(knex());
    await knex()('erp_connection').insert([connection(org, 'DISABLED'), connection(org, 'DISABLED')]);
    await knex().transaction(async (trx) => {
      const rows = await trx('erp_connection').select('id').orderBy('id').limit(1).forUpdate().skipLocked();
      expect(rows).toHaveLength(1);
    });
    if (backend !== 'postgres') return;
    // Two transactions: the second skips the row the first holds.
    const first = await knex().transaction();
    try {
      const [held] = await first('erp_connection').select('id').orderBy('id').limit(1).forUpdate().skipLocked();
      const second = await knex().transaction();
      try {
        const rows = await second('erp_connection').select('id').orderBy('id').forUpdate().skipLocked();
        expect(rows.map((r) => r.id)).not.toContain(held!.id);
        expect(rows).toHaveLength(1);
      } finally {
        await second.rollback();
      }
    } finally {
      await first.rollback();
    }
  });

  it('returns bytea as bytes', async () => {
    const org = await insertOrg(knex());
    const row = connection(org, 'DISABLED');
    await knex()('erp_connection').insert(row);
    const stored = await knex()('erp_connection').where({ id: row.id }).first();
    expect(Buffer.from(stored.config_encrypted)).toEqual(Buffer.from([1, 2, 3]));
  });

  if (backend === 'postgres') {
    it('gives a URL that reaches the same schema from another client', async () => {
      const t = db();
      expect(t.url).toMatch(/options=-c%20search_path%3Derpc_t_/);
      await insertOrg(knex(), 'seen elsewhere');
      const client = new pg.Client({ connectionString: t.url });
      await client.connect();
      try {
        const { rows } = await client.query('SELECT name, current_schema() AS schema FROM organization');
        expect(rows).toEqual([{ name: 'seen elsewhere', schema: t.schema }]);
      } finally {
        await client.end();
      }
      const other = knexFactory({ client: 'pg', connection: t.url });
      try {
        expect(await other('organization').pluck('name')).toEqual(['seen elsewhere']);
      } finally {
        await other.destroy();
      }
    });
  }
});

describe.each(testBackendNames())('createTestDatabase on %s', (backend) => {
  it('gives independent databases', async () => {
    const a = await createTestDatabase(backend);
    const b = await createTestDatabase(backend);
    try {
      await insertOrg(a.knex, 'only in a');
      expect(await a.knex('organization').pluck('name')).toEqual(['only in a']);
      expect(await b.knex('organization').pluck('name')).toEqual([]);
    } finally {
      await a.destroy();
      await b.destroy();
    }
    // Destroyed: the connection is closed (PostgreSQL: the schema is gone too).
    await expect(a.knex.raw('select 1')).rejects.toThrow();
    if (backend === 'postgres') {
      const client = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
      await client.connect();
      try {
        const { rows } = await client.query('SELECT 1 FROM information_schema.schemata WHERE schema_name = $1', [a.schema]);
        expect(rows).toEqual([]);
      } finally {
        await client.end();
      }
    }
  });
});
