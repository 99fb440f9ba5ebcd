import type { ErrorSpec } from './error-spec.js';
import { generalErrors } from './codes/general.js';
import { pluginErrors } from './codes/plugins.js';
import { storageErrors } from './codes/storage.js';
import { configErrors } from './codes/config.js';
import { keyErrors } from './codes/keys.js';
import { rotationErrors } from './codes/rotation.js';
import { connectionErrors } from './codes/connections.js';
import { apiErrors } from './codes/api.js';
import { pushErrors } from './codes/push.js';
import { webhookErrors } from './codes/webhooks.js';

/**
 * The one registry of error codes. Each area keeps its codes in `codes/<area>.ts`; every code
 * has a line in docs/errors.md (a test keeps them in step). Codes are never reused once retired.
 */
export const ERROR_REGISTRY = {
  ...generalErrors,
  ...pluginErrors,
  ...storageErrors,
  ...configErrors,
  ...keyErrors,
  ...rotationErrors,
  ...connectionErrors,
  ...apiErrors,
  ...pushErrors,
  ...webhookErrors,
} as const satisfies Record<string, ErrorSpec>;

/**
 * Codes erpc no longer produces. They stay documented (docs/errors.md, "Retired codes") and are
 * never given to another error, so a script that matched on one is never misled.
 */
export const RETIRED_ERROR_CODES = ['ERPC_ERR_CONNECTION_CURSOR_INVALID', 'ERPC_ERR_PUSH_CURSOR_INVALID'] as const;

/** Every error code erpc can produce. */
export type ErrorCode = keyof typeof ERROR_REGISTRY;

/** Fills a message template; params that are missing stay as `{name}`. */
export function formatMessage(template: string, params: Record<string, unknown> = {}): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : whole,
  );
}
