import { createRequire, syncBuiltinESMExports } from 'node:module';

const require = createRequire(import.meta.url);

// The built-in modules through which a plugin can reach a disk, a network or another process.
const IO_MODULES = ['fs', 'fs/promises', 'net', 'tls', 'http', 'https', 'http2', 'dgram', 'dns', 'dns/promises', 'child_process'];
// Pure helpers of those modules that touch nothing outside the process.
const NOT_IO = new Set(['isIP', 'isIPv4', 'isIPv6', 'getDefaultAutoSelectFamily', 'getDefaultAutoSelectFamilyAttemptTimeout', 'validateHeaderName', 'validateHeaderValue', 'setDefaultAutoSelectFamily', 'setDefaultAutoSelectFamilyAttemptTimeout', 'setMaxIdleHTTPParsers', 'getDefaultResultOrder', 'setDefaultResultOrder']);

/**
 * Runs the synchronous `fn` with every I/O function of node's built-in modules (and
 * `globalThis.fetch`) wrapped so that calls are recorded, then restores them. The calls still go
 * through: the point is to report them, not to change the plugin's behaviour. ESM named imports of
 * built-ins are kept in step with `syncBuiltinESMExports()`.
 *
 * @returns what `fn` returned and the names of the I/O functions it called, e.g. `fs.readFileSync`.
 */
export function recordIo<T>(fn: () => T): { value: T; calls: string[] } {
  const calls: string[] = [];
  const restore: (() => void)[] = [];
  for (const name of IO_MODULES) {
    let mod: Record<string, unknown>;
    try {
      mod = require(name) as Record<string, unknown>;
    } catch {
      continue;
    }
    for (const key of Object.keys(mod)) {
      const original = mod[key];
      // Lower-case functions only: classes (fs.ReadStream, net.Socket) are reached through them.
      if (typeof original !== 'function' || !/^[a-z]/.test(key) || NOT_IO.has(key)) continue;
      const label = `${name}.${key}`;
      const wrapped = function (this: unknown, ...args: unknown[]): unknown {
        calls.push(label);
        return (original as (...a: unknown[]) => unknown).apply(this, args);
      };
      try {
        mod[key] = wrapped;
        restore.push(() => {
          mod[key] = original;
        });
      } catch {
        // A read-only export: leave it.
      }
    }
  }
  const g = globalThis as { fetch?: unknown };
  const originalFetch = g.fetch;
  if (typeof originalFetch === 'function') {
    g.fetch = (...args: unknown[]) => {
      calls.push('fetch');
      return (originalFetch as (...a: unknown[]) => unknown)(...args);
    };
    restore.push(() => {
      g.fetch = originalFetch;
    });
  }
  syncBuiltinESMExports();
  try {
    return { value: fn(), calls: [...new Set(calls)] };
  } finally {
    for (const undo of restore) undo();
    syncBuiltinESMExports();
  }
}
