import type { Logger } from 'pino';
import type { ConnectorLogger } from '@erpc/sdk';

/** What a secret value is replaced with in a log line. */
export const REDACTED = '[REDACTED]';

const MAX_DEPTH = 12;

/**
 * Replaces every occurrence of every secret in `text`. `secrets` must be a {@link scrubList}
 * (longest first, so a secret that contains a shorter one is not left half-visible).
 */
function scrubText(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  return out;
}

/**
 * The strings to replace for a set of secrets, longest first: each secret as it is and, where
 * different, as it appears inside a JSON string (a plugin that logs `JSON.stringify(x)` escapes
 * quotes, backslashes and control characters; non-ASCII stays as it is in JSON.stringify output
 * but not in Python-style `\u` escapes, so that form is added too).
 */
export function scrubList(secrets: readonly string[]): string[] {
  const out = new Set<string>();
  for (const secret of secrets) {
    if (typeof secret !== 'string' || secret.length === 0) continue;
    out.add(secret);
    const json = JSON.stringify(secret).slice(1, -1);
    if (json !== secret) out.add(json);
    const ascii = json.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
    if (ascii !== json) out.add(ascii);
  }
  return [...out].sort((a, b) => b.length - a.length);
}

/**
 * The one way to scrub a message (an error text, a connector's answer) of a connection's secret
 * values. `list` is the {@link scrubList} of the secrets (prepared once per connection config):
 * each secret, and its JSON-escaped forms, is replaced with {@link REDACTED}.
 */
export function scrubMessage(text: string, list: readonly string[]): string {
  return list.length === 0 ? text : scrubText(text, list);
}

/**
 * A copy of `value` safe to hand to pino: strings (keys included) scrubbed, errors turned into
 * plain objects (so their message, stack and cause are scrubbed too, before pino's serializers
 * see them), binary data summarised, cycles cut.
 */
export function scrubValue(value: unknown, secrets: readonly string[], depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return scrubText(value, secrets);
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') {
    // A numeric secret (a PIN, a client number) logged as a number is a secret too.
    return secrets.includes(String(value)) ? REDACTED : value;
  }
  if (value === null || value === undefined) return value;
  if (typeof value === 'function' || typeof value === 'symbol') return undefined;
  if (typeof value !== 'object') return undefined;
  if (seen.has(value)) return '[Circular]';
  if (depth >= MAX_DEPTH) return '[Truncated]';
  seen.add(value);
  try {
    if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
    if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return `[binary ${value.byteLength} bytes]`;
    if (value instanceof Error) {
      const err = value as Error & { code?: unknown; cause?: unknown };
      const out: Record<string, unknown> = {
        type: scrubText(err.name, secrets),
        message: scrubText(err.message, secrets),
      };
      if (err.stack !== undefined) out.stack = scrubText(err.stack, secrets);
      if (err.code !== undefined) out.code = scrubValue(err.code, secrets, depth + 1, seen);
      if (err.cause !== undefined) out.cause = scrubValue(err.cause, secrets, depth + 1, seen);
      return out;
    }
    if (Array.isArray(value)) return value.map((item) => scrubValue(item, secrets, depth + 1, seen));
    if (value instanceof Map) {
      return Object.fromEntries([...value].map(([k, v]) => [scrubText(String(k), secrets), scrubValue(v, secrets, depth + 1, seen)]));
    }
    if (value instanceof Set) return [...value].map((item) => scrubValue(item, secrets, depth + 1, seen));
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      out[scrubText(key, secrets)] = scrubValue(item, secrets, depth + 1, seen);
    }
    return out;
  } finally {
    seen.delete(value);
  }
}

/**
 * The logger handed to a connector: writes through pino and replaces each secret value of the
 * connection's config wherever it appears in a line — in the message, in nested object fields,
 * in object keys, in errors' messages and stacks. Host-side pino redaction of `config` fields
 * still applies on top.
 */
export function createScrubbingLogger(base: Logger, secrets: readonly string[]): ConnectorLogger {
  const list = scrubList(secrets);
  const write =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (objOrMsg: object | string, msg?: string): void => {
      if (typeof objOrMsg === 'string') {
        base[level](scrubText(objOrMsg, list));
        return;
      }
      const obj = scrubValue(objOrMsg, list);
      const safeObj = typeof obj === 'object' && obj !== null && !Array.isArray(obj) ? obj : { value: obj };
      if (msg === undefined) base[level](safeObj);
      else base[level](safeObj, scrubText(String(msg), list));
    };
  return Object.freeze({ debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') });
}
