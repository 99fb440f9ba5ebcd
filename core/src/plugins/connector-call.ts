import type { Logger } from 'pino';
import { isConnectorError, type DeliveryState, type OperationContext, type PushDocument, type PushReceipt } from '@erpc/sdk';
import type { ConfigCipher } from '../crypto/index.js';
import type { StoredConnectionConfig } from '../crypto/stored-config.js';
import { isErpcError } from '../errors/index.js';
import { scrubMessage, scrubValue } from '../logging/scrubbing.js';
import { resolveStoredConfig, type ConnectionConfigCache, type ResolvedConfig } from './connection-config-cache.js';
import type { ConnectorRegistry } from './connector-registry.js';
import type { LoadedPlugin } from './types.js';
import type { GrantPolicy } from './sandbox/grants.js';
import { SandboxBackoff, SandboxCallCrash, SandboxTimeout, type SandboxSupervisor } from './sandbox/sandbox-supervisor.js';
import type { PluginCapabilities } from '@erpc/sdk';

/** Longest message (of a connector's error, test result or rejection) a call hands back. */
export const MAX_CONNECTOR_MESSAGE = 1000;

/** What every call takes besides its operation: its deadline, and a signal that cancels it. */
export interface CallLimits {
  /** The call's deadline; the connector's `ctx.signal` aborts when it passes. */
  readonly timeoutMs: number;
  /** Aborting this (e.g. on shutdown) aborts the call: the result is `aborted`, not `timeout`. */
  readonly signal?: AbortSignal;
}

/** One call of a connector operation on a stored connection: everything a sandbox would need to run it. */
export type ConnectorCallRequest = CallLimits &
  (
    | { readonly operation: 'testConnection'; readonly connection: StoredConnectionConfig }
    | { readonly operation: 'push'; readonly connection: StoredConnectionConfig; readonly document: PushDocument }
    | { readonly operation: 'checkDelivery'; readonly connection: StoredConnectionConfig; readonly receipt: PushReceipt }
  ) & {
    /**
     * Sandboxed plugins: run in a fresh sandbox process of its own, one such call per plugin at a
     * time. For a call whose shared sandbox ended while other calls were in it (which one caused
     * it is then unknown).
     */
    readonly alone?: boolean;
  };

/** What a connection test answered (the connector's own latencyMs is not trusted; see `durationMs`). */
export interface TestValue {
  readonly ok: boolean;
  /** Scrubbed; absent when the connector gave none. */
  readonly message?: string;
}

/** What push() answered, scrubbed. */
export interface PushValue {
  readonly externalRef: string;
  /** A JSON copy of the receipt's details, or null. */
  readonly details: Record<string, unknown> | null;
  /** The connector implements checkDelivery and the receipt did not decline acknowledgements. */
  readonly expectAcknowledgement: boolean;
}

/** What checkDelivery() answered, scrubbed; a state outside the contract reads as `pending`. */
export interface DeliveryValue {
  readonly state: DeliveryState;
  readonly message?: string;
  readonly details: Record<string, unknown> | null;
}

/** The value of each operation. */
export interface ConnectorValues {
  testConnection: TestValue;
  push: PushValue;
  checkDelivery: DeliveryValue;
  dispose: undefined;
}

/**
 * How a call ended, as plain data (nothing live: no port, no context, no error object), with every
 * text and detail that came from the connector scrubbed of the connection's secret values.
 * `durationMs` is 0 when the connector was not called.
 */
