// The hot statements of ADR 0037: prepared through pg on PostgreSQL, knex.raw in transactions and on PGlite.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends, type TestDatabase } from '../support/db.js';
import { hotQuery, textArray } from '../../src/storage/repositories/hot-query.js';

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
});
