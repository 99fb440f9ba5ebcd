import type { FastifyPluginAsync } from 'fastify';
import type { RouteDeps } from '../route-deps.js';

/** A readiness check; later issues add theirs (e.g. keys) to the list handed to the route. */
export interface HealthCheck {
  name: string;
  /** Resolves when healthy; rejects (or resolves false) when not. Never returns a secret. */
  check(): Promise<boolean | void>;
}

export interface HealthRoutesOptions extends RouteDeps {
  checks: readonly HealthCheck[];
}

/** GET /healthz (no auth). */
export const healthRoutes: FastifyPluginAsync<HealthRoutesOptions> = async (app, { checks }) => {
  app.get(
    '/healthz',
    {
      schema: {
        tags: ['operations'],
        summary: 'Readiness: 200 when every check passes, 503 otherwise',
        response: {
          '2xx': healthBody,
          503: healthBody,
        },
      },
    },
    async (request, reply) => {
      const results: Record<string, 'ok' | 'fail'> = {};
      for (const c of checks) {
        try {
          results[c.name] = (await c.check()) === false ? 'fail' : 'ok';
        } catch (err) {
          request.log.warn({ check: c.name, err }, 'health check failed');
          results[c.name] = 'fail';
        }
      }
      const ok = Object.values(results).every((r) => r === 'ok');
      return reply.status(ok ? 200 : 503).send({ status: ok ? 'ok' : 'fail', checks: results });
    },
  );

};

const healthBody = {
  type: 'object',
  additionalProperties: false,
  required: ['status', 'checks'],
  properties: {
    status: { type: 'string', enum: ['ok', 'fail'] },
    checks: { type: 'object', additionalProperties: { type: 'string', enum: ['ok', 'fail'] } },
  },
} as const;
