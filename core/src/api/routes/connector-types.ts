import type { FastifyPluginAsyncJsonSchemaToTs } from '@fastify/type-provider-json-schema-to-ts';
import type { ConnectionService } from '../../connections/connection-service.js';
import type { ConnectorRegistry } from '../../plugins/connector-registry.js';
import { orgOf } from '../auth.js';
import { configIssueSchema, errorResponses } from '../schemas.js';

/** GET /v1/connector-types, POST /v1/connector-types/:type/validate. */
export const connectorTypeRoutes: FastifyPluginAsyncJsonSchemaToTs<{ Options: { registry: ConnectorRegistry; connections: ConnectionService } }> = async (app, { registry, connections }) => {
  app.get(
    '/connector-types',
    {
      schema: {
        tags: ['connector types'],
        summary: 'The connector types this host has loaded, with their config schemas',
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: ['items'],
            properties: {
              items: {
                type: 'array',
                items: {
                  type: 'object',
                  additionalProperties: false,
                  required: ['type', 'displayName', 'version', 'configSchema', 'documentTypes'],
                  properties: {
                    type: { type: 'string' },
                    displayName: { type: 'string' },
                    version: { type: 'string' },
                    configSchema: { type: 'object', additionalProperties: true },
                    documentTypes: { type: ['array', 'null'], items: { type: 'string' }, description: 'null: any document type.' },
                  },
                },
              },
            },
          },
          ...errorResponses(401),
        },
      },
    },
    async () => ({
      items: registry.list().map((p) => ({
        type: p.connectorType,
        displayName: p.displayName,
        version: p.version,
        configSchema: p.configSchema,
        documentTypes: p.documentTypes === undefined ? null : [...p.documentTypes],
      })),
    }),
  );

  app.post(
    '/connector-types/:type/validate',
    {
      schema: {
        tags: ['connector types'],
        summary: 'Checks a config against a connector type\'s schema without storing it',
        params: { type: 'object', required: ['type'], properties: { type: { type: 'string', maxLength: 200 } } },
        body: { type: 'object', additionalProperties: false, required: ['config'], properties: { config: {} } },
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: ['valid', 'errors'],
            properties: { valid: { type: 'boolean' }, errors: { type: 'array', items: configIssueSchema } },
          },
          ...errorResponses(400, 401),
        },
      },
    },
    async (request) => connections.validateConfig(request.params.type, request.body.config, orgOf(request)),
  );
};
