import type { FastifyPluginAsync } from 'fastify';
import type { Metrics } from '../../observability/metrics.js';
import { TOKENS } from '../../tokens.js';
import type { RouteDeps } from '../route-deps.js';

/** GET /metrics: Prometheus text exposition of the host's own registry (no auth; keep it off the public internet). */
export const metricsRoutes: FastifyPluginAsync<RouteDeps> = async (app, { resolve }) => {
  const metrics = resolve<Metrics>(TOKENS.Metrics);
  app.get('/metrics', { schema: { tags: ['operations'], summary: 'Prometheus metrics (text exposition format)' } }, async (_request, reply) => {
    const { contentType, body } = await metrics.render();
    return reply.type(contentType).send(body);
  });
};