export type ConnectorCallResult<T> =
  | { readonly kind: 'value'; readonly value: T; readonly durationMs: number }
  /** The deadline passed, whether or not the connector honoured its signal. */
  | { readonly kind: 'timeout'; readonly timeoutMs: number; readonly durationMs: number }
  /** The caller's signal aborted first. */
  | { readonly kind: 'aborted'; readonly durationMs: number }
  | {
      readonly kind: 'connector-error';
      readonly code: string;
      readonly message: string;
      readonly retryable: boolean;
      /** A condition an operator fixes: retried over the retry horizon (ADR 0028). */
      readonly operatorFixable: boolean;
      readonly details: Record<string, unknown> | null;
      readonly durationMs: number;
    }
  /** The connector threw (or rejected with) something that is not a ConnectorError. */
  | { readonly kind: 'crashed'; readonly errorName: string; readonly message: string; readonly durationMs: number }
  /** The connector answered something the contract does not allow. */
  | { readonly kind: 'invalid'; readonly message: string; readonly durationMs: number }
  /** The stored config does not decrypt (logged with the row's ids, never its bytes). */
  | { readonly kind: 'config-error'; readonly durationMs: 0 }
  /**
   * The plugin's sandbox process ended during the call (exit, signal, memory, uncaught error, or
   * killed after a deadline). `alone`: it was the only call in that process, so it caused it.
   */
  | {
      readonly kind: 'sandbox-crashed';
      readonly reason: string;
      readonly exitCode: number | null;
      readonly signal: string | null;
      readonly alone: boolean;
      readonly durationMs: number;
    }
  /** The plugin's sandboxes keep crashing: it is restarted after `retryAfterMs`; nothing ran. */
  | { readonly kind: 'sandbox-unavailable'; readonly retryAfterMs: number; readonly durationMs: number }
  /** No plugin of this type is loaded, or it does not implement the operation. */
  | { readonly kind: 'unavailable'; readonly reason: 'not-loaded' | 'not-implemented'; readonly durationMs: 0 };

/** The result of a request of operation `O`. */
export type ResultOf<O extends keyof ConnectorValues> = ConnectorCallResult<ConnectorValues[O]>;

/** What a ConnectorCaller needs from the host. */
export interface ConnectorCallerDeps {
  readonly registry: ConnectorRegistry;
  readonly cipher: ConfigCipher;
  /** The host's logger; each call's connector gets a child of it that scrubs the connection's secrets. */
  readonly logger: Logger;
  /** Reuse decrypted configs between calls (the worker's hot path, ADR 0015); without it every call decrypts. */
  readonly configs?: ConnectionConfigCache;
  /** Runs the calls of sandboxed plugins (isolation `process`); required once such a plugin is loaded. */
  readonly sandboxes?: SandboxSupervisor;
  /** The operator's grants: a sandboxed connection's declared paths are checked against them. */
  readonly grants?: GrantPolicy;
}

/** Default deadline of a connector's dispose() at shutdown. */
export const DEFAULT_DISPOSE_TIMEOUT_MS = 5_000;

/**
 * The one way the host calls a connector operation. For each call it builds the operation context
 * (the stored config decrypted, deep-frozen, with a logger that scrubs its secrets), enforces the
 * deadline and the caller's abort signal, races the call against them (a connector that ignores
 * its signal cannot hang the host), classifies how the call ended and scrubs everything that comes
 * back. Callers hand it data (the stored row, the operation's arguments, the limits) and get data
 * back, never a port or a context: this is the seam where a sandbox process takes the call over.
 */
export class ConnectorCaller {
  readonly #deps: ConnectorCallerDeps;

  constructor(deps: ConnectorCallerDeps) {
    this.#deps = deps;
  }

