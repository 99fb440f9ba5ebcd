import type { Logger } from 'pino';
import type { ConnectionRef, ConnectorLogger, OperationContext } from '@erpc/sdk';
import { ConfigCipher, isConfigDecryptError, secretValuesOf } from '../crypto/index.js';
import { ErpcError } from '../errors/index.js';
import { createScrubbingLogger } from './scrubbing-logger.js';

/** What an operation needs of a stored connection row. */
export interface StoredConnectionConfig {
  readonly id: string;
  readonly orgId: string;
  readonly connectorType: string;
  /** `erp_connection.config_encrypted`. Never leaves the host. */
  readonly configEncrypted: Uint8Array;
  /** `erp_connection.config_key_id`: a key id, or `legacy` for the original Python format. */
  readonly configKeyId: string;
}

/** Options of {@link createOperationContext}. */
export interface OperationContextOptions {
  /** The host's logger; the connector gets a child of it that scrubs the config's secrets. */
  readonly logger: Logger;
  /** The connector's config schema: its writeOnly properties name the secrets to scrub. */
  readonly configSchema: Readonly<Record<string, unknown>>;
  /** The operation's time limit; the context's signal aborts when it expires. */
  readonly timeoutMs: number;
  /** Aborting this (e.g. on shutdown) aborts the operation too. */
  readonly parentSignal?: AbortSignal;
  /**
   * Reuse the decrypted config (and its secret list and scrubbing logger) of earlier operations
   * on the same stored row. Without it every operation decrypts.
   */
  readonly cache?: ConnectionConfigCache;
}

/** An operation context plus what the host needs to run and clean it up. */
export interface OperationScope<C = Record<string, unknown>> {
  /** Hand this to the connector. */
  readonly ctx: OperationContext<C>;
  /** The secret values of the config (what the logger scrubs), for scrubbing error messages. */
  readonly secrets: readonly string[];
  /** True once the timeout (not the parent signal) aborted the operation. */
  timedOut(): boolean;
  /**
   * Rejects with the abort reason as soon as the signal aborts, so a connector that ignores its
   * signal cannot hang the host: race the connector's promise against it.
   */
  readonly aborted: Promise<never>;
  /** Clears the timer and detaches from the parent signal. Call it in `finally`. */
  dispose(): void;
}

/** Thrown (as the abort reason) when an operation's time limit expires. */
export class OperationTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`The operation did not finish within ${timeoutMs} ms and was aborted.`);
    this.name = 'TimeoutError';
  }
}

/** Freezes an object graph in place (the config is a fresh copy from JSON.parse, so it is a tree). */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}

/**
 * Decrypts a row's config. A row that does not decrypt is logged with its ids and the reason
 * code (never its bytes) and becomes ERPC_ERR_CONFIG_DECRYPT_FAILED: HTTP 500, "Configuration error".
 */
export function decryptStoredConfig(cipher: ConfigCipher, row: StoredConnectionConfig, logger: Logger): Record<string, unknown> {
  try {
    return cipher.decrypt(row.configEncrypted, { orgId: row.orgId, connectionId: row.id, keyId: row.configKeyId });
  } catch (err) {
    const code = isConfigDecryptError(err) ? err.code : 'UNEXPECTED';
    logger.error({ connectionId: row.id, orgId: row.orgId, connectorType: row.connectorType, code }, 'stored connection config does not decrypt');
    // The cause is not attached: its message is safe, but nothing about the row needs to travel further.
    throw new ErpcError('ERPC_ERR_CONFIG_DECRYPT_FAILED');
  }
}

/** A signal that aborts on timeout or when `parent` aborts; the timer does not keep the process alive. */
function timeoutSignal(timeoutMs: number, parent: AbortSignal | undefined) {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new OperationTimeoutError(timeoutMs));
  }, timeoutMs);
  timer.unref();
  const onParentAbort = () => controller.abort(parent?.reason);
  if (parent?.aborted) controller.abort(parent.reason);
  else parent?.addEventListener('abort', onParentAbort, { once: true });
  const aborted = new Promise<never>((_, reject) => {
    const fail = () => reject(controller.signal.reason instanceof Error ? controller.signal.reason : new OperationTimeoutError(timeoutMs));
    if (controller.signal.aborted) fail();
    else controller.signal.addEventListener('abort', fail, { once: true });
  });
  // Nobody may be racing against it (e.g. the operation finished first): never an unhandled rejection.
  aborted.catch(() => undefined);
  return {
    signal: controller.signal,
    aborted,
    timedOut: () => timedOut,
    dispose: () => {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onParentAbort);
    },
  };
}

/**
 * Builds the OperationContext a connector receives for one operation on a stored connection:
 * the decrypted config (deep-frozen), an AbortSignal that fires after `timeoutMs` (or when the
 * parent signal aborts), a logger that replaces each secret value of this config wherever it
 * appears in a line, and the connection's ids.
 *
 * Throws ERPC_ERR_CONFIG_DECRYPT_FAILED when the row does not decrypt (see {@link decryptStoredConfig}).
 * Keep the returned scope only for the operation's duration, and call `dispose()` in `finally`.
 */
