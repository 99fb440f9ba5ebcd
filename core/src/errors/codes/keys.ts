import type { ErrorSpec } from '../error-spec.js';

/** Encryption keys and encrypted connection configs (core/src/crypto). Messages never hold a key. */
export const keyErrors = {
  ERPC_ERR_KEY_MISSING: {
    status: 500,
    message:
      'ENCRYPTION_MASTER_KEY is not set. Generate a key with `pnpm erpc keys generate` and set ENCRYPTION_MASTER_KEY to it (64 hex characters).',
  },
  ERPC_ERR_KEY_INVALID: {
    status: 500,
    message:
      '{source} is not a valid encryption key: {reason}. A key is exactly 64 hex characters (32 bytes); generate one with `pnpm erpc keys generate`.',
  },
  ERPC_ERR_KEY_FILE_INSECURE: {
    status: 500,
    message:
      'The local key file {path} can be read by other users (mode {mode}). Run `chmod 600 {path}`, or set ENCRYPTION_MASTER_KEY instead.',
  },
  ERPC_ERR_KEY_FILE_UNREADABLE: {
    status: 500,
    message: 'The local key file {path} cannot be read or created ({reason}). Check the data directory and its permissions.',
  },
  ERPC_ERR_CONFIG_DECRYPT_FAILED: {
    status: 500,
    message: 'Configuration error',
  },
} as const satisfies Record<string, ErrorSpec>;
