import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { ErpcError } from '../../errors/index.js';
import type { Metrics } from '../../observability/metrics.js';

/**
 * GET /metrics: Prometheus text exposition of the host's own registry. Open by default (keep it
 * off the public internet); with ERPC_METRICS_TOKEN set it needs `Authorization: Bearer <token>`
 * (Prometheus: `authorization: { credentials: ... }` in the scrape job). Not an organisation's API
 * key: metrics span every organisation.
 */
export const metricsRoutes: FastifyPluginAsync<{ metrics: Metrics; token: string | undefined }> = async (app, { metrics, token }) => {
  // Compared as SHA-256 digests: constant time whatever the presented length.
  const expected = token === undefined ? undefined : digest(`Bearer ${token}`);
  app.get(
    '/metrics',
    {
      schema: {
        tags: ['operations'],
        summary: 'Prometheus metrics (text exposition format); needs the metrics token when ERPC_METRICS_TOKEN is set',
        // Open unless ERPC_METRICS_TOKEN is set: no security, or the metrics token.
        security: [{}, { metricsToken: [] }],
        produces: ['text/plain'],
        response: {
          200: { description: 'The Prometheus text exposition (version 0.0.4).', content: { 'text/plain': { schema: { type: 'string' } } } },
          401: { description: 'ERPC_METRICS_TOKEN is set and the bearer token is missing or wrong.', content: { 'application/json': { schema: { $ref: 'ErrorBody#' } } } },
        },
      },
    },
    async (request, reply) => {
    if (expected !== undefined) {
      const presented = request.headers.authorization;
      if (typeof presented !== 'string' || !timingSafeEqual(digest(presented), expected)) throw new ErpcError('ERPC_ERR_METRICS_AUTH');
    }
    const { contentType, body } = await metrics.render();
    return reply.type(contentType).send(body);
  },
  );
};

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