  /**
   * Runs one operation. Every ending of the connector's side is a {@link ConnectorCallResult};
   * it rejects only on a fault of the host itself while preparing the call (anything other than
   * a stored config that does not decrypt), which callers treat as their own bug.
   */
  call<R extends ConnectorCallRequest>(request: R): Promise<ResultOf<R['operation']>>;
  call(request: ConnectorCallRequest): Promise<ConnectorCallResult<unknown>> {
    const { registry } = this.#deps;
    const type = request.connection.connectorType;
    if (!registry.has(type)) return Promise.resolve(NOT_LOADED);
    const plugin = registry.plugin(type);
    const port = plugin.port;
    const sandboxed = plugin.isolation === 'process';
    const implementsCheck = sandboxed ? plugin.operations?.checkDelivery === true : typeof port?.checkDelivery === 'function';
    if (request.operation === 'checkDelivery' && !implementsCheck) return Promise.resolve(NOT_IMPLEMENTED);
    let resolved: ResolvedConfig;
    try {
      const options = { logger: this.#deps.logger, configSchema: plugin.configSchema };
      resolved = this.#deps.configs?.resolve(this.#deps.cipher, request.connection, options) ?? resolveStoredConfig(this.#deps.cipher, request.connection, options);
    } catch (err) {
      if (isErpcError(err) && err.code === 'ERPC_ERR_CONFIG_DECRYPT_FAILED') return Promise.resolve(CONFIG_ERROR);
      return Promise.reject(err);
    }
    const scrub = resolved.scrubList;
    let invoke: (op: 'push' | 'checkDelivery' | 'testConnection', arg: unknown) => (signal: AbortSignal) => unknown;
    if (sandboxed) {
      const { sandboxes, grants } = this.#deps;
      if (sandboxes === undefined || grants === undefined) return Promise.reject(new Error(`no sandbox supervisor for the sandboxed plugin ${type}`));
      const refused = grantRefusal(grants, plugin, resolved);
      if (refused !== undefined) return Promise.resolve(refused);
      invoke = (op, arg) => (signal) =>
        sandboxes.run({
          plugin,
          op,
          connection: resolved.connection,
          config: resolved.config,
          arg,
          timeoutMs: request.timeoutMs,
          signal,
          scrub,
          log: (level, obj, msg) => (obj === undefined ? resolved.logger[level](msg ?? '') : resolved.logger[level](obj as object, msg)),
          ...(request.alone === true ? { alone: true } : {}),
        });
    } else {
      const p = port!;
      invoke = (op, arg) => (signal) =>
        op === 'push' ? p.push(arg as PushDocument, contextOf(resolved, signal)) : op === 'checkDelivery' ? p.checkDelivery!(arg as PushReceipt, contextOf(resolved, signal)) : p.testConnection(contextOf(resolved, signal));
    }
    const run = <T>(op: 'push' | 'checkDelivery' | 'testConnection', arg: unknown, normalise: (value: never) => Normalised<T>) =>
      settle(request, scrub, invoke(op, arg), normalise, sandboxed);
    switch (request.operation) {
      case 'push': {
        const acknowledges = implementsCheck;
        return run('push', request.document, (receipt: PushReceipt | undefined) => {
          if (typeof receipt?.externalRef !== 'string' || receipt.externalRef.length === 0) {
            return new ContractViolation('The connector returned no externalRef; its push() does not follow the contract.');
          }
          // The reference is kept as it is: checkDelivery gets it back, and the ERP knows the document by it.
          const value: PushValue = {
            externalRef: receipt.externalRef,
            details: jsonObject(receipt.details, scrub),
            expectAcknowledgement: acknowledges && receipt.expectAcknowledgement !== false,
          };
          return value;
        });
      }
      case 'checkDelivery':
        return run('checkDelivery', request.receipt, (status: { state?: unknown; message?: unknown; details?: unknown } | undefined) => {
          const state: DeliveryState = status?.state === 'acknowledged' || status?.state === 'rejected' ? status.state : 'pending';
          const message = textOf(status?.message, scrub);
          const value: DeliveryValue = message === undefined ? { state, details: jsonObject(status?.details, scrub) } : { state, message, details: jsonObject(status?.details, scrub) };
          return value;
        });
      case 'testConnection':
        return run('testConnection', undefined, (result: { ok?: unknown; message?: unknown } | undefined) => {
          const message = textOf(result?.message, scrub);
          const value: TestValue = message === undefined ? { ok: result?.ok === true } : { ok: result?.ok === true, message };
          return value;
        });
    }
  }
}

/**
 * Calls a plugin's optional dispose() (at shutdown) with a deadline: a dispose() that never
 * settles cannot keep the host from stopping. `unavailable` when the port has none.
 */
export function disposeConnector(plugin: LoadedPlugin, limits: CallLimits = { timeoutMs: DEFAULT_DISPOSE_TIMEOUT_MS }): Promise<ResultOf<'dispose'>> {
  const port = plugin.port;
  // A sandboxed port is disposed in its sandbox, when the supervisor stops the process.
  if (port === undefined || typeof port.dispose !== 'function') return Promise.resolve(NOT_IMPLEMENTED);
  return settle(limits, [], () => port.dispose!(), () => undefined);
}

const NOT_LOADED = Object.freeze({ kind: 'unavailable', reason: 'not-loaded', durationMs: 0 } as const);
const NOT_IMPLEMENTED = Object.freeze({ kind: 'unavailable', reason: 'not-implemented', durationMs: 0 } as const);
const CONFIG_ERROR = Object.freeze({ kind: 'config-error', durationMs: 0 } as const);

/** The abort reason a connector's signal carries when the deadline passes (`name` is the standard TimeoutError). */
class OperationTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`The operation did not finish within ${timeoutMs} ms and was aborted.`);
    this.name = 'TimeoutError';
  }
}

