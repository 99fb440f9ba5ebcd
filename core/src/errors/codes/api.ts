import type { ErrorSpec } from '../error-spec.js';

/** HTTP API, API keys and organisations (core/src/api, core/src/auth). */
export const apiErrors = {
  ERPC_ERR_AUTH_REQUIRED: {
    status: 401,
    message: 'This route needs an API key: send the header `Authorization: Bearer <api key>` (create one with `pnpm erpc orgs create NAME` or `pnpm erpc api-keys create --org ID`).',
  },
  ERPC_ERR_AUTH_INVALID: {
    status: 401,
    message: 'The API key is not valid: it is malformed, unknown or revoked. Create a new one with `pnpm erpc api-keys create --org ID`.',
  },
  ERPC_ERR_METRICS_AUTH: {
    status: 401,
    message: 'GET /metrics on this host needs `Authorization: Bearer <token>` with the value of ERPC_METRICS_TOKEN (not an API key): set it as the scrape job\'s bearer token.',
  },
  ERPC_ERR_ORG_NOT_FOUND: {
    status: 404,
    message: 'Organisation {id} does not exist. `pnpm erpc orgs list` shows the organisations.',
  },
  ERPC_ERR_API_KEY_NOT_FOUND: {
    status: 404,
    message: 'API key {id} does not exist. `pnpm erpc api-keys list --org ID` shows the keys of an organisation.',
  },
  ERPC_ERR_ROUTE_NOT_FOUND: {
    status: 404,
    message: 'No route {method} {url}. GET /openapi.json lists the routes; /docs shows them.',
  },
  ERPC_ERR_PAYLOAD_TOO_LARGE: {
    status: 413,
    message: 'The request body is larger than {limit} bytes.',
  },
  ERPC_ERR_MALFORMED_JSON: {
    status: 400,
    message: 'The request body is not valid JSON.',
  },
  ERPC_ERR_SHUTTING_DOWN: {
    status: 503,
    message: 'This server is shutting down and takes no new requests; retry, another instance will answer.',
  },
  ERPC_ERR_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    message: 'Content-Type {contentType} is not supported; send `Content-Type: application/json`.',
  },
  ERPC_ERR_BAD_REQUEST: {
    status: 400,
    message: 'The request is malformed: {reason}',
  },
  ERPC_ERR_INPUT_REFUSED: {
    status: 422,
    message: 'The input at {path} cannot be accepted: {reason}. Nothing was stored.',
  },
  ERPC_ERR_VALIDATION: {
    status: 400,
    message: 'The request does not match the route schema; `details` lists each problem.',
  },
} as const satisfies Record<string, ErrorSpec>;
