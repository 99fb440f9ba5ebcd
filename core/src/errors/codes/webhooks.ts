import type { ErrorSpec } from '../error-spec.js';

/** Webhook endpoints, events and deliveries (core/src/webhooks). Messages never hold a secret. */
export const webhookErrors = {
  ERPC_ERR_WEBHOOK_URL_INVALID: {
    status: 422,
    message: 'The webhook URL is not usable: {reason}',
  },
  ERPC_ERR_WEBHOOK_URL_INSECURE: {
    status: 422,
    message:
      'The webhook URL must use https. Plain http is accepted only to a loopback address, and only when the operator sets ERPC_WEBHOOKS_ALLOW_HTTP=loopback.',
  },
  ERPC_ERR_WEBHOOK_URL_PRIVATE: {
    status: 422,
    message:
      'The webhook URL\'s host {host} is (or resolves to) {address}, a {range} address; webhooks are sent only to public addresses unless the operator allows that network (ERPC_WEBHOOKS_ALLOWED_NETWORKS).',
  },
  ERPC_ERR_WEBHOOK_URL_UNRESOLVABLE: {
    status: 422,
    message: 'The webhook URL\'s host {host} does not resolve ({reason}). Check the name, or create the DNS record first.',
  },
  ERPC_ERR_WEBHOOK_EVENT_TYPE_UNKNOWN: {
    status: 422,
    message: 'Unknown webhook event type "{type}". The event types are: {known}.',
  },
  ERPC_ERR_WEBHOOK_ENDPOINT_NOT_FOUND: {
    status: 404,
    message: 'Webhook endpoint {id} does not exist in this organisation.',
  },
  ERPC_ERR_WEBHOOK_EVENT_NOT_FOUND: {
    status: 404,
    message: 'Webhook event {id} does not exist in this organisation.',
  },
  ERPC_ERR_WEBHOOK_NO_PREVIOUS_SECRET: {
    status: 409,
    message: 'Webhook endpoint {id} has no previous signing secret to expire (no rotation is in progress).',
  },
} as const satisfies Record<string, ErrorSpec>;
