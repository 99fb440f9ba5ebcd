import type { ErrorSpec } from '../error-spec.js';

/**
 * Key rotation, the start-up key check and the import of rows from the original system
 * (core/src/keys). Messages name key ids, row counts, line numbers and connection ids, never a
 * key, a ciphertext or a config value.
 */
export const rotationErrors = {
  ERPC_ERR_KEY_NOT_LOADED: {
    status: 503,
    message:
      'Connection configs are stored under encryption keys that are not loaded: {missing}. Usually ENCRYPTION_MASTER_KEY is wrong or a previous key was removed too early: set ENCRYPTION_MASTER_KEY to the right key, or add the missing keys to ENCRYPTION_PREVIOUS_KEYS (`pnpm erpc keys status` lists the key ids). To start anyway (those connections then answer "Configuration error"), pass --allow-missing-keys or set ERPC_ALLOW_MISSING_KEYS=1.',
  },
  ERPC_ERR_KEY_ROTATION_INCOMPLETE: {
    status: 500,
    message:
      'Key rotation finished with {failed} row(s) that do not decrypt and {remaining} row(s) still under an old key. The rows are listed above (connection id and reason); fix or delete them, then run `pnpm erpc keys rotate` again.',
  },
  ERPC_ERR_EMBEDDED_DB_IN_USE: {
    status: 409,
    message:
      '`erpc serve` is running on the embedded database in {dataDir}, and only one process can open it. Stop the server, run the command, then start it again (or use PostgreSQL through DATABASE_URL to run it online).',
  },
  ERPC_ERR_IMPORT_FILE_UNREADABLE: {
    status: 400,
    message: 'The import file {path} cannot be read ({reason}).',
  },
  ERPC_ERR_IMPORT_INVALID: {
    status: 422,
    message:
      'The import file has {count} invalid row(s); nothing was imported. Each problem is listed with its line number. Fix the file, or pass --skip-invalid to import only the valid rows (structural errors and ACTIVE conflicts are never skipped).',
  },
  ERPC_ERR_IMPORT_ACTIVE_CONFLICT: {
    status: 409,
    message:
      'The import would leave more than one ACTIVE connection in an organisation: {conflicts}. Nothing was imported. Mark all but one of them DISABLED in the file (or disable the existing connection first).',
  },
  ERPC_ERR_IMPORT_CONCURRENT: {
    status: 409,
    message:
      'Another import of some of the same rows finished while this one ran; nothing was imported by this run. Run the import again: rows imported before are recognised and skipped.',
  },
} as const satisfies Record<string, ErrorSpec>;
