/**
 * The entry of a sandbox process (docs/security.md, docs/sandbox-protocol.md). The host forks it
 * with Node's permission model, a clean environment, a heap cap and (as root) another user. It
 * imports plugin entries, creates their ports and runs the operations the host sends, one message
 * per call. It imports only Node built-ins, ./protocol.js and the settings module's environment file
 * (../../settings/process-env.js): everything else it may read is the plugin's own package and what
 * that package resolves.
 */
import { stat } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { Socket } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import { clearSandboxEnvironment, sandboxThreadPoolVariableSet } from '../../settings/process-env.js';
import {
  CHANNEL_FD,
  DEFINITION_API_VERSION,
  LineSplitter,
  DEFINITION_TAG,
  FATAL_EXIT_CODE,
  HoldUntilOpen,
  LOG_LEVEL_ARG,
  LOG_LEVELS,
  PROTOCOL_VERSION,
  TurnWriter,
  type HostMessage,
  type SandboxLogLevel,
  type SandboxMessage,
  type SandboxPluginSpec,
  type WireError,
} from './protocol.js';

// What Node's permission model leaves open and a plugin has no use for, removed before any plugin
// code runs (ADR 0039): signals to other processes (the host, when it runs as the sandbox's user;
// other sandboxes of the same user) and V8 flags set at run time (`--allow-natives-syntax` opens
// V8's internals). The ESM views of the built-ins are synced, so `import { … } from 'node:v8'`
// gets the same refusal.
const denied = (what: string) => (): never => {
  throw Object.assign(new Error(`${what} is not available in an erpc sandbox`), { code: 'ERR_ACCESS_DENIED' });
};
Object.defineProperty(process, 'kill', { value: denied('process.kill'), writable: false, configurable: false });
Object.defineProperty(process, '_kill', { value: denied('process.kill'), writable: false, configurable: false });
Object.defineProperty(v8, 'setFlagsFromString', { value: denied('v8.setFlagsFromString'), writable: false, configurable: false });
syncBuiltinESMExports();

type Port = Record<string, unknown> & {
  testConnection(ctx: unknown): unknown;
  push(doc: unknown, ctx: unknown): unknown;
  checkDelivery?(receipt: unknown, ctx: unknown): unknown;
  dispose?(): unknown;
};

const ports = new Map<string, Port>();
const calls = new Map<number, AbortController>();
const syncs = new Map<number, { resolve(): void; reject(err: Error): void }>();
let nextSync = 1;

// The channel to the host: lines of JSON on fd 3 (docs/sandbox-protocol.md).
const channel = new Socket({ fd: CHANNEL_FD, readable: true, writable: true });
channel.on('error', () => process.exit(0));
// The host is gone: nothing is left to serve.
channel.on('end', () => process.exit(0));
channel.on('close', () => process.exit(0));

// The lines of one turn of the event loop leave in one write (ADR 0041, addendum).
const writer = new TurnWriter(channel);

function send(message: SandboxMessage, then?: () => void): void {
  writeLine(JSON.stringify(message), then);
}

/** A line with `then` (the last words before exiting) leaves at once, with those queued before it. */
function writeLine(line: string, then?: () => void): void {
  writer.write(line, then);
  if (then !== undefined) writer.flush();
}

// A plugin's uncaught error ends this process (the host re-runs the calls it had in flight, one at
// a time, to find the one that caused it). Reported first, so the host can say what happened.
process.on('uncaughtException', (err) => fatal(err));
process.on('unhandledRejection', (reason) => fatal(reason));
function fatal(err: unknown): void {
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  try {
    send({ t: 'fatal', message }, () => process.exit(FATAL_EXIT_CODE));
  } catch {
    process.exit(FATAL_EXIT_CODE);
  }
  setTimeout(() => process.exit(FATAL_EXIT_CODE), 500).unref();
}

