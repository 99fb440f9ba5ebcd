import type { ErrorSpec } from '../error-spec.js';

/** Accepting, reading and retrying pushes (core/src/push). */
export const pushErrors = {
  ERPC_ERR_NO_ACTIVE_CONNECTION: {
    status: 422,
    message:
      'Organisation {orgId} has no ACTIVE ERP connection, so the document cannot be accepted. Create or activate one (POST /v1/connections, POST /v1/connections/:id/activate) and push again.',
  },
  ERPC_ERR_DOCUMENT_TYPE_UNSUPPORTED: {
    status: 422,
    message: 'The active connection ({connectorType}) does not accept documents of type "{documentType}". It accepts: {accepted}.',
  },
  ERPC_ERR_IDEMPOTENCY_CONFLICT: {
    status: 409,
    message:
      'Idempotency key "{idempotencyKey}" was already used for push {pushId} with a different request ({fields} differ). Use a new key for a different document, or resend the identical request.',
  },
  ERPC_ERR_PUSH_INVALID: {
    status: 400,
    message: 'The push is invalid: {reason}',
  },
  ERPC_ERR_PUSH_NOT_FOUND: {
    status: 404,
    message: 'Push {id} does not exist.',
  },
  ERPC_ERR_PUSH_NOT_RETRYABLE: {
    status: 409,
    message: 'Push {id} is {status}; only DEAD or REJECTED pushes can be retried by hand.',
  },
  ERPC_ERR_PUSH_FILE_UNREADABLE: {
    status: 400,
    message: 'The file {path} cannot be read: {reason}',
  },
} as const satisfies Record<string, ErrorSpec>;
