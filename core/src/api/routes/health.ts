import type { FastifyPluginAsync } from 'fastify';
import type { ReadinessCheck } from '../../container.js';

/**
 * The readiness checks: each resolves when healthy and rejects (or resolves false) when not; one
 * resolving `{ ok, details }` has `details` shown under `details.<name>` (the keys check's missing
 * key ids). Never a secret.
 */
export interface HealthRoutesOptions {
  checks: readonly ReadinessCheck[];
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
      const details: Record<string, Record<string, unknown>> = {};
      for (const c of checks) {
        try {
          const outcome = await c.check();
          if (typeof outcome === 'object' && outcome !== null) {
            results[c.name] = outcome.ok ? 'ok' : 'fail';
            if (outcome.details !== undefined) details[c.name] = outcome.details;
          } else results[c.name] = outcome === false ? 'fail' : 'ok';
        } catch (err) {
          request.log.warn({ check: c.name, err }, 'health check failed');
          results[c.name] = 'fail';
        }
      }
      const ok = Object.values(results).every((r) => r === 'ok');
      return reply
        .status(ok ? 200 : 503)
        .send({ status: ok ? 'ok' : 'fail', checks: results, ...(Object.keys(details).length > 0 ? { details } : {}) });
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
    // Per-check details; the keys check: {active, missing: [{keyId, rows}]} (key ids, never keys).
    details: { type: 'object', additionalProperties: { type: 'object', additionalProperties: true } },
  },
} as const;
