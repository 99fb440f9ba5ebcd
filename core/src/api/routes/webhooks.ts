import type { FastifyPluginAsyncJsonSchemaToTs } from '@fastify/type-provider-json-schema-to-ts';
import {
  WEBHOOK_DELIVERY_STATUSES,
  WEBHOOK_LIMITS,
  webhookDeliveryViewSchema,
  webhookEndpointViewSchema,
  webhookEndpointWithSecretSchema,
} from '../../webhooks/webhook-types.js';
import type { WebhookService } from '../../webhooks/webhook-service.js';
import { orgOf } from '../auth.js';
import { errorResponses, idParamsSchema, pageSchema } from '../schemas.js';

const endpointFields = {
  url: { type: 'string', minLength: 1, maxLength: WEBHOOK_LIMITS.maxUrl, description: 'https URL (http only to loopback, when the operator allows it).' },
  events: {
    type: 'array',
    maxItems: 20,
    items: { type: 'string', maxLength: 64 },
    description: 'Event types to receive; default every type except push.retrying (opt-in).',
  },
  description: { type: 'string', maxLength: WEBHOOK_LIMITS.maxDescription },
  enabled: { type: 'boolean', description: 'Enabling an endpoint erpc disabled clears its failure history; its pending deliveries resume.' },
} as const;

const pageQuery = {
  limit: { type: 'integer', minimum: 1, maximum: WEBHOOK_LIMITS.maxPageSize, default: WEBHOOK_LIMITS.defaultPageSize },
  cursor: { type: 'string', maxLength: 500 },
} as const;

/** /v1/webhook-endpoints and /v1/webhook-events: the organisation's signed delivery webhooks. Org-scoped. */
export const webhookRoutes: FastifyPluginAsyncJsonSchemaToTs<{ Options: { webhooks: WebhookService } }> = async (app, { webhooks }) => {
  app.post(
    '/webhook-endpoints',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Creates a webhook endpoint; the answer carries its signing secret, shown this once',
        body: { type: 'object', additionalProperties: false, required: ['url'], properties: endpointFields },
        response: { 201: webhookEndpointWithSecretSchema, ...errorResponses(400, 401, 422) },
      },
    },
    async (request, reply) => reply.status(201).send(await webhooks.create(orgOf(request), request.body)),
  );

  app.get(
    '/webhook-endpoints',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Lists the organisation\'s webhook endpoints, oldest first (no secrets)',
        querystring: { type: 'object', additionalProperties: false, properties: pageQuery },
        response: { 200: pageSchema(webhookEndpointViewSchema), ...errorResponses(400, 401) },
      },
    },
    async (request) => webhooks.list(orgOf(request), request.query),
  );

  app.get(
    '/webhook-endpoints/:id',
    { schema: { tags: ['webhooks'], summary: 'One webhook endpoint (no secret)', params: idParamsSchema, response: { 200: webhookEndpointViewSchema, ...errorResponses(401, 404) } } },
    async (request) => webhooks.get(orgOf(request), request.params.id),
  );

  app.patch(
    '/webhook-endpoints/:id',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Changes a webhook endpoint\'s URL, events, description or enabled flag',
        params: idParamsSchema,
        body: { type: 'object', additionalProperties: false, minProperties: 1, properties: endpointFields },
        response: { 200: webhookEndpointViewSchema, ...errorResponses(400, 401, 404, 422) },
      },
    },
    async (request) => webhooks.update(orgOf(request), request.params.id, request.body),
  );

  app.delete(
    '/webhook-endpoints/:id',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Deletes a webhook endpoint and its deliveries (nothing more is sent to it)',
        params: idParamsSchema,
        response: { 204: { type: 'null', description: 'Deleted.' }, ...errorResponses(401, 404) },
      },
    },
    async (request, reply) => {
      await webhooks.delete(orgOf(request), request.params.id);
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/webhook-endpoints/:id/rotate-secret',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'A new signing secret (shown this once); the previous one keeps signing too for 24 h or until expire-old-secret',
        params: idParamsSchema,
        response: { 200: webhookEndpointWithSecretSchema, ...errorResponses(401, 404) },
      },
    },
    async (request) => webhooks.rotateSecret(orgOf(request), request.params.id),
  );

  app.post(
    '/webhook-endpoints/:id/expire-old-secret',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Ends a secret rotation now: only the new secret signs from here on',
        params: idParamsSchema,
        response: { 200: webhookEndpointViewSchema, ...errorResponses(401, 404, 409) },
      },
    },
    async (request) => webhooks.expireOldSecret(orgOf(request), request.params.id),
  );

  app.get(
    '/webhook-endpoints/:id/deliveries',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'The endpoint\'s deliveries, newest first: attempts, status codes, next attempt, last error',
        params: idParamsSchema,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { status: { type: 'string', enum: [...WEBHOOK_DELIVERY_STATUSES] }, ...pageQuery },
        },
        response: { 200: pageSchema(webhookDeliveryViewSchema), ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => webhooks.deliveries(orgOf(request), request.params.id, request.query),
  );

  app.post(
    '/webhook-events/:id/replay',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Sends an event again to its endpoints, with the same webhook-id',
        params: idParamsSchema,
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: ['eventId', 'deliveries'],
            properties: { eventId: { type: 'string', format: 'uuid' }, deliveries: { type: 'array', items: webhookDeliveryViewSchema } },
          },
          ...errorResponses(401, 404),
        },
      },
    },
    async (request) => webhooks.replay(orgOf(request), request.params.id),
  );
};
