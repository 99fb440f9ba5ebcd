import type { Knex } from 'knex';
import { ErpcError, isErpcError } from '../errors/index.js';
import { databaseTarget } from './database.js';

interface DbError {
  code?: unknown;
  constraint?: unknown;
  message?: unknown;
  name?: unknown;
}

/**
 * True for a unique violation (SQLSTATE 23505). Both `pg` and PGlite throw errors carrying the
 * server's `code` and `constraint` (the index name for a unique index); with `name`, only a
 * violation of that constraint or index counts.
 */
export function isUniqueViolation(err: unknown, name?: string): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as DbError;
  if (e.code !== '23505') return false;
  return name === undefined || e.constraint === name;
}

// Connection-level failures of pg (Node socket errors) and PostgreSQL's SQLSTATEs for them.
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', '57P03']);
const AUTH = new Set(['28P01', '28000']);

/** The message of a low-level error with every occurrence of `secret` blanked out. */
function reasonOf(err: unknown, secret: string | undefined): string {
  let reason = err instanceof Error ? err.message : String(err);
  if (secret !== undefined && secret.length > 0) reason = reason.split(secret).join('***');
  return reason.replace(/postgres(ql)?:\/\/[^\s]*/gi, '<database url>');
}

function passwordOf(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    const p = new URL(url).password;
    return p === '' ? undefined : decodeURIComponent(p);
  } catch {
    return undefined;
  }
}

/**
 * Maps a failure to reach or use the database to an ERPC_ERR_STORAGE_* error naming host:port
 * (never the user's password, never the URL). Errors that are not about the connection are
 * returned unchanged.
 */
export function toStorageError(err: unknown, knex: Knex | Knex.Transaction, url?: string): unknown {
  if (isErpcError(err) || typeof err !== 'object' || err === null) return err;
  const e = err as DbError;
  const target = databaseTarget(knex);
  const reason = reasonOf(err, passwordOf(url));
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (code !== undefined && AUTH.has(code)) return new ErpcError('ERPC_ERR_STORAGE_AUTH_FAILED', { target, reason }, { cause: err });
  if (code === '3D000') return new ErpcError('ERPC_ERR_STORAGE_DATABASE_MISSING', { target }, { cause: err });
  if ((code !== undefined && UNREACHABLE.has(code)) || /connection terminated|timeout expired/i.test(reason)) {
    return new ErpcError('ERPC_ERR_STORAGE_UNAVAILABLE', { target, reason }, { cause: err });
  }
  if (e.name === 'KnexTimeoutError') {
    const timeoutMs = (knex as unknown as { client: { config: { acquireConnectionTimeout?: number } } }).client.config.acquireConnectionTimeout;
    return new ErpcError('ERPC_ERR_STORAGE_BUSY', { target, timeoutMs: timeoutMs ?? 'the configured' }, { cause: err });
  }
  return err;
}

/** Runs `select 1`: resolves when the database answers, else throws an ERPC_ERR_STORAGE_* error. */
export async function checkDatabase(knex: Knex, url?: string): Promise<void> {
  try {
    await knex.raw('select 1');
  } catch (err) {
    throw toStorageError(err, knex, url);
  }
}

/** SQLSTATEs of a transaction the server aborted so that it can be run again. */
const RETRYABLE_TRANSACTION = new Set(['40001', '40P01']);

/** True for a serialization failure (40001) or a deadlock (40P01). */
export function isSerializationFailure(err: unknown): boolean {
  return typeof err === 'object' && err !== null && RETRYABLE_TRANSACTION.has((err as DbError).code as string);
}

/** How many times a transaction aborted as a serialization failure or deadlock is run in all. */
export const TRANSACTION_ATTEMPTS = 4;

/**
 * Runs `fn` in a transaction on `db`, again (up to {@link TRANSACTION_ATTEMPTS} in all, after a
 * short random pause) when the server aborts it as a serialization failure or deadlock: the
 * aborted attempt changed nothing, so running it again is safe. Then ERPC_ERR_STORAGE_CONTENTION
 * (503). Inside an open transaction (`db` is one) nothing is retried here: the outer one is.
 */
export async function retryingTransaction<T>(db: Knex, fn: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
  if ((db as { isTransaction?: boolean }).isTransaction === true) return db.transaction(fn);
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction(fn);
    } catch (err) {
      if (!isSerializationFailure(err)) throw err;
      if (attempt >= TRANSACTION_ATTEMPTS) {
        throw new ErpcError('ERPC_ERR_STORAGE_CONTENTION', { sqlState: (err as DbError).code, attempts: attempt }, { cause: err });
      }
      await new Promise((r) => setTimeout(r, 5 + Math.random() * 20 * attempt));
    }
  }
}

/**
 * Runs one autocommit statement, again (like {@link retryingTransaction}) when the server aborts
 * it as a serialization failure or deadlock (two batches inserting the same keys in different
 * orders): the aborted statement changed nothing.
 */
export async function retryingStatement<T>(run: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (err) {
      if (!isSerializationFailure(err)) throw err;
      if (attempt >= TRANSACTION_ATTEMPTS) {
        throw new ErpcError('ERPC_ERR_STORAGE_CONTENTION', { sqlState: (err as DbError).code, attempts: attempt }, { cause: err });
      }
      await new Promise((r) => setTimeout(r, 5 + Math.random() * 20 * attempt));
    }
  }
}

// Connection-level SQLSTATEs: class 08 (connection exception), 57P01-57P03 (server shutting down,
// crash, cannot connect now), 53300 (too many connections).
const UNAVAILABLE_STATE = /^(08...|57P0[123]|53300)$/;

/**
 * The ERPC_ERR_STORAGE_* error (503) for a failure that says the database cannot be used right
 * now (unreachable, shutting down, dropped, pool exhausted, contention), or undefined. For the API's
 * error mapping, which has no knex handle: the reason names host:port as the driver does, never a URL.
 */
export function storageFailureOf(err: unknown): ErpcError | undefined {
  if (isErpcError(err) || typeof err !== 'object' || err === null) return undefined;
  const e = err as DbError;
  const code = typeof e.code === 'string' ? e.code : undefined;
  const reason = reasonOf(err, undefined);
  const target = 'the configured address (DATABASE_URL)';
  if (code !== undefined && RETRYABLE_TRANSACTION.has(code)) return new ErpcError('ERPC_ERR_STORAGE_CONTENTION', { sqlState: code, attempts: 1 }, { cause: err });
  if (code === '3D000') return new ErpcError('ERPC_ERR_STORAGE_DATABASE_MISSING', { target }, { cause: err });
  if (code !== undefined && AUTH.has(code)) return new ErpcError('ERPC_ERR_STORAGE_AUTH_FAILED', { target, reason }, { cause: err });
  if ((code !== undefined && (UNREACHABLE.has(code) || UNAVAILABLE_STATE.test(code))) || /connection terminated|timeout expired|Connection ended|not queryable|ECONNREFUSED|ECONNRESET/i.test(reason)) {
    return new ErpcError('ERPC_ERR_STORAGE_UNAVAILABLE', { target, reason }, { cause: err });
  }
  if (e.name === 'KnexTimeoutError') return new ErpcError('ERPC_ERR_STORAGE_BUSY', { target, timeoutMs: 'the configured' }, { cause: err });
  return undefined;
}
