import Fastify, { type FastifyInstance, type FastifyPluginAsync, type FastifyReply } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Knex } from 'knex';
import type { ApiKeyService } from '../auth/api-key-service.js';
import type { Logger } from '../logging/logger.js';
import { TOKENS } from '../tokens.js';
import { installAuth } from './auth.js';
import { BODY_LIMIT, errorBodySchema, installErrorHandling, toErpcError } from './error-handler.js';
import type { RouteDeps } from './route-deps.js';
import { connectionRoutes } from './routes/connections.js';
import { connectorTypeRoutes } from './routes/connector-types.js';
import { healthRoutes, type HealthCheck } from './routes/health.js';
import { metricsRoutes } from './routes/metrics.js';
import { pushRoutes } from './routes/pushes.js';

/**
 * Route files mounted under /v1, behind API-key auth. To add a resource: write
 * `routes/<resource>.ts` exporting a `FastifyPluginAsync<RouteDeps>` and add it here.
 */
const V1_ROUTES: FastifyPluginAsync<RouteDeps>[] = [connectorTypeRoutes, connectionRoutes, pushRoutes];

/** Route files mounted at the root without auth (operations endpoints). */
const PUBLIC_ROUTES: FastifyPluginAsync<RouteDeps>[] = [metricsRoutes];

/** What buildApp needs of the container (tsyringe's DependencyContainer satisfies it). */
export interface ServiceResolver {
  resolve<T>(token: symbol): T;
}

export interface BuildAppOptions {
  /** Extra readiness checks for /healthz (the database check is always there). */
  healthChecks?: readonly HealthCheck[];
}

/** The host's HTTP API (Fastify 5). Call `ready()` (or `listen()`) before use. */
export async function buildApp(container: ServiceResolver, options: BuildAppOptions = {}): Promise<FastifyInstance> {
  const resolve = <T>(token: symbol): T => container.resolve<T>(token);
  const logger = resolve<Logger>(TOKENS.Logger).child({ component: 'api' });
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

  const db = resolve<Knex>(TOKENS.Db);
  const checks: HealthCheck[] = [{ name: 'database', check: async () => void (await db.raw('select 1')) }, ...(options.healthChecks ?? [])];
  await app.register(healthRoutes, { resolve, checks });
  for (const routes of PUBLIC_ROUTES) await app.register(routes, { resolve });

  const apiKeys = resolve<ApiKeyService>(TOKENS.ApiKeyService);
  await app.register(
    async (v1) => {
      installAuth(v1, apiKeys);
      v1.addHook('onRoute', (route) => {
        route.schema = { ...route.schema, security: [{ apiKey: [] }] };
      });
      for (const routes of V1_ROUTES) await v1.register(routes, { resolve });
    },
    { prefix: '/v1' },
  );

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return app;
}
