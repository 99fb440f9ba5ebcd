import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import type { ConnectionRef, ConnectorLogger, HostServices, OperationContext } from '@erpc/sdk';

/** Everything a plugin printed or logged while captured. */
export interface Captured {
  lines: string[];
}

function render(args: unknown[]): string {
  return args
    .map((a) => {
      if (typeof a === 'string') return a;
      if (a instanceof Error) return `${a.message}\n${a.stack ?? ''}`;
      try {
        return `${JSON.stringify(a)} ${inspect(a, { depth: 8 })}`;
      } catch {
        return inspect(a, { depth: 8 });
      }
    })
    .join(' ');
}

/** A logger that records every line, as the kit's stand-in for the host's logger (which scrubs; this one doesn't). */
export function capturingLogger(sink: Captured): ConnectorLogger {
  const log = (level: string) => (objOrMsg: object | string, msg?: string) => {
    sink.lines.push(`[logger.${level}] ${render(msg === undefined ? [objOrMsg] : [objOrMsg, msg])}`);
  };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

/** Host services for `create(deps)`, logging into `sink`. */
export function hostServices(sink: Captured): HostServices {
  return { logger: capturingLogger(sink), clock: { now: () => new Date() } };
}

const CONSOLE_METHODS = ['log', 'info', 'warn', 'error', 'debug', 'trace', 'dir', 'table'] as const;

/**
 * Runs `fn` with `console.*`, `process.stdout.write` and `process.stderr.write` redirected into
 * `sink` (nothing reaches the terminal, so a `--json` report stays one document), then restores them.
 */
export async function withCapturedOutput<T>(sink: Captured, fn: () => Promise<T>): Promise<T> {
  const con = console as unknown as Record<string, unknown>;
  const savedConsole = CONSOLE_METHODS.map((m) => [m, con[m]] as const);
  const savedOut = process.stdout.write;
  const savedErr = process.stderr.write;
  for (const m of CONSOLE_METHODS) con[m] = (...args: unknown[]) => void sink.lines.push(`[console.${m}] ${render(args)}`);
  const writer = (stream: string) =>
    function (chunk: unknown, ...rest: unknown[]): boolean {
      sink.lines.push(`[${stream}] ${typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8')}`);
      const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      if (cb) queueMicrotask(cb);
      return true;
    };
  process.stdout.write = writer('stdout') as typeof process.stdout.write;
  process.stderr.write = writer('stderr') as typeof process.stderr.write;
  try {
    return await fn();
  } finally {
    for (const [m, f] of savedConsole) con[m] = f;
    process.stdout.write = savedOut;
    process.stderr.write = savedErr;
  }
}

/** An operation context like the host's: the given config and connection, a signal, a logger into `sink`. */
export function operationContext(
  config: Record<string, unknown>,
  connection: ConnectionRef,
  sink: Captured,
  signal: AbortSignal = new AbortController().signal,
): OperationContext<Record<string, unknown>> {
  return { config, signal, logger: capturingLogger(sink), connection };
}

/** A new connection identity; a check keeps one for all its operations, as a host does for a connection. */
export function newConnection(connectorType: string): ConnectionRef {
  return Object.freeze({ id: randomUUID(), orgId: randomUUID(), connectorType });
}

/** Thrown by {@link withTimeout} when the operation did not settle in time. */
export class TimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`${what} did not settle within ${ms} ms`);
    this.name = 'TimeoutError';
  }
}

/** Races `promise` against a timer; the timer never keeps the process alive. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(what, ms)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A deep copy of JSON-like data (configs are JSON). */
export function cloneJson<T>(value: T): T {
  return structuredClone(value);
}

/** Freezes `value` and everything reachable from it. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Reflect.ownKeys(value)) deepFreeze((value as Record<string | symbol, unknown>)[key]);
  }
  return value;
}

/** A short description of a thrown value, for check messages. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return `${err.name}${typeof code === 'string' ? ` ${code}` : ''}: ${err.message}`;
  }
  return String(err);
}

/** The full text of a thrown value that a host might show or log: message, stack, causes, details. */
export function errorText(err: unknown, depth = 0): string {
  if (depth > 5) return '';
  if (err instanceof Error) {
    const e = err as Error & { details?: unknown; cause?: unknown };
    let text = `${e.name} ${e.message}\n${e.stack ?? ''}`;
    if (e.details !== undefined) text += `\n${safeJson(e.details)}`;
    if (e.cause !== undefined) text += `\n${errorText(e.cause, depth + 1)}`;
    return text;
  }
  return typeof err === 'object' ? safeJson(err) : String(err);
}

/** JSON.stringify that never throws. */
export function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return inspect(value, { depth: 8 });
  }
}
