import { pino, type DestinationStream, type Logger } from 'pino';
import type { ConnectorLogger } from '@erpc/sdk';
import type { LogLevel } from '../config.js';

export type { Logger } from 'pino';

/** Paths pino replaces with "[REDACTED]": configs and credentials never reach a log line. */
export const REDACT_PATHS: readonly string[] = [
  'config',
  '*.config',
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
  'config_encrypted',
  '*.config_encrypted',
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
 */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: options.base ?? { pid: process.pid },
      redact: { paths: [...REDACT_PATHS], censor: '[REDACTED]' },
    },
    options.destination ?? pino.destination({ fd: 2, sync: true }),
  );
}

const SCRUBBED = '[REDACTED]';

/**
 * Adapts a pino logger to the SDK's ConnectorLogger. Every string in `secrets` (e.g. the
 * writeOnly values of the current connection's config) is replaced wherever it appears in a
 * line: in the message, in any string of the object, at any depth.
 */
export function toConnectorLogger(logger: Logger, secrets: readonly string[] = []): ConnectorLogger {
  // Longest first so a secret containing another one is replaced whole.
  const needles = [...new Set(secrets.filter((s) => typeof s === 'string' && s.length > 0))].sort((a, b) => b.length - a.length);
  const scrub = needles.length === 0 ? <T>(v: T): T => v : <T>(v: T): T => scrubValue(v, needles, new WeakSet()) as T;
  const line =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (objOrMsg: object | string, msg?: string): void => {
      if (!logger.isLevelEnabled(level)) return;
      if (typeof objOrMsg === 'string') logger[level](scrub(objOrMsg));
      else if (msg === undefined) logger[level](scrub(objOrMsg));
      else logger[level](scrub(objOrMsg), scrub(msg));
    };
  return { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') };
}

function scrubValue(value: unknown, needles: readonly string[], seen: WeakSet<object>): unknown {
  if (typeof value === 'string') {
    let out = value;
    for (const n of needles) if (out.includes(n)) out = out.split(n).join(SCRUBBED);
    return out;
  }
  if (typeof value !== 'object' || value === null) return value;
  if (seen.has(value)) return '[Circular]';
  seen.add(value);
  if (value instanceof Error) {
    return { name: value.name, message: scrubValue(value.message, needles, seen), stack: scrubValue(value.stack, needles, seen) };
  }
  if (Array.isArray(value)) return value.map((v) => scrubValue(v, needles, seen));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[scrubValue(k, needles, seen) as string] = scrubValue(v, needles, seen);
  return out;
}
