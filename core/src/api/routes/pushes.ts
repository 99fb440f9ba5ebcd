import type { FastifyPluginAsync } from 'fastify';
import type { PushService } from '../../push/push-service.js';
import { PUSH_STATUSES } from '../../push/push-types.js';
import { orgOf } from '../auth.js';
import { errorResponses, idParamsSchema, pageSchema } from '../schemas.js';

const nullableDate = { type: ['string', 'null'], format: 'date-time' } as const;
const nullableObject = { type: ['object', 'null'], additionalProperties: true } as const;

/** A push as the API shows it. Listed fields only: lease internals never leave the host. */
export const pushViewSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'status', 'connectionId', 'connectorType', 'documentType', 'documentId', 'idempotencyKey', 'payloadSha256', 'attempts', 'createdAt', 'updatedAt'],
  properties: {
    id: { type: 'string', format: 'uuid' },
    status: { type: 'string', enum: [...PUSH_STATUSES] },
    connectionId: { type: 'string', format: 'uuid', description: 'The connection the push was accepted for; it is never delivered elsewhere.' },
    connectorType: { type: 'string' },
    documentType: { type: 'string' },
    documentId: { type: 'string' },
    idempotencyKey: { type: 'string' },
    payloadSha256: { type: 'string', description: 'SHA-256 (hex) of the payload\'s canonical JSON (keys sorted).' },
    attempts: { type: 'integer' },
    nextAttemptAt: { ...nullableDate, description: 'When a PENDING push is due.' },
    lastError: {
      type: ['object', 'null'],
      additionalProperties: false,
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' } },
    },
    externalRef: { type: ['string', 'null'], description: 'The ERP-side reference the connector returned.' },
    receiptDetails: nullableObject,
    ackDetails: nullableObject,
    ackDeadline: nullableDate,
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
    lastAttemptAt: nullableDate,
    deliveredAt: nullableDate,
    acknowledgedAt: nullableDate,
    rejectedAt: nullableDate,
    deadAt: nullableDate,
    manualRetries: { type: 'integer' },
    retriedAt: nullableDate,
    payload: { type: 'object', additionalProperties: true, description: 'Only in GET /v1/pushes/:id.' },
  },
} as const;

const acceptedSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'status'],
  properties: { id: { type: 'string', format: 'uuid' }, status: { type: 'string', enum: [...PUSH_STATUSES] } },
} as const;

type IdParams = { Params: { id: string } };

/** /v1/pushes: accept documents, read their delivery record, retry dead letters. Org-scoped. */
export const pushRoutes: FastifyPluginAsync<{ pushes: PushService }> = async (app, { pushes }) => {

  app.post<{ Body: { documentType: string; documentId: string; idempotencyKey?: string; payload: Record<string, unknown> } }>(
    '/pushes',
    {
      schema: {
        tags: ['pushes'],
        summary: 'Accepts a document for delivery to the organisation\'s active connection (202; 200 for an idempotent replay)',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['documentType', 'documentId', 'payload'],
          properties: {
            documentType: { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9_.-]{0,63}$' },
            documentId: { type: 'string', minLength: 1, maxLength: 256 },
            idempotencyKey: {
              type: 'string',
              minLength: 1,
              maxLength: 512,
              description: 'Defaults to "<documentType>:<documentId>". The same key with the same payload returns the existing push.',
            },
            payload: { type: 'object', additionalProperties: true },
          },
        },
        response: { 202: acceptedSchema, 200: acceptedSchema, ...errorResponses(400, 401, 409, 413, 422) },
      },
    },
    async (request, reply) => {
      const { push, created } = await pushes.accept(orgOf(request), request.body);
      return reply.status(created ? 202 : 200).send({ id: push.id, status: push.status });
    },
  );

  app.get<{ Querystring: { status?: string; documentType?: string; limit?: number; cursor?: string } }>(
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
            limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
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

  app.get<IdParams>(
    '/pushes/:id',
    { schema: { tags: ['pushes'], summary: 'One push, with its payload and delivery record', params: idParamsSchema, response: { 200: pushViewSchema, ...errorResponses(401, 404) } } },
    async (request) => pushes.get(orgOf(request), request.params.id),
  );

  app.post<IdParams>(
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
