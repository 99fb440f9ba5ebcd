import type { Knex } from 'knex';
import { databaseKind } from '../database.js';

type Row = Record<string, unknown>;

/** The part of a pooled `pg` client a hot statement uses. */
interface PgConnection {
  query(q: { name: string; text: string; values: unknown[] } | string): Promise<{ rows: Row[] }>;
  /** pg's record of the statements this connection has prepared, by name. */
  connection?: { parsedStatements?: Record<string, unknown> };
}

/**
 * A prepared statement whose result columns changed since it was prepared (a migration added a
 * column to a table it reads with `*` while this process ran) fails with this until it is
 * prepared again.
 */
function isStalePlan(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  return e?.code === '0A000' && typeof e.message === 'string' && e.message.includes('cached plan must not change result type');
}
interface PooledClient {
  acquireConnection(): Promise<PgConnection>;
  releaseConnection(connection: PgConnection): Promise<unknown>;
}

/**
 * One statement of a hot path (accept, claim, outcome writes: ADR 0037), written with `$n`
 * placeholders. On PostgreSQL outside a transaction it is sent as a named prepared statement on a
 * connection of knex's own pool (parsed and planned once per connection), without knex's query
 * building, which was two thirds of an accept's busy time. Inside a transaction, and on PGlite,
 * it goes through `knex.raw` on the same handle as before (`$n` become `?`), so PGlite's single
 * connection and an open transaction are used exactly as by every other query.
 */
export async function hotQuery(db: Knex, name: string, text: string, values: readonly unknown[]): Promise<Row[]> {
  if ((db as { isTransaction?: boolean }).isTransaction !== true && databaseKind(db) === 'postgres') {
    const client = (db as unknown as { client: PooledClient }).client;
    const connection = await client.acquireConnection();
    try {
      try {
        return (await connection.query({ name, text, values: [...values] })).rows;
      } catch (err) {
        if (!isStalePlan(err)) throw err;
        // Prepare it again on this connection, once.
        await connection.query(`DEALLOCATE "${name}"`);
        delete connection.connection?.parsedStatements?.[name];
        return (await connection.query({ name, text, values: [...values] })).rows;
      }
    } finally {
      await client.releaseConnection(connection);
    }
  }
  const bindings: unknown[] = [];
  const sql = text.replace(/\$(\d+)/g, (_m, n: string) => {
    bindings.push(values[Number(n) - 1]);
    return '?';
  });
  return ((await db.raw(sql, bindings as Knex.RawBinding[])) as { rows?: Row[] }).rows ?? [];
}

/**
 * A PostgreSQL array literal of text values (`{"a","b"}`), sent as one parameter and cast in the
 * statement (`$2::uuid[]`): the same text on pg and on PGlite, whatever their array serialisers.
 */
export function textArray(values: readonly string[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ',';
    // replaceAll of plain strings: several times quicker than a regex with a callback on payload texts.
    out += `"${values[i]!.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
  }
  return `${out}}`;
}
