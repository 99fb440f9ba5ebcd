import type { FastifyPluginAsync } from 'fastify';
import type { Readiness } from '../../health/readiness.js';

/** The process's readiness (its checks; `shutdown` once a stop signal came). */
export interface HealthRoutesOptions {
  readiness: Readiness;
}

/**
 * GET /livez (the process answers), GET /readyz and GET /healthz (every readiness check passes,
 * and the process is not shutting down; 503 with the reasons otherwise). No auth: probes and load
 * balancers call them. `details` carries key ids and plugin names, never a secret.
 */
export const healthRoutes: FastifyPluginAsync<HealthRoutesOptions> = async (app, { readiness }) => {
  app.get(
    '/livez',
    {
      schema: {
        operationId: 'getLiveness',
        tags: ['operations'],
        summary: 'Liveness: 200 while the process answers',
        security: [],
        response: { 200: { description: 'The process is alive.', ...livenessBody } },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  const ready = async (request: { log: { warn(obj: object, msg: string): void } }, reply: { status(n: number): { send(b: unknown): unknown } }) => {
    const report = await readiness.report((check, err) => request.log.warn({ check, err }, 'readiness check failed'));
    return reply.status(report.ok ? 200 : 503).send({
      status: report.ok ? 'ok' : 'fail',
      checks: report.checks,
      ...(Object.keys(report.details).length > 0 ? { details: report.details } : {}),
      ...(report.reasons.length > 0 ? { reasons: report.reasons } : {}),
    });
  };
  for (const [url, operationId] of [
    ['/readyz', 'getReadiness'],
    ['/healthz', 'getHealth'],
  ] as const) {
    app.get(
      url,
      {
        schema: {
          operationId,
          tags: ['operations'],
          summary: url === '/readyz' ? 'Readiness: database, keys, plugins, not shutting down' : 'Readiness (same as /readyz; kept for existing probes)',
          security: [],
          response: {
            200: { description: 'Ready: every check passed.', ...healthBody },
            503: { description: 'Not ready: at least one check failed, or the process is shutting down; `reasons` says why.', ...healthBody },
          },
        },
      },
      (request, reply) => ready(request, reply),
    );
  }
};

const livenessBody = {
  type: 'object',
  additionalProperties: false,
  required: ['status'],
  properties: { status: { type: 'string', enum: ['ok'] } },
} as const;

const healthBody = {
  type: 'object',
  additionalProperties: false,
  required: ['status', 'checks'],
  properties: {
    status: { type: 'string', enum: ['ok', 'fail'] },
    checks: { type: 'object', additionalProperties: { type: 'string', enum: ['ok', 'fail'] } },
    // Per-check details; the keys check: {active, missing: [{keyId, rows}]} (key ids, never keys).
    details: { type: 'object', additionalProperties: { type: 'object', additionalProperties: true } },
    reasons: { type: 'array', items: { type: 'string' } },
  },
} as const;
