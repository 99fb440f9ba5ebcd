import type { FastifyPluginAsyncJsonSchemaToTs } from '@fastify/type-provider-json-schema-to-ts';
import { CONNECTION_LIMITS, type ConnectionService } from '../../connections/connection-service.js';
import { orgOf } from '../auth.js';
import { connectionViewSchema, errorResponses, idParamsSchema, pageSchema } from '../schemas.js';


const connectionResponse = (status: number, ...errors: number[]) => ({ [status]: connectionViewSchema, ...errorResponses(401, ...errors) });

/** /v1/connections and its actions. Every call is scoped to the caller's organisation. */
export const connectionRoutes: FastifyPluginAsyncJsonSchemaToTs<{ Options: { connections: ConnectionService } }> = async (app, { connections }) => {
  app.post(
    '/connections',
    {
      schema: {
        tags: ['connections'],
        summary: 'Creates a connection; its config is validated and stored encrypted',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['connectorType', 'name', 'config'],
          properties: {
            connectorType: { type: 'string', minLength: 1, maxLength: CONNECTION_LIMITS.maxConnectorType },
            name: { type: 'string', minLength: 1, maxLength: CONNECTION_LIMITS.maxName },
            config: { type: 'object', additionalProperties: true },
            activate: { type: 'boolean', description: 'Make it the organisation\'s active connection (default false).' },
          },
        },
        response: connectionResponse(201, 400, 409, 422),
      },
    },
    async (request, reply) => {
      const view = await connections.create(orgOf(request), request.body);
      return reply.status(201).send(view);
    },
  );

  app.get(
    '/connections',
    {
      schema: {
        tags: ['connections'],
        summary: 'Lists the organisation\'s connections, oldest first',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            limit: { type: 'integer', minimum: 1, maximum: CONNECTION_LIMITS.maxPageSize, default: CONNECTION_LIMITS.defaultPageSize },
            cursor: { type: 'string', maxLength: 500 },
          },
        },
        response: {
          200: pageSchema(connectionViewSchema),
          ...errorResponses(400, 401),
        },
      },
    },
    async (request) => connections.list(orgOf(request), { limit: request.query.limit, cursor: request.query.cursor }),
  );

  app.get(
    '/connections/:id',
    { schema: { tags: ['connections'], summary: 'One connection', params: idParamsSchema, response: connectionResponse(200, 404) } },
    async (request) => connections.get(orgOf(request), request.params.id),
  );

  app.patch(
    '/connections/:id',
    {
      schema: {
        tags: ['connections'],
        summary:
          'Renames a connection and/or patches its config (JSON Merge Patch: omitted fields, secrets included, keep their values; null removes). With replaceConfig: true, config is the whole new config instead (nothing is kept): the way to re-enter a config that does not decrypt.',
        params: idParamsSchema,
        body: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          properties: {
            name: { type: 'string', minLength: 1, maxLength: CONNECTION_LIMITS.maxName },
            config: { type: 'object', additionalProperties: true },
            replaceConfig: { type: 'boolean', description: 'config replaces the stored config instead of patching it (requires config).' },
          },
          dependencies: { replaceConfig: ['config'] },
        },
        response: connectionResponse(200, 400, 404, 422),
      },
    },
    async (request) => connections.update(orgOf(request), request.params.id, request.body),
  );

  app.post(
    '/connections/:id/activate',
    {
      schema: {
        tags: ['connections'],
        summary: 'Makes this the organisation\'s active connection; the previous one is disabled',
        params: idParamsSchema,
        response: connectionResponse(200, 404, 409),
      },
    },
    async (request) => connections.activate(orgOf(request), request.params.id),
  );

  app.post(
    '/connections/:id/disable',
    {
      schema: { tags: ['connections'], summary: 'Disables a connection (the row is kept)', params: idParamsSchema, response: connectionResponse(200, 404) },
    },
    async (request) => connections.disable(orgOf(request), request.params.id),
  );

  app.post(
    '/connections/:id/test',
    {
      schema: {
        tags: ['connections'],
        summary: 'Tests the connection with its connector (time limit ERPC_TEST_TIMEOUT_MS, default 10 s)',
        params: idParamsSchema,
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: ['ok', 'latencyMs'],
            properties: { ok: { type: 'boolean' }, latencyMs: { type: 'integer' }, message: { type: 'string' } },
          },
          ...errorResponses(401, 404, 500),
        },
      },
    },
    async (request) => connections.test(orgOf(request), request.params.id),
  );
};
