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
  ERPC_ERR_CURSOR_INVALID: {
    status: 400,
    message: 'The cursor is not one this listing returned. Pass the nextCursor of a previous page unchanged, or omit it for the first page.',
  },
} as const satisfies Record<string, ErrorSpec>;
