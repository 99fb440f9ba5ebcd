import { isDeepStrictEqual } from 'node:util';
import { connectionViewSchema } from '../connections/connection-view.js';
import type { ConnectorRegistry } from '../plugins/connector-registry.js';
import { pushViewSchema } from '../push/push-types.js';

type Json = Record<string, unknown>;

/**
 * Finishes the OpenAPI document @fastify/swagger builds from the route schemas, so code
 * generators are happy with it (ADR 0032): an operationId on every operation (named here, in
 * one table), real response descriptions, the statuses every route can send (413, 415, 500,
 * 503 from the server itself), `servers`, shared schemas as `components` referenced by `$ref`,
 * examples, and each connection's `config` typed per loaded connector type (a `oneOf`
 * discriminated by `connectorType`, with each plugin's config schema, writeOnly kept).
 */
export function finishOpenApiDocument(doc: Json, registry: ConnectorRegistry): Json {
  const out = structuredClone(doc) as Json & { paths: Record<string, Record<string, Json>>; components: Json & { schemas?: Record<string, unknown> } };
  out.servers = [{ url: 'http://127.0.0.1:3000', description: '`erpc serve` on its default address (PORT, HOST)' }];
  out.tags = [
    { name: 'connector types', description: 'The connector plugins this host has loaded.' },
    { name: 'connections', description: 'An organisation\'s ERP connections (configs stored encrypted, secrets never returned).' },
    { name: 'pushes', description: 'Documents pushed into the organisation\'s ERP through its active connection.' },
    { name: 'webhooks', description: 'Signed delivery webhooks (Standard Webhooks) telling the application how its pushes ended.' },
    { name: 'operations', description: 'Health, readiness and metrics (no API key).' },
  ];
  const schemas = (out.components.schemas ??= {});
  schemas.Connection = connectionViewSchema;
  schemas.Push = pushViewSchema;
  const plugins = registry.list();
  for (const p of plugins) schemas[configSchemaName(p.connectorType)] = stripIds(p.configSchema);

  for (const [path, ops] of Object.entries(out.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const key = `${method.toUpperCase()} ${path}`;
      op.operationId ??= OPERATION_IDS[key] ?? camel(key);
      const responses = (op.responses ??= {}) as Record<string, Json>;
      const hasBody = op.requestBody !== undefined;
      for (const [status, extra] of Object.entries(SERVER_ERRORS)) {
        if (extra.bodyOnly === true && !hasBody) continue;
        responses[status] ??= { description: extra.description, content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBody' } } } };
      }
      for (const [status, response] of Object.entries(responses)) {
        if (response.description === undefined || response.description === 'Default Response') response.description = describe(status, key);
        replaceShared(response, schemas);
      }
      if (hasBody) replaceShared(op.requestBody as Json, schemas);
      const example = EXAMPLES[key];
      const media = ((op.requestBody as Json | undefined)?.content as Record<string, Json> | undefined)?.['application/json'];
      if (example !== undefined && media !== undefined) media.example = example;
    }
  }

  // Fastify validates with draft-07 Ajv (`dependencies`); OpenAPI 3.1 is 2020-12 (`dependentRequired`).
  toDependentRequired(out.paths);

  // The config of a new connection, typed per loaded connector type.
  const create = out.paths['/v1/connections']?.post;
  const body = ((create?.requestBody as Json | undefined)?.content as Record<string, Json> | undefined)?.['application/json'];
  if (body !== undefined && plugins.length > 0) {
    const base = body.schema as Json & { properties: Json; required: string[] };
    const mapping: Record<string, string> = {};
    for (const p of plugins) {
      const name = configSchemaName(p.connectorType).replace(/Config$/, 'ConnectionInput');
      schemas[name] = {
        ...base,
        title: `${p.connectorType} connection`,
        properties: { ...base.properties, connectorType: { type: 'string', const: p.connectorType }, config: { $ref: `#/components/schemas/${configSchemaName(p.connectorType)}` } },
      };
      mapping[p.connectorType] = `#/components/schemas/${name}`;
    }
    body.schema = { oneOf: Object.values(mapping).map(($ref) => ({ $ref })), discriminator: { propertyName: 'connectorType', mapping } };
  }
  return out;
}

function toDependentRequired(node: unknown): void {
  if (typeof node !== 'object' || node === null) return;
  const o = node as Json;
  const deps = o.dependencies;
  if (typeof deps === 'object' && deps !== null && Object.values(deps).every(Array.isArray)) {
    delete o.dependencies;
    o.dependentRequired = deps;
  }
  for (const v of Object.values(o)) toDependentRequired(v);
}

/** `MOCK` → `MockConfig`, `SFTP_DROPZONE_JSON_V1` → `SftpDropzoneJsonV1Config`. */
function configSchemaName(type: string): string {
  return `${type.toLowerCase().split('_').map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('')}Config`;
}

/** A plugin's `$id`/`$schema` would be resolved against the document; the schema stays as written otherwise. */
function stripIds(schema: Readonly<Record<string, unknown>>): Json {
  const { $id: _id, $schema: _schema, ...rest } = schema as Json;
  return rest;
}

/** Replaces each inline copy of a shared schema (components) by a `$ref` to it. */
function replaceShared(node: unknown, schemas: Record<string, unknown>): void {
  if (typeof node !== 'object' || node === null) return;
  for (const [k, v] of Object.entries(node as Json)) {
    if (typeof v !== 'object' || v === null) continue;
    const name = (['Connection', 'Push'] as const).find((n) => isDeepStrictEqual(withoutDescription(v), withoutDescription(schemas[n])));
    if (name !== undefined) (node as Json)[k] = { $ref: `#/components/schemas/${name}` };
    else replaceShared(v, schemas);
  }
}

function withoutDescription(v: unknown): unknown {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return v;
  const { description: _d, ...rest } = v as Json;
  return JSON.parse(JSON.stringify(rest));
}

function camel(key: string): string {
  return key
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean)
    .map((w, i) => (i === 0 ? w : w.charAt(0).toUpperCase() + w.slice(1)))
    .join('');
}

