import { pino, type DestinationStream, type Logger } from 'pino';
import type { ConnectorLogger } from '@erpc/sdk';
import type { LogLevel } from '../settings/index.js';
import { currentRequestId } from './request-context.js';
import { createScrubbingLogger } from './scrubbing.js';

export type { Logger } from 'pino';

/** Paths pino replaces with "[REDACTED]": configs and credentials never reach a log line. */
export const REDACT_PATHS: readonly string[] = [
  'config',
  '*.config',
  '*.*.config',
  'password',
  '*.password',
  'apiKey',
  '*.apiKey',
  'secret',
  '*.secret',
  'token',
  '*.token',
  'masterKey',
  '*.masterKey',
  'configEncrypted',
  '*.configEncrypted',
  '*.*.configEncrypted',
  'config_encrypted',
  '*.config_encrypted',
  '*.*.config_encrypted',
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'headers.authorization',
];

export interface LoggerOptions {
  level: LogLevel;
  /** Where JSON lines go; default stderr (synchronously, so lines survive process.exit). */
  destination?: DestinationStream;
  /** Fixed fields on every line. */
  base?: Record<string, unknown>;
}

/**
 * The host's logger: JSON lines on stderr by default, so a CLI's stdout carries only its output.
 * A line written while an HTTP request is served (by a route or any service it calls) carries
 * that request's `requestId` (AsyncLocalStorage, see request-context.ts).
 */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: options.base ?? { pid: process.pid },
      redact: { paths: [...REDACT_PATHS], censor: '[REDACTED]' },
      serializers: { err: serializeError },
      mixin: requestIdMixin,
    },
    options.destination ?? pino.destination({ fd: 2, sync: true }),
  );
}

const BOUND_REQUEST_ID = Symbol('erpc.boundRequestId');

/**
 * A child logger that carries `requestId` in its bindings (Fastify's request logger, which also
 * logs before the request context exists); the mixin then does not add it a second time.
 */
export function requestLogger(parent: Logger, requestId: string, bindings: Record<string, unknown>, options?: object): Logger {
  const child = parent.child({ ...bindings, requestId }, options);
  (child as unknown as Record<symbol, boolean>)[BOUND_REQUEST_ID] = true;
  return child;
}

// pino merges the line's own fields into what the mixin returns: a fresh object every time.
function requestIdMixin(_obj: object, _level: number, logger: unknown): object {
  const requestId = currentRequestId();
  if (requestId === undefined || (logger as Record<symbol, boolean>)[BOUND_REQUEST_ID] === true) return {};
  return { requestId };
}

/**
 * Adapts a pino logger to the SDK's ConnectorLogger. Every string in `secrets` (e.g. the
 * writeOnly values of the current connection's config) is replaced wherever it appears in a
 * line: in the message, in any string of the object, at any depth.
 */
export function toConnectorLogger(logger: Logger, secrets: readonly string[] = []): ConnectorLogger {
  return createScrubbingLogger(logger, secrets);
}

/**
 * Fields of database errors that can carry row data: PostgreSQL's `detail` says "Failing row
 * contains (…)" for NOT NULL and CHECK violations, which on erp_connection would include the
 * config ciphertext; `where`/`internalQuery` can quote values too.
 */
const ROW_DATA_FIELDS = ['detail', 'where', 'internalQuery', 'parameters'];

/** pino's error serializer, minus fields that may carry row data, through the cause chain. */
export function serializeError(err: unknown): unknown {
  const out = pino.stdSerializers.err(err as Error) as unknown as Record<string, unknown>;
  strip(out, 0);
  return out;
  function strip(obj: unknown, depth: number): void {
    if (typeof obj !== 'object' || obj === null || depth > 8) return;
    for (const f of ROW_DATA_FIELDS) if (f in obj) delete (obj as Record<string, unknown>)[f];
    strip((obj as { cause?: unknown }).cause, depth + 1);
  }
}
