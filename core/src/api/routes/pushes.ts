import type { FastifyPluginAsyncJsonSchemaToTs } from '@fastify/type-provider-json-schema-to-ts';
import { PUSH_LIMITS, type PushService } from '../../push/push-service.js';
import { PUSH_STATUSES, pushViewSchema } from '../../push/push-types.js';
import { authenticated, orgOf, presentedKeyOf } from '../auth.js';
import { errorResponses, idParamsSchema, pageSchema } from '../schemas.js';

const acceptedSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'status'],
  properties: { id: { type: 'string', format: 'uuid' }, status: { type: 'string', enum: [...PUSH_STATUSES] } },
} as const;

/** /v1/pushes: accept documents, read their delivery record, retry dead letters. Org-scoped. */
export const pushRoutes: FastifyPluginAsyncJsonSchemaToTs<{ Options: { pushes: PushService } }> = async (app, { pushes }) => {

  app.post(
    '/pushes',
    {
      config: { authInStatement: true },
      schema: {
        tags: ['pushes'],
        summary: 'Accepts a document for delivery to the organisation\'s active connection (202; 200 for an idempotent replay)',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['documentType', 'documentId', 'payload'],
          properties: {
            documentType: { type: 'string', pattern: PUSH_LIMITS.documentTypePattern.source },
            documentId: { type: 'string', minLength: 1, maxLength: PUSH_LIMITS.maxDocumentId },
            idempotencyKey: {
              type: 'string',
              minLength: 1,
              maxLength: PUSH_LIMITS.maxIdempotencyKey,
              description: 'Defaults to "<documentType>:<documentId>". The same key with the same payload returns the existing push.',
            },
            payload: { type: 'object', additionalProperties: true },
          },
        },
        response: { 202: acceptedSchema, 200: acceptedSchema, ...errorResponses(400, 401, 409, 413, 422) },
      },
    },
    async (request, reply) => {
      // The key's check is part of the accept statement: one round trip (ADR 0044).
      const key = presentedKeyOf(request);
      const { orgId, push, created } = await pushes.acceptWithKey(key, request.body);
      authenticated(request, { orgId, keyId: key.keyId });
      return reply.status(created ? 202 : 200).send({ id: push.id, status: push.status });
    },
  );

  app.get(
    '/pushes',
    {
      schema: {
        tags: ['pushes'],
        summary: 'Lists the organisation\'s pushes, newest first (keyset pagination)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            status: { type: 'string', enum: [...PUSH_STATUSES] },
            documentType: { type: 'string', maxLength: 64 },
            limit: { type: 'integer', minimum: 1, maximum: PUSH_LIMITS.maxPageSize, default: PUSH_LIMITS.defaultPageSize },
            cursor: { type: 'string', maxLength: 500 },
          },
        },
        response: {
          200: pageSchema(pushViewSchema),
          ...errorResponses(400, 401),
        },
      },
    },
    async (request) => pushes.list(orgOf(request), request.query),
  );

  app.get(
    '/pushes/stats',
    {
      schema: {
        tags: ['pushes'],
        summary: 'Counts of the organisation\'s pushes by status',
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: ['counts', 'total'],
            properties: {
              counts: {
                type: 'object',
                additionalProperties: false,
                required: [...PUSH_STATUSES],
                properties: Object.fromEntries(PUSH_STATUSES.map((s) => [s, { type: 'integer' }])),
              },
              total: { type: 'integer' },
            },
          },
          ...errorResponses(401),
        },
      },
    },
    async (request) => pushes.stats(orgOf(request)),
  );

  app.get(
    '/pushes/:id',
    { schema: { tags: ['pushes'], summary: 'One push, with its payload and delivery record', params: idParamsSchema, response: { 200: pushViewSchema, ...errorResponses(401, 404) } } },
    async (request) => pushes.get(orgOf(request), request.params.id),
  );

  app.post(
    '/pushes/retry',
    {
      schema: {
        tags: ['pushes'],
        summary: 'Bulk recovery: puts every DEAD push of the organisation matching the filter back to PENDING, in batches; answers how many were requeued',
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            code: { type: 'string', minLength: 1, maxLength: 256, description: 'Only dead letters whose last error has this code (e.g. DROPZONE_DISK_FULL).' },
            connectionId: { type: 'string', format: 'uuid' },
            documentType: { type: 'string', pattern: PUSH_LIMITS.documentTypePattern.source },
            deadAfter: { type: 'string', format: 'date-time', description: 'Only those that became dead at or after this time.' },
            deadBefore: { type: 'string', format: 'date-time', description: 'Only those that became dead before this time.' },
            dryRun: { type: 'boolean', default: false, description: 'Only count the matching dead letters.' },
          },
        },
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: ['requeued', 'matched', 'dryRun'],
            properties: {
              requeued: { type: 'integer', description: 'Dead letters put back to PENDING by this call (0 on a dry run; 0 when repeated).' },
              matched: { type: 'integer', description: 'Dead letters that matched the filter when the call started.' },
              dryRun: { type: 'boolean' },
            },
          },
          ...errorResponses(400, 401, 422),
        },
      },
    },
    async (request) => {
      const { dryRun, ...filter } = request.body;
      return pushes.retryDead(orgOf(request), filter, { dryRun: dryRun === true });
    },
  );

  app.post(
    '/pushes/:id/retry',
    {
      schema: {
        tags: ['pushes'],
        summary: 'Puts a DEAD or REJECTED push back to PENDING (attempts reset)',
        params: idParamsSchema,
        response: { 200: pushViewSchema, ...errorResponses(401, 404, 409) },
      },
    },
    async (request) => pushes.retry(orgOf(request), request.params.id),
  );
};