function contextOf(resolved: ResolvedConfig, signal: AbortSignal): OperationContext {
  return Object.freeze({ config: resolved.config, signal, logger: resolved.logger, connection: resolved.connection });
}

/** What a normaliser returns for an answer outside the contract. */
class ContractViolation {
  constructor(readonly message: string) {}
}

type Normalised<T> = T | ContractViolation;

/**
 * Runs `invoke` with a signal that aborts at the deadline or with the caller's signal, and
 * resolves with the first of: its value (normalised), its failure (classified, scrubbed), the
 * timeout, the abort. One promise and one timer per call, no rejection on any path: this is the
 * worker's hot path (ADR 0015).
 */
function settle<T>(
  limits: CallLimits,
  scrub: readonly string[],
  invoke: (signal: AbortSignal) => unknown,
  normalise: (value: never) => Normalised<T>,
  /**
   * A sandboxed call: the sandbox supervisor enforces the deadline itself (it tells a late call
   * from a frozen sandbox, and time spent waiting for a sandbox is not the plugin's), so no timer here.
   */
  sandboxed = false,
): Promise<ConnectorCallResult<T>> {
  const { timeoutMs, signal: parent } = limits;
  if (parent?.aborted) return Promise.resolve({ kind: 'aborted', durationMs: 0 });
  return new Promise<ConnectorCallResult<T>>((resolve) => {
    const started = performance.now();
    const controller = new AbortController();
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (result: ConnectorCallResult<T>): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      parent?.removeEventListener('abort', onParentAbort);
      resolve(result);
    };
    // Each is settled before the connector's signal listeners can answer: whatever it does on
    // abort (reject, resolve late, nothing) arrives after the result and is ignored.
    const arm = (): void => {
      timer = setTimeout(() => {
        controller.abort(new OperationTimeoutError(timeoutMs));
        finish({ kind: 'timeout', timeoutMs, durationMs: performance.now() - started });
      }, timeoutMs);
      // The deadline must not keep a stopping process alive.
      timer.unref();
    };
    if (!sandboxed) arm();
    const onParentAbort = (): void => {
      controller.abort(parent?.reason);
      finish({ kind: 'aborted', durationMs: performance.now() - started });
    };
    parent?.addEventListener('abort', onParentAbort, { once: true });
    const onValue = (value: unknown): void => {
      if (done) return;
      let out: Normalised<T>;
      try {
        out = normalise(value as never);
      } catch (err) {
        // A value that cannot even be read (a throwing getter) breaks the contract like a throw.
        finish(classifyThrow(err, scrub, performance.now() - started));
        return;
      }
      const durationMs = performance.now() - started;
      if (out instanceof ContractViolation) finish({ kind: 'invalid', message: out.message, durationMs });
      else finish({ kind: 'value', value: out, durationMs });
    };
    const onError = (err: unknown): void => {
      if (!done) finish(classifyThrow(err, scrub, performance.now() - started));
    };
    let pending: unknown;
    try {
      pending = invoke(controller.signal);
    } catch (err) {
      onError(err);
      return;
    }
    if (pending instanceof Promise) pending.then(onValue, onError);
    else Promise.resolve(pending).then(onValue, onError);
  });
}

