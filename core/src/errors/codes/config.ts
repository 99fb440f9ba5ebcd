import type { ErrorSpec } from '../error-spec.js';

/** Settings of the process, from the environment and the command line (core/src/settings). */
export const configErrors = {
  ERPC_ERR_SETTING_INVALID: {
    status: 500,
    message: 'The setting {name} is invalid: {reason}',
  },
} as const satisfies Record<string, ErrorSpec>;
