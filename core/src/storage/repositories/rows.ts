import type { Knex } from 'knex';
import { isUuid } from '../../uuid.js';
import { retryingTransaction } from '../errors.js';

/** The root instance or an open transaction: every repository method takes either. */
export type Db = Knex | Knex.Transaction;

/** timestamptz as a Date (pg and PGlite both return Date; strings are tolerated). */
export function toDate(v: Date | string): Date {
  return v instanceof Date ? v : new Date(v);
}

export function toDateOrNull(v: Date | string | null): Date | null {
  return v === null ? null : toDate(v);
}

/** bytea as a Buffer: pg returns Buffer, PGlite a plain Uint8Array. No copy. */
export function toBuffer(v: Uint8Array): Buffer {
  return Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

export { isUuid } from '../../uuid.js';

/** A PostgreSQL array literal of uuids, passed as ONE parameter (no per-id placeholders, no 65,535-parameter limit). */
export function uuidArray(ids: readonly string[]): string {
  for (const id of ids) if (!isUuid(id)) throw new TypeError('not a uuid');
  return `{${ids.join(',')}}`;
}

/**
 * The ids of the items in $1 (a jsonb array of objects with `id`), for `… .id = ANY (…)` beside a
 * `jsonb_to_recordset($1)` join: an index condition on the primary key whose cost does not grow
 * with the table, so the planner looks each item up by id (ADR 0043).
 */
export const ITEM_IDS = `ARRAY(SELECT (x->>'id')::uuid FROM jsonb_array_elements($1::jsonb) AS x)`;

/**
 * Runs `fn` in `trx` when the caller passed one (its transaction, its commit), else in a new
 * transaction on `db`.
 */
export function inTransaction<T>(db: Knex, trx: Knex.Transaction | undefined, fn: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
  return trx !== undefined ? fn(trx) : retryingTransaction(db, fn);
}

/** A keyset position: the last row of the previous page. */
export interface KeysetCursor {
  createdAt: Date;
  id: string;
}

/** One page of a keyset listing: `limit` rows ordered by (created_at, id), strictly after `after`. */
export interface PageOptions {
  limit: number;
  after?: KeysetCursor | undefined;
}
