import type { ErrorSpec } from '../error-spec.js';

/** Errors of no particular area: input, configuration of the process, internal failures. */
export const generalErrors = {
  ERPC_ERR_INTERNAL: {
    status: 500,
    message: 'Internal error. The server log has the details.',
  },
  ERPC_ERR_USAGE: {
    status: 400,
    message: '{reason}',
  },
} as const satisfies Record<string, ErrorSpec>;