// The least severe level the host logs, from the host (ADR 0046): a line below it would cross the
// channel only to be dropped there, and would count against the host's limit on printed lines.
const logLevelArg = process.argv.find((a) => a.startsWith(LOG_LEVEL_ARG))?.slice(LOG_LEVEL_ARG.length);
const minLogLevel = Math.max(0, LOG_LEVELS.indexOf(logLevelArg as SandboxLogLevel));
const ignored = (): void => undefined;

const logOf = (id: number | undefined) => {
  const at = (level: SandboxLogLevel): ((objOrMsg: unknown, msg?: unknown) => void) => {
    if (LOG_LEVELS.indexOf(level) < minLogLevel) return ignored;
    return (objOrMsg, msg) => {
      const line: SandboxMessage =
        typeof objOrMsg === 'string'
          ? { t: 'log', level, msg: objOrMsg, ...(id === undefined ? {} : { id }) }
          : { t: 'log', level, obj: plain(objOrMsg), ...(msg === undefined ? {} : { msg: String(msg) }), ...(id === undefined ? {} : { id }) };
      send(line);
    };
  };
  return Object.freeze({ debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') });
};

const hostServices = Object.freeze({
  logger: logOf(undefined),
  clock: Object.freeze({ now: () => new Date() }),
  files: Object.freeze({
    sync(path: string): Promise<void> {
      const id = nextSync++;
      return new Promise<void>((resolve, reject) => {
        syncs.set(id, { resolve, reject });
        send({ t: 'sync', id, path: String(path) });
      });
    },
  }),
});

// The host may send its first messages (a load) before it has read hello (ADR 0052): they wait
// here until hello is sent, so that no plugin code runs before the environment is cleared.
const inbox = new HoldUntilOpen<HostMessage>(onMessage);
const splitter = new LineSplitter((line) => inbox.push(JSON.parse(line) as HostMessage));
channel.on('data', (chunk: Buffer) => splitter.push(chunk));

function onMessage(m: HostMessage): void {
  switch (m.t) {
    case 'load':
      void load(m.plugins, m.sequential);
      break;
    case 'call':
      call(m);
      break;
    case 'abort':
      calls.get(m.id)?.abort(Object.assign(new Error('The host aborted the operation (deadline or shutdown).'), { name: 'TimeoutError' }));
      break;
    case 'synced': {
      const waiting = syncs.get(m.id);
      syncs.delete(m.id);
      if (m.error === undefined) waiting?.resolve();
      else waiting?.reject(Object.assign(new Error(m.error.message), { code: m.error.code }));
      break;
    }
    case 'ping':
      send({ t: 'pong', n: m.n });
      break;
    case 'dispose':
      void dispose();
      break;
  }
}

async function load(plugins: readonly SandboxPluginSpec[], sequential: boolean): Promise<void> {
  const one = async (spec: SandboxPluginSpec): Promise<void> => {
    if (sequential) {
      // Leaves before the import runs: a top level that never yields must still be named.
      send({ t: 'importing', key: spec.key });
      writer.flush();
    }
    let module: Record<string, unknown>;
    try {
      module = (await import(pathToFileURL(spec.entryPath).href)) as Record<string, unknown>;
    } catch (err) {
      const name = (err as { name?: unknown } | null)?.name;
      send({ t: 'loaded', key: spec.key, ok: false, code: name === 'SyntaxError' ? 'ERPC_ERR_PLUGIN_SYNTAX_ERROR' : 'ERPC_ERR_PLUGIN_IMPORT_FAILED', reason: reasonOf(err) });
      return;
    }
    send(instantiate(spec, module));
  };
  if (sequential) for (const spec of plugins) await one(spec);
  else await Promise.all(plugins.map(one));
}

/** The loader's definition checks (plugin-loader.ts `instantiate`), codes included. */
function instantiate(spec: SandboxPluginSpec, module: Record<string, unknown>): SandboxMessage {
  const failed = (code: string, reason: string): SandboxMessage => ({ t: 'loaded', key: spec.key, ok: false, code, reason });
  if (!('default' in module) || module.default === undefined) return failed('ERPC_ERR_PLUGIN_NO_DEFAULT_EXPORT', '');
  const def = module.default as { $$type?: unknown; apiVersion?: unknown; connectorType?: unknown; create?: unknown } | null;
  if (typeof def !== 'object' || def === null || def.$$type !== DEFINITION_TAG || typeof def.create !== 'function') return failed('ERPC_ERR_PLUGIN_NOT_A_DEFINITION', '');
  if (def.apiVersion !== DEFINITION_API_VERSION) return failed('ERPC_ERR_PLUGIN_API_VERSION_UNSUPPORTED', String(def.apiVersion));
  if (def.connectorType !== spec.connectorType) return failed('ERPC_ERR_PLUGIN_TYPE_MISMATCH', String(def.connectorType));
  let port: unknown;
  try {
    port = (def.create as (deps: unknown) => unknown)(hostServices);
  } catch (err) {
    return failed('ERPC_ERR_PLUGIN_CREATE_FAILED', reasonOf(err));
  }
  const p = port as Partial<Port> | null;
  if (typeof (p as { then?: unknown } | null)?.then === 'function') {
    return failed('ERPC_ERR_PLUGIN_PORT_INVALID', 'push and testConnection (it returned a Promise; create must return the port itself)');
  }
  if (typeof p !== 'object' || p === null || typeof p.push !== 'function' || typeof p.testConnection !== 'function') {
    return failed('ERPC_ERR_PLUGIN_PORT_INVALID', ['push', 'testConnection'].filter((m) => typeof (p as Record<string, unknown> | null)?.[m] !== 'function').join(' and '));
  }
  ports.set(spec.connectorType, p as Port);
  return { t: 'loaded', key: spec.key, ok: true, ops: { checkDelivery: typeof p.checkDelivery === 'function', dispose: typeof p.dispose === 'function' } };
}

function call(m: Extract<HostMessage, { t: 'call' }>): void {
  const port = ports.get(m.connectorType);
  const reply = (message: SandboxMessage): void => {
    calls.delete(m.id);
    clearTimeout(timer);
    send(message);
  };
  const controller = new AbortController();
  if (m.aborted === true) controller.abort(Object.assign(new Error('The host aborted the operation before it started.'), { name: 'AbortError' }));
  calls.set(m.id, controller);
  // The host enforces the deadline; this one only makes the connector's signal fire on time.
  const timer = setTimeout(() => controller.abort(Object.assign(new Error(`The operation did not finish within ${m.timeoutMs} ms and was aborted.`), { name: 'TimeoutError' })), m.timeoutMs);
  timer.unref();
  if (port === undefined) {
    reply({ t: 'result', id: m.id, ok: false, error: { name: 'Error', message: `connector ${m.connectorType} is not loaded in this sandbox` } });
    return;
  }
  const ctx = Object.freeze({ config: deepFreeze(m.config), signal: controller.signal, logger: logOf(m.id), connection: Object.freeze({ ...m.connection }) });
  let pending: unknown;
  try {
    // The document is frozen as the host's own toDocument freezes it (its fields, not its payload:
    // this parsed copy is the call's alone); a receipt deep-frozen. Deep-freezing every
    // document's payload was about a tenth of a sandbox's CPU per push with a 20-line invoice.
    const parsed = m.arg !== undefined ? m.arg : m.argText === undefined ? undefined : parseArgument(m.argText);
    const arg = m.op === 'push' ? Object.freeze(parsed) : deepFreeze(parsed);
    if (m.op === 'push') pending = port.push(arg, ctx);
    else if (m.op === 'testConnection') pending = port.testConnection(ctx);
    else pending = port.checkDelivery?.(arg, ctx);
  } catch (err) {
    reply({ t: 'result', id: m.id, ok: false, error: wireError(err) });
    return;
  }
  Promise.resolve(pending).then(
    (value) => {
      // Serialised once, straight into the line: only plain JSON data crosses.
      let text: string | undefined;
      try {
        text = value === undefined ? undefined : (JSON.stringify(value) as string | undefined);
      } catch (err) {
        reply({ t: 'result', id: m.id, ok: false, invalid: true, error: { name: 'TypeError', message: `the value does not serialise as JSON: ${reasonOf(err)}` } });
        return;
      }
      calls.delete(m.id);
      clearTimeout(timer);
      writeLine(text === undefined ? `{"t":"result","id":${m.id},"ok":true}` : `{"t":"result","id":${m.id},"ok":true,"value":${text}}`);
    },
    (err: unknown) => reply({ t: 'result', id: m.id, ok: false, error: wireError(err) }),
  );
}

async function dispose(): Promise<void> {
  for (const port of ports.values()) {
    try {
      await port.dispose?.();
    } catch {
      // The host bounds dispose in time; a failing one is reported by its absence of effect only.
    }
  }
  send({ t: 'disposed' }, () => process.exit(0));
}

function wireError(err: unknown): WireError {
  const e = (typeof err === 'object' && err !== null ? err : {}) as { name?: unknown; message?: unknown; code?: unknown; retryable?: unknown; operatorFixable?: unknown; details?: unknown };
  const name = err instanceof Error || typeof e.name === 'string' ? String(e.name) : typeof err;
  const message = typeof e.message === 'string' ? e.message : reasonOf(err);
  return {
    name,
    message,
    ...(typeof e.code === 'string' ? { code: e.code } : {}),
    ...(typeof e.retryable === 'boolean' ? { retryable: e.retryable } : {}),
    ...(e.operatorFixable === true ? { operatorFixable: true } : {}),
    ...(e.details !== undefined ? { details: plain(e.details) } : {}),
  };
}

/** A JSON copy, or a note saying it has none: only plain data crosses to the host. */
function plain(value: unknown): unknown {
  try {
    return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
  } catch {
    return '(not serialisable)';
  }
}

function reasonOf(err: unknown): string {
  try {
    return err instanceof Error ? err.message : String(err);
  } catch {
    return '(the thrown value cannot be shown)';
  }
}

/**
 * A call's argument, with every number as parseExactJson of @erpc/sdk gives it (ADR 0027). The
 * host wrote `text` with JSON.stringify: when the plain parse prints back to the same text, every
 * number's digits survived it (a number whose text String(n) does not reproduce, `118.00`, prints
 * otherwise), so the reviver, about 8 times slower than the plain parse, has nothing to change
 * (ADR 0046 addendum). The same check as the push repository's.
 */
function parseArgument(text: string): unknown {
  const plain: unknown = JSON.parse(text);
  return JSON.stringify(plain) === text ? plain : JSON.parse(text, exactNumbers as (key: string, value: unknown) => unknown);
}

/**
 * The reviver of @erpc/sdk's parseExactJson (ADR 0027), which the sandbox does not import: a
 * number a JavaScript number does not carry exactly stays its exact text, as `JSON.rawJSON`.
 */
function exactNumbers(_key: string, value: unknown, context?: { source?: string }): unknown {
  if (typeof value !== 'number') return value;
  const source = context?.source;
  return source === undefined || String(value) === source ? value : (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON(source);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}

// The thread pool's size is the one variable a sandbox's environment may hold (ADR 0041). libuv
// reads it when the pool starts, at the first call that uses it: one is made (a stat of this
// file), then it is removed, so plugin code finds an empty environment. Hello waits for that.
const hello = (): void => {
  clearSandboxEnvironment();
  send({ t: 'hello', v: PROTOCOL_VERSION, pid: process.pid });
  inbox.open();
};
if (!sandboxThreadPoolVariableSet()) hello();
else {
  try {
    stat(fileURLToPath(import.meta.url), hello);
  } catch {
    hello();
  }
}
