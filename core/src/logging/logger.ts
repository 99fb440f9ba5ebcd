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

/** Methods of a level: on a request logger, a call below the level makes no child at all. */
const LEVEL_METHODS: ReadonlySet<string> = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace']);
const noop = (): void => {};

/**
 * A child logger that carries `requestId` in its bindings (Fastify's request logger, which also
 * logs before the request context exists); the mixin then does not add it a second time.
 *
 * Made on first use: Fastify asks for one per request, and a pino child copies and redacts its
 * bindings when made, which a request that logs nothing at the configured level (every request at
 * `warn`) would pay for nothing. A level method below the level is a no-op, as on the child; a
 * line that is written, `child`, or any other property (`level`, `bindings`…) makes the child and
 * goes to it. Options of its own (a route's level) make it at once.
 */
export function requestLogger(parent: Logger, requestId: string, bindings: Record<string, unknown>, options?: object): Logger {
  if (options !== undefined && Object.keys(options).length > 0) return boundChild(parent, requestId, bindings, options);
  let child: Logger | undefined;
  const real = (): Logger => (child ??= boundChild(parent, requestId, bindings, undefined));
  return new Proxy(parent, {
    get(_target, prop) {
      if (child === undefined && typeof prop === 'string') {
        // Fastify checks on every request that these are functions: no reason to make the child yet.
        if (LEVEL_METHODS.has(prop)) return parent.isLevelEnabled(prop) ? (...args: unknown[]) => (real() as unknown as Record<string, (...a: unknown[]) => void>)[prop]!(...args) : noop;
        if (prop === 'child') return (b: Record<string, unknown>, o?: object) => real().child(b, o as never);
      }
      const target = real();
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
    set: (_target, prop, value) => Reflect.set(real(), prop, value),
    has: (_target, prop) => prop in real(),
  });
}

function boundChild(parent: Logger, requestId: string, bindings: Record<string, unknown>, options: object | undefined): Logger {
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
