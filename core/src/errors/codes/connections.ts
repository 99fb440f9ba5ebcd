import type { ErrorSpec } from '../error-spec.js';

/** ERP connections (core/src/connections). Messages never hold a config value. */
export const connectionErrors = {
  ERPC_ERR_CONFIG_INVALID: {
    status: 422,
    message: 'The config does not match the config schema of connector type {type}; `details` lists each problem with its JSON pointer.',
  },
  ERPC_ERR_CONNECTION_NOT_FOUND: {
    status: 404,
    message: 'Connection {id} does not exist in this organisation.',
  },
  ERPC_ERR_CONNECTION_CONFLICT: {
    status: 409,
    message: 'Another connection of this organisation was activated at the same time; only one can be active. Read the connections and try again if needed.',
  },
} as const satisfies Record<string, ErrorSpec>;
