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
 * Executions of one prepared statement on one connection before it is prepared again. PostgreSQL
 * keeps a prepared statement's generic plan until the statistics of its tables change; a table
 * that grows from empty before autovacuum first analyzes it (a new deployment's webhook tables)
 * keeps the plan made for an empty table, a sequential scan, on every execution: 579 of 657 in
 * one short `bench:push` run (ADR 0043). Preparing again now and then lets the plan follow the
 * table; it costs one parse and plan per this many executions (about 1 % more planning).
 */
export const REPREPARE_EVERY = 100;

/** Executions per statement name, per pooled connection. */
const executions = new WeakMap<PgConnection, Map<string, number>>();

/** True when this execution should use a freshly prepared statement (counts it). */
function dueForReprepare(connection: PgConnection, name: string): boolean {
  let counts = executions.get(connection);
  if (counts === undefined) executions.set(connection, (counts = new Map()));
  const n = (counts.get(name) ?? 0) + 1;
  counts.set(name, n >= REPREPARE_EVERY ? 0 : n);
  return n >= REPREPARE_EVERY && connection.connection?.parsedStatements?.[name] !== undefined;
}

/** Forgets `name` on this connection: the next query with it prepares it again. */
async function deallocate(connection: PgConnection, name: string): Promise<void> {
  await connection.query(`DEALLOCATE "${name}"`);
  delete connection.connection?.parsedStatements?.[name];
}

/**
 * One statement of a hot path (accept, claim, outcome writes: ADR 0037), written with `$n`
 * placeholders. On PostgreSQL outside a transaction it is sent as a named prepared statement on a
 * connection of knex's own pool (parsed and planned once per connection, and again every
 * {@link REPREPARE_EVERY} executions), without knex's query
 * building, which was two thirds of an accept's busy time. Inside a transaction, and on PGlite,
 * it goes through `knex.raw` on the same handle as before (`$n` become `?`), so PGlite's single
 * connection and an open transaction are used exactly as by every other query.
 */
export async function hotQuery(db: Knex, name: string, text: string, values: readonly unknown[]): Promise<Row[]> {
  if ((db as { isTransaction?: boolean }).isTransaction !== true && databaseKind(db) === 'postgres') {
    const client = (db as unknown as { client: PooledClient }).client;
    const connection = await client.acquireConnection();
    try {
      if (dueForReprepare(connection, name)) await deallocate(connection, name);
      try {
        return (await connection.query({ name, text, values: [...values] })).rows;
      } catch (err) {
        if (!isStalePlan(err)) throw err;
        // Prepare it again on this connection, once.
        await deallocate(connection, name);
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
