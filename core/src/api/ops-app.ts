import Fastify, { type FastifyInstance } from 'fastify';
import type { Host } from '../container.js';
import { ErpcError } from '../errors/index.js';
import { errorBodySchema, installErrorHandling } from './error-handler.js';
import { isClosing } from './http-server.js';
import { healthRoutes } from './routes/health.js';
import { metricsRoutes } from './routes/metrics.js';

/**
 * The operations port of `erpc worker --http-port N`: `/healthz`, `/livez`, `/readyz` and
 * `/metrics` (the metrics token applies as on `serve`), nothing else. Same readiness and
 * metrics registry as the host's, so the worker's counters are scraped here.
 */
export async function buildOpsApp(host: Host): Promise<FastifyInstance> {
  const app = Fastify({ loggerInstance: host.logger.child({ component: 'ops-http' }), return503OnClosing: false, disableRequestLogging: true }) as unknown as FastifyInstance;
  installErrorHandling(app);
  app.addSchema(errorBodySchema);
  app.addHook('onRequest', async () => {
    if (isClosing(app)) throw new ErpcError('ERPC_ERR_SHUTTING_DOWN');
  });
  app.addHook('onSend', async (_request, reply) => {
    if (host.readiness.shuttingDown) void reply.header('connection', 'close');
  });
  app.addHook('onResponse', async (request, reply) => {
    host.metrics.observeHttpRequest(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
  });
  await app.register(healthRoutes, { readiness: host.readiness });
  await app.register(metricsRoutes, { metrics: host.metrics, token: host.config.metricsToken });
  return app;
}
