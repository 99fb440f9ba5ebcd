import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ErpcError } from '../errors/index.js';
import { parseJsonInput } from '../input/json-input.js';

/** Routes whose bodies carry documents: parsed with exact numbers (ADR 0027). */
const EXACT_NUMBER_ROUTES = new Set(['POST /v1/pushes']);

/**
 * Replaces Fastify's JSON body parser with one that refuses at the door (422
 * ERPC_ERR_INPUT_REFUSED with the JSON Pointer) NUL and unpaired surrogates in any string or key
 * and nesting deeper than `maxDepth` + 1 (the body's own level), and that keeps every number of
 * a document exactly as sent. Like Fastify's, it refuses a `__proto__` key.
 */
export function installJsonBodyParser(app: FastifyInstance, options: { maxDepth: number }): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request: FastifyRequest, body: string | Buffer, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.length === 0) {
      done(Object.assign(new Error('empty JSON body'), { code: 'FST_ERR_CTP_EMPTY_JSON_BODY', statusCode: 400 }), undefined);
      return;
    }
    const exact = EXACT_NUMBER_ROUTES.has(`${request.method} ${request.routeOptions.url ?? ''}`);
    try {
      done(null, parseJsonInput(text, { exact, maxDepth: options.maxDepth + 1 }));
    } catch (err) {
      if (err instanceof SyntaxError) done(new ErpcError('ERPC_ERR_MALFORMED_JSON', {}, { cause: err }), undefined);
      else done(err as Error, undefined);
    }
  });
}