export function createOperationContext<C = Record<string, unknown>>(
  cipher: ConfigCipher,
  row: StoredConnectionConfig,
  options: OperationContextOptions,
): OperationScope<C> {
  const resolved = options.cache?.resolve(cipher, row, options) ?? resolveConfig(cipher, row, options);
  const timing = timeoutSignal(options.timeoutMs, options.parentSignal);
  const ctx: OperationContext<C> = Object.freeze({
    config: resolved.config as unknown as Readonly<C>,
    signal: timing.signal,
    logger: resolved.logger,
    connection: resolved.connection,
  });
  return { ctx, secrets: resolved.secrets, timedOut: timing.timedOut, aborted: timing.aborted, dispose: timing.dispose };
}

/** What an operation derives from a stored row, independent of the operation itself. */
interface ResolvedConfig {
  readonly config: Readonly<Record<string, unknown>>;
  readonly secrets: readonly string[];
  readonly logger: ConnectorLogger;
  readonly connection: ConnectionRef;
}

function resolveConfig(cipher: ConfigCipher, row: StoredConnectionConfig, options: OperationContextOptions): ResolvedConfig {
  const config = deepFreeze(decryptStoredConfig(cipher, row, options.logger));
  const secrets = Object.freeze(secretValuesOf(config, options.configSchema));
  const connection: ConnectionRef = Object.freeze({ id: row.id, orgId: row.orgId, connectorType: row.connectorType });
  const logger = createScrubbingLogger(options.logger.child({ connectionId: row.id, orgId: row.orgId, connectorType: row.connectorType }), secrets);
  return { config, secrets, logger, connection };
}

interface CacheEntry {
  readonly resolved: ResolvedConfig;
  readonly expiresAt: number;
  // What the entry was derived from: any difference is a miss.
  readonly cipher: ConfigCipher;
  readonly ciphertext: Buffer;
  readonly keyId: string;
  readonly orgId: string;
  readonly connectorType: string;
  readonly parentLogger: Logger;
  readonly configSchema: Readonly<Record<string, unknown>>;
}

/**
 * Decrypted connection configs of one worker, reused between its operations: decryption, deep
 * freezing, the secret walk and the scrubbing logger otherwise cost more than a fast connector's
 * push. An entry is used only while the row's ciphertext, key id, org and connector type are
 * byte-for-byte what it was decrypted from (a config change or key rotation is a miss at once;
 * the caller re-reads the row, status included, for every operation), and at most `ttlMs` after
 * it was decrypted, so plaintext does not linger in memory. Failures are never cached. The
 * cache holds secrets in memory only: it has no serialisation and is never logged.
 */
export class ConnectionConfigCache {
  readonly #entries = new Map<string, CacheEntry>();
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;

  constructor(options: { ttlMs?: number; maxEntries?: number; now?: () => number } = {}) {
    this.#ttlMs = options.ttlMs ?? 60_000;
    this.#maxEntries = options.maxEntries ?? 1_000;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Entries currently held (tests). */
  get size(): number {
    return this.#entries.size;
  }

  /** Drops every entry (e.g. on shutdown). */
  clear(): void {
    this.#entries.clear();
  }

  /** The resolved config of `row`, decrypted now unless a matching fresh entry exists. */
  resolve(cipher: ConfigCipher, row: StoredConnectionConfig, options: OperationContextOptions): ResolvedConfig {
    const now = this.#now();
    const hit = this.#entries.get(row.id);
    if (
      hit !== undefined &&
      hit.expiresAt > now &&
      hit.cipher === cipher &&
      hit.keyId === row.configKeyId &&
      hit.orgId === row.orgId &&
      hit.connectorType === row.connectorType &&
      hit.parentLogger === options.logger &&
      hit.configSchema === options.configSchema &&
      hit.ciphertext.equals(row.configEncrypted)
    ) {
      return hit.resolved;
    }
    this.#entries.delete(row.id);
    const resolved = resolveConfig(cipher, row, options);
    this.#entries.set(row.id, {
      resolved,
      expiresAt: now + this.#ttlMs,
      cipher,
      ciphertext: Buffer.from(row.configEncrypted),
      keyId: row.configKeyId,
      orgId: row.orgId,
      connectorType: row.connectorType,
      parentLogger: options.logger,
      configSchema: options.configSchema,
    });
    if (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    return resolved;
  }
}

/**
 * Runs `operation` with a fresh context and disposes it afterwards. Resolves with the
 * operation's result, or rejects with OperationTimeoutError (or the parent's abort reason) as
 * soon as the signal aborts, even when the connector ignores the signal.
 */
export async function withOperationContext<T, C = Record<string, unknown>>(
  cipher: ConfigCipher,
  row: StoredConnectionConfig,
  options: OperationContextOptions,
  operation: (ctx: OperationContext<C>) => Promise<T>,
): Promise<T> {
  const scope = createOperationContext<C>(cipher, row, options);
  try {
    return await Promise.race([Promise.resolve().then(() => operation(scope.ctx)), scope.aborted]);
  } finally {
    scope.dispose();
  }
}
