import type { Logger } from 'pino';
import type { ConnectionRef, ConnectorLogger } from '@erpc/sdk';
import { secretValuesOf, type ConfigCipher } from '../crypto/index.js';
import { decryptStoredConfig, type StoredConnectionConfig } from '../crypto/stored-config.js';
import { createScrubbingLogger, scrubList } from '../logging/scrubbing.js';

/** What every operation on a stored connection row needs, independent of the operation itself. */
export interface ResolvedConfig {
  /** The decrypted config, deep-frozen. */
  readonly config: Readonly<Record<string, unknown>>;
  /** The config's secret values (its writeOnly fields). */
  readonly secrets: readonly string[];
  /** `secrets` in the form scrubValue takes (longest first, JSON-escaped forms added); empty when there are none. */
  readonly scrubList: readonly string[];
  /** A child of the host's logger that scrubs `secrets`. */
  readonly logger: ConnectorLogger;
  readonly connection: ConnectionRef;
}

/** What a stored row is resolved with: the host's logger and the connector's config schema. */
export interface ResolveOptions {
  /** The host's logger; the connector gets a child of it that scrubs the config's secrets. */
  readonly logger: Logger;
  /** The connector's config schema: its writeOnly properties name the secrets to scrub. */
  readonly configSchema: Readonly<Record<string, unknown>>;
}

/** Freezes an object graph in place (the config is a fresh copy from JSON.parse, so it is a tree). */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}

/**
 * Decrypts `row` and derives what an operation needs from it. Throws ERPC_ERR_CONFIG_DECRYPT_FAILED
 * (logged with the row's ids, never its bytes) when it does not decrypt.
 */
export function resolveStoredConfig(cipher: ConfigCipher, row: StoredConnectionConfig, options: ResolveOptions): ResolvedConfig {
  const config = deepFreeze(decryptStoredConfig(cipher, row, options.logger));
  const secrets = Object.freeze(secretValuesOf(config, options.configSchema));
  const connection: ConnectionRef = Object.freeze({ id: row.id, orgId: row.orgId, connectorType: row.connectorType });
  const logger = createScrubbingLogger(options.logger.child({ connectionId: row.id, orgId: row.orgId, connectorType: row.connectorType }), secrets);
  return Object.freeze({ config, secrets, scrubList: Object.freeze(scrubList(secrets)), logger, connection });
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
 * push (ADR 0015). An entry is used only while the row's ciphertext, key id, org and connector
 * type are byte-for-byte what it was decrypted from (a config change or key rotation is a miss at
 * once; the caller re-reads the row, status included, for every operation), and at most `ttlMs`
 * after it was decrypted, so plaintext does not linger in memory. Failures are never cached. The
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
  resolve(cipher: ConfigCipher, row: StoredConnectionConfig, options: ResolveOptions): ResolvedConfig {
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
    const resolved = resolveStoredConfig(cipher, row, options);
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
