import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Host, ReadinessCheck } from '../container.js';
import { installAuth } from './auth.js';
import { installJsonBodyParser } from './json-body.js';
import { ErpcError } from '../errors/index.js';
import { requestLogger, type Logger } from '../logging/logger.js';
import { REQUEST_ID_PATTERN, runInRequestContext } from '../logging/request-context.js';
import { BODY_LIMIT, errorBodyOf, errorBodySchema, installErrorHandling, toErpcError } from './error-handler.js';
import { isClosing } from './http-server.js';
import { finishOpenApiDocument } from './openapi.js';
import { connectionRoutes } from './routes/connections.js';
import { connectorTypeRoutes } from './routes/connector-types.js';
import { healthRoutes } from './routes/health.js';
import { metricsRoutes } from './routes/metrics.js';
import { pushRoutes } from './routes/pushes.js';
import { webhookRoutes } from './routes/webhooks.js';

export interface BuildAppOptions {
  /** Readiness checks besides the host's own (`host.readiness`: database, plugins, keys, shutdown). */
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
    // A valid X-Request-Id is kept (a caller's trace id), anything else gets a UUID.
    genReqId: requestIdOf,
    // The id reaches every log line: the request's own logger binds it (Fastify logs "incoming
    // request" before any hook), services' lines get it from the request context (logger mixin).
    childLoggerFactory: (parent, bindings, opts, raw) => {
      const { reqId, ...rest } = bindings as { reqId?: unknown };
      return requestLogger(parent as Logger, String(reqId ?? (raw as { id?: string }).id ?? ''), rest, opts) as never;
    },
    // Requests that arrive once the server is closing get our 503 body (onRequest below).
    return503OnClosing: false,
    // Errors raised before routing (e.g. FST_ERR_BAD_URL) bypass setErrorHandler; same body anyway.
    frameworkErrors: (err, request, reply: FastifyReply) => {
      const erpc = toErpcError(err);
      void reply.status(erpc.status).type('application/json; charset=utf-8').send(errorBodyOf(erpc, request.id));
    },
  }) as unknown as FastifyInstance;

  // Fastify parses text/plain by default; every route takes JSON, so any other body is a 415.
  app.removeContentTypeParser('text/plain');
  // Exact numbers in documents, and input that could never be delivered refused with its path.
  installJsonBodyParser(app, { maxDepth: host.config.payloadMaxDepth });

  app.decorateRequest('auth', null);
  // Everything the request runs (hooks, handler, services) sees its id (@fastify/request-context's pattern).
  app.addHook('onRequest', (request, _reply, done) => runInRequestContext({ requestId: request.id }, done));
  // The hooks of every request take callbacks, not promises: no promise and no extra turn of the
  // microtask queue per hook and request.
  app.addHook('onRequest', (_request, _reply, done) => {
    done(isClosing(app) ? new ErpcError('ERPC_ERR_SHUTTING_DOWN') : undefined);
  });
  app.addHook('onSend', (request, reply, payload, done) => {
    void reply.header('x-request-id', request.id);
    // From the stop signal on, every answer ends its connection: a keep-alive client reconnects
    // (elsewhere) instead of holding a socket the server would have to wait for (ADR 0031).
    if (host.readiness.shuttingDown) void reply.header('connection', 'close');
    done(null, payload);
  });
  // host.metrics resolves the (single) registry from the container: once, not per request.
  let metrics: Host['metrics'] | undefined;
  app.addHook('onResponse', (request, reply, done) => {
    (metrics ??= host.metrics).observeHttpRequest(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
  installErrorHandling(app);
  app.addSchema(errorBodySchema);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'erpc API',
        version: '1.0.0',
        license: { name: 'MIT', identifier: 'MIT' },
        description: 'Store ERP connections per organisation (credentials encrypted) and push business documents to them. Authenticate with `Authorization: Bearer <api key>`.',
      },
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer', description: 'erpc_<keyId>_<secret>' },
          metricsToken: { type: 'http', scheme: 'bearer', description: 'The value of ERPC_METRICS_TOKEN (when set).' },
        },
      },
    },
    transformObject: (documentObject) => finishOpenApiDocument((documentObject as { openapiObject: Record<string, unknown> }).openapiObject, host.registry) as never,
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  // Operations endpoints, at the root without an organisation's API key.
  for (const check of options.healthChecks ?? []) host.readiness.add(check);
  await app.register(healthRoutes, { readiness: host.readiness });
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
      await v1.register(webhookRoutes, { webhooks: services.webhooks });
    },
    { prefix: '/v1' },
  );

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return app;
}

/** The request's id: a valid incoming X-Request-Id, else a new UUID. */
function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID_PATTERN.test(given) ? given : randomUUID();
}
