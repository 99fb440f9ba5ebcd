import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Host, ReadinessCheck } from '../container.js';
import { installAuth } from './auth.js';
import { BODY_LIMIT, errorBodySchema, installErrorHandling, toErpcError } from './error-handler.js';
import { installJsonBodyParser } from './json-body.js';
import { connectionRoutes } from './routes/connections.js';
import { connectorTypeRoutes } from './routes/connector-types.js';
import { healthRoutes } from './routes/health.js';
import { metricsRoutes } from './routes/metrics.js';
import { pushRoutes } from './routes/pushes.js';

export interface BuildAppOptions {
  /** Readiness checks of /healthz besides the database's (e.g. the keys check of `enforceKeys`). */
  healthChecks?: readonly ReadinessCheck[];
}

/** The host's HTTP API (Fastify 5). Call `ready()` (or `listen()`) before use. */
export async function buildApp(host: Host, options: BuildAppOptions = {}): Promise<FastifyInstance> {
  const { services } = host;
  const logger = host.logger.child({ component: 'api' });
  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: BODY_LIMIT,
    // Request schemas reject unknown fields instead of silently dropping them.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: true } },
    // Request ids in log lines, not client-supplied ones.
    genReqId: undefined,
    // Errors raised before routing (e.g. FST_ERR_BAD_URL) bypass setErrorHandler; same body anyway.
    frameworkErrors: (err, _request, reply: FastifyReply) => {
      const erpc = toErpcError(err);
      void reply.status(erpc.status).type('application/json; charset=utf-8').send(erpc.toBody());
    },
  }) as unknown as FastifyInstance;

  // Fastify parses text/plain by default; every route takes JSON, so any other body is a 415.
  app.removeContentTypeParser('text/plain');
  // Exact numbers in documents, and input that could never be delivered refused with its path.
  installJsonBodyParser(app, { maxDepth: host.config.payloadMaxDepth });

  app.decorateRequest('auth', null);
  installErrorHandling(app);
  app.addSchema(errorBodySchema);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'erpc API',
        version: '1.0.0',
        description: 'Store ERP connections per organisation (credentials encrypted) and push business documents to them. Authenticate with `Authorization: Bearer <api key>`.',
      },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'erpc_<keyId>_<secret>' } } },
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  // Operations endpoints, at the root without an organisation's API key.
  const checks: ReadinessCheck[] = [{ name: 'database', check: () => host.pingDatabase() }, host.sandboxCheck, ...(options.healthChecks ?? [])];
  await app.register(healthRoutes, { checks });
  await app.register(metricsRoutes, { metrics: host.metrics, token: host.config.metricsToken });

  // The organisation's resources under /v1, behind API-key auth. To add one: write
  // `routes/<resource>.ts` exporting a FastifyPluginAsync of the services it uses, register it here.
  await app.register(
    async (v1) => {
      installAuth(v1, services.apiKeys);
      v1.addHook('onRoute', (route) => {
        route.schema = { ...route.schema, security: [{ apiKey: [] }] };
      });
      await v1.register(connectorTypeRoutes, { registry: host.registry, connections: services.connections });
      await v1.register(connectionRoutes, { connections: services.connections });
      await v1.register(pushRoutes, { pushes: services.pushes });
    },
    { prefix: '/v1' },
  );

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return app;
}
