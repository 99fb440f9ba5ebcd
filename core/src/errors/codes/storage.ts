import type { ErrorSpec } from '../error-spec.js';

/** Database access and migrations (core/src/storage). Messages name host:port, never credentials. */
export const storageErrors = {
  ERPC_ERR_STORAGE_URL_INVALID: {
    status: 500,
    message: 'DATABASE_URL is not a PostgreSQL URL: {reason}. Use postgres://user:password@host:5432/database, or unset it to use the embedded database.',
  },
  ERPC_ERR_STORAGE_UNAVAILABLE: {
    status: 503,
    message: 'The database at {target} cannot be reached: {reason}. Check DATABASE_URL and that PostgreSQL is running.',
  },
  ERPC_ERR_STORAGE_AUTH_FAILED: {
    status: 503,
    message: 'The database at {target} rejected the credentials of DATABASE_URL: {reason}',
  },
  ERPC_ERR_STORAGE_DATABASE_MISSING: {
    status: 503,
    message: 'The database at {target} does not exist. Create it (createdb) or fix the database name in DATABASE_URL.',
  },
  ERPC_ERR_STORAGE_DATA_DIR_UNUSABLE: {
    status: 500,
    message: 'The embedded database cannot use the data directory {dir}: {reason}. Check ERPC_DATA_DIR and its permissions.',
  },
  ERPC_ERR_STORAGE_BUSY: {
    status: 503,
    message: 'No database connection became free within {timeoutMs} ms ({target}).',
  },
  ERPC_ERR_STORAGE_CONTENTION: {
    status: 503,
    message: 'The database kept aborting this transaction as a serialization failure or deadlock ({sqlState}) after {attempts} attempts; nothing was changed. Try again.',
  },
  ERPC_ERR_STORAGE_MIGRATION_FAILED: {
    status: 500,
    message: 'Database migration failed on {target}: {reason}',
  },
} as const satisfies Record<string, ErrorSpec>;