function classifyThrow(err: unknown, scrub: readonly string[], durationMs: number): ConnectorCallResult<never> {
  if (err instanceof SandboxCallCrash) {
    return { kind: 'sandbox-crashed', reason: scrubMessage(err.crash.reason, scrub), exitCode: err.crash.exitCode, signal: err.crash.signal, alone: err.alone, durationMs };
  }
  if (err instanceof SandboxBackoff) return { kind: 'sandbox-unavailable', retryAfterMs: err.retryAfterMs, durationMs };
  if (err instanceof SandboxTimeout) return { kind: 'timeout', timeoutMs: err.timeoutMs, durationMs };
  if (isConnectorError(err)) {
    return {
      kind: 'connector-error',
      code: scrubMessage(err.code, scrub),
      message: truncateMessage(scrubMessage(String(err.message), scrub)),
      retryable: err.retryable || err.operatorFixable === true,
      operatorFixable: err.operatorFixable === true,
      details: jsonObject(err.details, scrub),
      durationMs,
    };
  }
  // Not a ConnectorError: callers treat it as a transient failure (see ADR "unknown throws").
  const errorName = err instanceof Error ? String(err.name) : typeof err;
  return { kind: 'crashed', errorName: scrubMessage(errorName, scrub), message: truncateMessage(scrubMessage(describe(err), scrub)), durationMs };
}

function describe(err: unknown): string {
  try {
    return err instanceof Error ? String(err.message) : String(err);
  } catch {
    return '(the thrown value cannot be shown)';
  }
}

/** A scrubbed, bounded copy of a connector-provided text; undefined when it is not a non-empty string. */
function textOf(value: unknown, scrub: readonly string[]): string | undefined {
  return typeof value === 'string' && value !== '' ? truncateMessage(scrubMessage(value, scrub)) : undefined;
}


/** `text` cut to {@link MAX_CONNECTOR_MESSAGE} characters (the last one an ellipsis) when longer. */
export function truncateMessage(text: string): string {
  return text.length > MAX_CONNECTOR_MESSAGE ? `${text.slice(0, MAX_CONNECTOR_MESSAGE - 1)}…` : text;
}

/**
 * A JSON object copy of connector-provided details with the connection's secret values
 * replaced, or null when there are none or they do not serialise.
 */
function jsonObject(value: unknown, scrub: readonly string[]): Record<string, unknown> | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  try {
    return JSON.parse(JSON.stringify(scrub.length === 0 ? value : scrubValue(value, scrub))) as Record<string, unknown>;
  } catch {
    return null;
  }
}

// Per resolved config (the worker's cache reuses it while the row is unchanged): realpath calls
// once per connection config, not once per push.
const grantChecks = new WeakMap<ResolvedConfig, ConnectorCallResult<never> | null>();

/** A sandboxed connection whose declared paths left its grant: a permanent failure, never a call. */
function grantRefusal(grants: GrantPolicy, plugin: LoadedPlugin, resolved: ResolvedConfig): ConnectorCallResult<never> | undefined {
  let known = grantChecks.get(resolved);
  if (known === undefined) {
    try {
      grants.checkConfig(plugin.connectorType, plugin.manifest.capabilities as PluginCapabilities | undefined, resolved.connection.orgId, resolved.config);
      known = null;
    } catch (err) {
      if (!isErpcError(err) || err.code !== 'ERPC_ERR_CONFIG_PATH_NOT_GRANTED') throw err;
      known = { kind: 'connector-error', code: err.code, message: err.message, retryable: false, operatorFixable: false, details: null, durationMs: 0 };
    }
    grantChecks.set(resolved, known);
  }
  return known ?? undefined;
}