const OPERATION_IDS: Record<string, string> = {
  'GET /v1/connector-types': 'listConnectorTypes',
  'POST /v1/connector-types/{type}/validate': 'validateConnectorConfig',
  'POST /v1/connections': 'createConnection',
  'GET /v1/connections': 'listConnections',
  'GET /v1/connections/{id}': 'getConnection',
  'PATCH /v1/connections/{id}': 'updateConnection',
  'POST /v1/connections/{id}/activate': 'activateConnection',
  'POST /v1/connections/{id}/disable': 'disableConnection',
  'POST /v1/connections/{id}/test': 'testConnection',
  'POST /v1/pushes': 'createPush',
  'GET /v1/pushes': 'listPushes',
  'GET /v1/pushes/stats': 'getPushStats',
  'GET /v1/pushes/{id}': 'getPush',
  'POST /v1/pushes/{id}/retry': 'retryPush',
  'POST /v1/webhook-endpoints': 'createWebhookEndpoint',
  'GET /v1/webhook-endpoints': 'listWebhookEndpoints',
  'GET /v1/webhook-endpoints/{id}': 'getWebhookEndpoint',
  'PATCH /v1/webhook-endpoints/{id}': 'updateWebhookEndpoint',
  'DELETE /v1/webhook-endpoints/{id}': 'deleteWebhookEndpoint',
  'POST /v1/webhook-endpoints/{id}/rotate-secret': 'rotateWebhookSecret',
  'POST /v1/webhook-endpoints/{id}/expire-old-secret': 'expireOldWebhookSecret',
  'GET /v1/webhook-endpoints/{id}/deliveries': 'listWebhookDeliveries',
  'POST /v1/webhook-events/{id}/replay': 'replayWebhookEvent',
  'GET /metrics': 'getMetrics',
};

/** What the server itself may answer on any route (or any route with a body). */
const SERVER_ERRORS: Record<string, { description: string; bodyOnly?: boolean }> = {
  413: { description: 'The request body is larger than 1 MiB (ERPC_ERR_PAYLOAD_TOO_LARGE).', bodyOnly: true },
  415: { description: 'The body is not `application/json` (ERPC_ERR_UNSUPPORTED_MEDIA_TYPE).', bodyOnly: true },
  500: { description: 'Internal error, or a stored config that does not decrypt ("Configuration error"); the server log has the details.' },
  503: { description: 'The server is shutting down (ERPC_ERR_SHUTTING_DOWN) or its database is unavailable: retry.' },
};

function describe(status: string, key: string): string {
  switch (status) {
    case '200':
      return key === 'POST /v1/pushes' ? 'An idempotent replay: the push already accepted with this key.' : 'OK.';
    case '201':
      return 'Created.';
    case '202':
      return 'Accepted into the outbox; a worker delivers it.';
    case '400':
      return 'The request does not match the schema (ERPC_ERR_VALIDATION, `details` lists the fields) or is malformed.';
    case '401':
      return key === 'GET /metrics' ? 'ERPC_METRICS_TOKEN is set and the bearer token is missing or wrong.' : 'No API key, or one that is malformed, unknown or revoked.';
    case '404':
      return 'No such resource in the caller\'s organisation.';
    case '409':
      return 'Conflicts with the current state (e.g. the idempotency key was used with another payload, or the state does not allow it).';
    case '204':
      return 'Done; no body.';
    case '422':
      if (key.includes('webhook')) return 'Refused: a webhook URL that is not allowed (ERPC_ERR_WEBHOOK_URL_*) or an unknown event type.';
      return 'Refused by the connector type (a config that fails its schema, a document type it does not accept, no active connection).';
    case '503':
      return 'Not ready, or shutting down.';
    default:
      return `HTTP ${status}.`;
  }
}

const EXAMPLES: Record<string, unknown> = {
  'POST /v1/webhook-endpoints': { url: 'https://app.example.com/erpc/webhooks', events: ['push.delivered', 'push.acknowledged', 'push.rejected', 'push.dead'], description: 'Invoice status column' },
  'POST /v1/connections': { connectorType: 'MOCK', name: 'Mock ERP', config: { apiKey: 's3cret' }, activate: true },
  'POST /v1/pushes': { documentType: 'invoice', documentId: 'INV-1001', payload: { total: '118.00', currency: 'EUR' } },
  'POST /v1/connector-types/{type}/validate': { config: { behavior: 'ok' } },
  'PATCH /v1/connections/{id}': { name: 'Mock ERP (renamed)' },
};
