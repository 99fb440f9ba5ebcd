// The hot statements of ADR 0037: prepared through pg on PostgreSQL, knex.raw in transactions and on PGlite.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends, type TestDatabase } from '../support/db.js';
import { REPREPARE_EVERY, hotQuery, textArray } from '../../src/storage/repositories/hot-query.js';

describe.each(testBackends())('hot statements on $name', (backend) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await backend.open();
  });
  afterAll(async () => t.close());

  it('sends $n parameters, arrays as literals, the same outside and inside a transaction', async () => {
    const sql = `SELECT $1::text AS a, $2::int + 1 AS b, array_length($3::text[], 1) AS n, ($3::text[])[2] AS second`;
    const values = ['x', 41, textArray(['p', 'q"\\\\r', 's'])];
    const outside = await hotQuery(t.db, 'erpc_test_hot', sql, values);
    const inside = await t.db.transaction((trx) => hotQuery(trx, 'erpc_test_hot', sql, values));
    expect(outside).toEqual([{ a: 'x', b: 42, n: 3, second: 'q"\\\\r' }]);
    expect(inside).toEqual(outside);
  });

  it.runIf(backend.name === 'postgres')(`prepares a statement again every ${REPREPARE_EVERY} executions on a connection (its plan follows a growing table)`, async () => {
    // The statement reads its own preparation time on the connection it runs on.
    const sql = `SELECT pg_backend_pid() AS pid, prepare_time::text AS at, $1::int AS i FROM pg_prepared_statements WHERE name = 'erpc_test_reprepare'`;
    const seen = new Map<number, { at: Set<string>; runs: number }>();
    for (let i = 0; i < 2 * REPREPARE_EVERY + 10; i++) {
      const [row] = await hotQuery(t.db, 'erpc_test_reprepare', sql, [i]);
      const entry = seen.get(Number(row!.pid)) ?? { at: new Set<string>(), runs: 0 };
      entry.at.add(String(row!.at));
      entry.runs += 1;
      seen.set(Number(row!.pid), entry);
    }
    for (const { at, runs } of seen.values()) {
      // Once per REPREPARE_EVERY executions on that connection, and never more often.
      expect(at.size).toBe(Math.floor(runs / REPREPARE_EVERY) + 1);
    }
    expect([...seen.values()].some((e) => e.at.size >= 2)).toBe(true);
  });

  it('prepares a statement again when a migration changed the columns it reads', async () => {
    await t.db.raw('CREATE TABLE hot_query_probe (id int)');
    await t.db.raw('INSERT INTO hot_query_probe VALUES (1)');
    const read = () => hotQuery(t.db, 'erpc_test_probe', 'SELECT * FROM hot_query_probe WHERE id = $1', [1]);
    expect(await read()).toEqual([{ id: 1 }]);
    await t.db.raw('ALTER TABLE hot_query_probe ADD COLUMN extra text');
    // Every pooled connection that prepared it: run it a few times.
    for (let i = 0; i < 3; i++) expect(await read()).toEqual([{ id: 1, extra: null }]);
    await t.db.raw('DROP TABLE hot_query_probe');
  });

  it('outcome statements use the primary key, not the lease index, when statistics say few pushes are PROCESSING and the index holds many dead entries', async () => {
    const { outcomeUpdateSql } = await import('../../src/storage/repositories/push-repository.js');
    const db = t.db;
    const org = '00000000-0000-4000-8000-000000000001';
    const conn = '00000000-0000-4000-8000-000000000002';
    await db.raw(`INSERT INTO organization (id, name, created_at, updated_at) VALUES (?, 'o', now(), now())`, [org]);
    await db.raw(`INSERT INTO erp_connection (id, org_id, connector_type, name, status, config_encrypted, config_key_id, created_at, updated_at)
                  VALUES (?, ?, 'MOCK', 'c', 'ACTIVE', '\\x00', 'k', now(), now())`, [conn, org]);
    const insert = (prefix: string, n: number) =>
      db.raw(
        `INSERT INTO push (id, org_id, connection_id, connector_type, document_type, document_id, idempotency_key, payload_text, payload_sha256,
                           status, attempts, next_attempt_at, created_at, updated_at, locked_by, locked_until)
         SELECT gen_random_uuid(), ?, ?, 'MOCK', 'invoice', ? || g, ? || g, '{}', 'x', 'PROCESSING', 1, now(), now(), now(), 'w1', now() + interval '1 minute'
           FROM generate_series(1, ?) AS g`,
        [org, conn, prefix, prefix, n],
      );
    // Every one of these was claimed once (an entry in the lease index each), then delivered.
    await insert('old-', 3000);
    await db.raw(`UPDATE push SET status = 'DELIVERED', locked_by = NULL, locked_until = NULL`);
    await insert('now-', 5);
    await db.raw('ANALYZE push');
    const ids = ((await db.raw(`SELECT id FROM push WHERE status = 'PROCESSING'`)) as { rows: { id: string }[] }).rows.map((r) => r.id);
    const items = JSON.stringify(ids.map((id) => ({ id, attempts: 1, at: new Date().toISOString() })));
    await db.transaction(async (trx) => {
      // The plan a prepared statement settles on after its first executions: the generic one.
      await trx.raw('SET LOCAL plan_cache_mode = force_generic_plan');
      await trx.raw(`PREPARE erpc_plan_probe AS ${outcomeUpdateSql('delivered')}`);
      // EXPLAIN EXECUTE takes no bind parameters: the items inline (uuids and dates: no quote in them).
      expect(items).not.toContain("'");
      const plan = JSON.stringify(((await trx.raw(`EXPLAIN (FORMAT JSON) EXECUTE erpc_plan_probe('${items}', 'w1')`)) as { rows: unknown[] }).rows);
      await trx.raw('DEALLOCATE erpc_plan_probe');
      expect(plan).toContain("push_pkey");
      expect(plan).not.toContain('push_processing_lease_idx');
    });
  });
});
