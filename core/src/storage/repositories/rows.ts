import type { Knex } from 'knex';

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

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A uuid column compared with a non-uuid string is an SQL error; such an id simply matches nothing. */
export function isUuid(id: string): boolean {
  return UUID.test(id);
}

/**
 * Runs `fn` in `trx` when the caller passed one (its transaction, its commit), else in a new
 * transaction on `db`.
 */
export function inTransaction<T>(db: Knex, trx: Knex.Transaction | undefined, fn: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
  return trx !== undefined ? fn(trx) : db.transaction(fn);
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
