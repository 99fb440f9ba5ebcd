import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ErpcError, isErpcError } from '../errors/index.js';
import { storageFailureOf } from '../storage/errors.js';

/** The error body every route answers with; also used in the OpenAPI document. */
export const errorBodySchema = {
  $id: 'ErrorBody',
  type: 'object',
  required: ['error'],
  additionalProperties: false,
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      additionalProperties: false,
      properties: {
        code: { type: 'string', description: 'A stable ERPC_ERR_* code (docs/errors.md).' },
        message: { type: 'string' },
        details: {},
        requestId: { type: 'string', description: 'The request id (also in the X-Request-Id header): quote it when reporting a problem.' },
      },
    },
  },
} as const;

interface ValidationIssue {
  instancePath?: string;
  schemaPath?: string;
  keyword?: string;
  params?: Record<string, unknown>;
  message?: string;
}

/** Ajv messages name the rule (type, pattern, allowed values), never the submitted data. */
function validationDetails(context: string | undefined, issues: ValidationIssue[]): { path: string; message: string }[] {
  return issues.map((issue) => {
    let path = issue.instancePath ?? '';
    if (issue.keyword === 'required' && typeof issue.params?.missingProperty === 'string') path += `/${issue.params.missingProperty}`;
    if (issue.keyword === 'additionalProperties' && typeof issue.params?.additionalProperty === 'string') {
      path += `/${issue.params.additionalProperty}`;
    }
    return { path: `${context ?? 'body'}:${path === '' ? '/' : path}`, message: issue.message ?? 'is invalid' };
  });
}

/** Translates any error into an ErpcError; unknown ones become ERPC_ERR_INTERNAL. */
export function toErpcError(err: unknown): ErpcError {
  if (isErpcError(err)) return err;
  const e = err as FastifyError & { validation?: ValidationIssue[]; validationContext?: string };
  if (Array.isArray(e?.validation)) {
    return new ErpcError('ERPC_ERR_VALIDATION', {}, { details: validationDetails(e.validationContext, e.validation) });
  }
  switch (e?.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ErpcError('ERPC_ERR_PAYLOAD_TOO_LARGE', { limit: BODY_LIMIT });
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new ErpcError('ERPC_ERR_MALFORMED_JSON');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ErpcError('ERPC_ERR_BAD_REQUEST', { reason: 'the Content-Type is application/json but the body is empty.' });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ErpcError('ERPC_ERR_UNSUPPORTED_MEDIA_TYPE', { contentType: 'of the body' });
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new ErpcError('ERPC_ERR_BAD_REQUEST', { reason: 'the Content-Length header does not match the body.' });
    default:
      break;
  }
  // The database down, dropped, shutting down or contended: "try later" (503 with Retry-After).
  const storage = storageFailureOf(err);
  if (storage !== undefined) return storage;
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    // Fastify's own client errors (bad URL, bad header…): their messages name the rule, not data.
    return new ErpcError('ERPC_ERR_BAD_REQUEST', { reason: e.message });
  }
  return new ErpcError('ERPC_ERR_INTERNAL', {}, { cause: err });
}

/** Seconds a client is asked to wait (Retry-After) before repeating a request answered 503. */
export const RETRY_AFTER_SECONDS = 5;

/** The body of an error answer: the error's code, message and details, plus the request id. */
export function errorBodyOf(erpc: ErpcError, requestId: string): { error: { code: string; message: string; details?: unknown; requestId: string } } {
  const { error } = erpc.toBody();
  return { error: { ...error, requestId } };
}

/** The request body limit: 1 MiB. */
export const BODY_LIMIT = 1024 * 1024;

/** Installs the error and not-found handlers: every failure answers `{"error":{code,message,details?}}`. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const erpc = toErpcError(err);
    if (erpc.status >= 500 && erpc.code !== 'ERPC_ERR_CONFIG_DECRYPT_FAILED') {
      // The cause goes to the log (pino redacts config fields), never to the client.
      request.log.error({ err: erpc.code === 'ERPC_ERR_INTERNAL' ? err : erpc, code: erpc.code }, 'request failed');
    } else if (erpc.status < 500) {
      request.log.info({ code: erpc.code, status: erpc.status }, 'request rejected');
    }
    if (erpc.status === 503) void reply.header('retry-after', String(RETRY_AFTER_SECONDS));
    void reply.status(erpc.status).type('application/json; charset=utf-8').send(errorBodyOf(erpc, request.id));
  });
  app.setNotFoundHandler((request, reply) => {
    const url = request.url.split('?')[0] ?? request.url;
    const err = new ErpcError('ERPC_ERR_ROUTE_NOT_FOUND', { method: request.method, url });
    void reply.status(404).send(errorBodyOf(err, request.id));
  });
}
