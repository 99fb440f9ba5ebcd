import { ConfigCipher, isConfigDecryptError, Keyring, LEGACY_KEY_ID } from '../crypto/index.js';
import { ErpcError } from '../errors/index.js';
import type { KeyStore } from './ports.js';

/** What the key status reads of one table of encrypted data. */
export type KeyCountSource = Pick<KeyStore, 'keyIdCounts' | 'firstLegacyRow'>;

/**
 * Every table of data encrypted under the keyring, as one source: connection configs and, after
 * them, webhook signing secrets (same keyring, rewritten by `erpc keys rotate`, ADR 0035). The
 * rows per key id are summed, so a key that still encrypts only a webhook secret counts as in use
 * (dropping it from ENCRYPTION_PREVIOUS_KEYS would leave that endpoint's webhooks unsigned). The
 * legacy sample comes from the first source that has one.
 */
export function encryptedRows(...sources: KeyCountSource[]): KeyCountSource {
  return {
    async keyIdCounts() {
      const byKey = new Map<string, number>();
      for (const source of sources) for (const c of await source.keyIdCounts()) byKey.set(c.keyId, (byKey.get(c.keyId) ?? 0) + c.rows);
      return [...byKey].map(([keyId, rows]) => ({ keyId, rows })).sort((a, b) => (a.keyId < b.keyId ? -1 : a.keyId > b.keyId ? 1 : 0));
    },
    async firstLegacyRow() {
      for (const source of sources) {
        const row = await source.firstLegacyRow();
        if (row !== undefined) return row;
      }
      return undefined;
    },
  };
}

/** Rows (connection configs and webhook signing secrets) under one key id. */
export interface KeyRowCount {
  keyId: string;
  rows: number;
  /** The key is in the keyring (ENCRYPTION_MASTER_KEY or ENCRYPTION_PREVIOUS_KEYS). */
  loaded: boolean;
  active: boolean;
}

/** Rows in the original Python format (`config_key_id = 'legacy'`). */
export interface LegacyRowStatus {
  rows: number;
  /**
   * Whether a loaded key decrypts them, judged by trying the first legacy row (the format carries
   * no key id, so nothing else can tell); null when there are none.
   */
  decryptable: boolean | null;
}

/** What `erpc keys status`, the start-up check and GET /healthz report. */
export interface KeyStatus {
  activeKeyId: string;
  loadedKeyIds: readonly string[];
  /** Rows per key id (legacy rows excluded; see `legacy`), sorted by key id. */
  keys: KeyRowCount[];
  legacy: LegacyRowStatus;
  /** Key ids that rows use but no loaded key has; legacy rows appear as `legacy` when they do not decrypt. */
  missing: { keyId: string; rows: number }[];
  /** Rows not under the active key (what `erpc keys rotate` would rewrite). */
  rowsToRotate: number;
}

/**
 * Reads the key status of the encrypted data (`encryptedRows`: connection configs and webhook
 * secrets): which key ids rows use, which of them are loaded. A GROUP BY per table and at most one
 * legacy row; cheap enough for start-up and health checks.
 */
export async function readKeyStatus(store: KeyCountSource, keyring: Keyring, cipher: ConfigCipher): Promise<KeyStatus> {
  const counts = await store.keyIdCounts();
  const keys: KeyRowCount[] = counts
    .filter((c) => c.keyId !== LEGACY_KEY_ID)
    .map((c) => ({ keyId: c.keyId, rows: c.rows, loaded: keyring.has(c.keyId), active: c.keyId === keyring.activeKeyId }));
  const legacyRows = counts.find((c) => c.keyId === LEGACY_KEY_ID)?.rows ?? 0;
  let decryptable: boolean | null = null;
  if (legacyRows > 0) {
    const sample = await store.firstLegacyRow();
    if (sample === undefined) decryptable = null; // rotated away meanwhile
    else {
      try {
        cipher.decryptLegacy(sample.blob, sample.id);
        decryptable = true;
      } catch (err) {
        if (!isConfigDecryptError(err)) throw err;
        decryptable = false;
      }
    }
  }
  const missing = keys.filter((k) => !k.loaded).map((k) => ({ keyId: k.keyId, rows: k.rows }));
  if (decryptable === false) missing.push({ keyId: LEGACY_KEY_ID, rows: legacyRows });
  return {
    activeKeyId: keyring.activeKeyId,
    loadedKeyIds: keyring.keyIds,
    keys,
    legacy: { rows: legacyRows, decryptable },
    missing,
    rowsToRotate: counts.filter((c) => c.keyId !== keyring.activeKeyId).reduce((n, c) => n + c.rows, 0),
  };
}

/** "2 rows under key 1a2b… , 5 legacy rows" — ids and counts only. */
export function describeMissingKeys(missing: readonly { keyId: string; rows: number }[]): string {
  return missing
    .map((m) =>
      m.keyId === LEGACY_KEY_ID
        ? `${m.rows} legacy row(s) that no loaded key decrypts`
        : `${m.rows} row(s) under key id ${m.keyId}`,
    )
    .join(', ');
}

/** Result of {@link checkKeysAtStartup}. */
export interface StartupKeyCheck {
  status: KeyStatus;
  /** True when keys are missing and the override let the host start anyway (log a warning). */
  overridden: boolean;
}

/**
 * The start-up check of `erpc serve` and `erpc worker`: refuses (ERPC_ERR_KEY_NOT_LOADED naming
 * the missing key ids and row counts, never a key) when rows exist under keys that are not loaded,
 * unless `allowMissingKeys` (--allow-missing-keys / ERPC_ALLOW_MISSING_KEYS=1).
 */
export async function checkKeysAtStartup(
  store: KeyCountSource,
  keyring: Keyring,
  cipher: ConfigCipher,
  allowMissingKeys: boolean,
): Promise<StartupKeyCheck> {
  const status = await readKeyStatus(store, keyring, cipher);
  if (status.missing.length === 0) return { status, overridden: false };
  if (allowMissingKeys) return { status, overridden: true };
  throw new ErpcError(
    'ERPC_ERR_KEY_NOT_LOADED',
    { missing: describeMissingKeys(status.missing) },
    { details: { activeKeyId: status.activeKeyId, missing: status.missing } },
  );
}

/** Body of GET /healthz's `keys` field. */
export interface HealthKeys {
  active: string;
  missing: { keyId: string; rows: number }[];
}

/**
 * Key health for GET /healthz, cached for `ttlMs` so a busy health probe does not run a GROUP BY
 * per request. `degraded` when rows are under keys that are not loaded (the host answers those
 * connections with "Configuration error").
 */
export class KeyHealth {
  #cached: { at: number; value: HealthKeys } | undefined;

  constructor(
    private readonly store: KeyCountSource,
    private readonly keyring: Keyring,
    private readonly cipher: ConfigCipher,
    private readonly ttlMs = 5_000,
  ) {}

  async check(): Promise<{ degraded: boolean; keys: HealthKeys }> {
    const now = Date.now();
    if (this.#cached === undefined || now - this.#cached.at >= this.ttlMs) {
      const status = await readKeyStatus(this.store, this.keyring, this.cipher);
      this.#cached = { at: now, value: { active: status.activeKeyId, missing: status.missing } };
    }
    const keys = this.#cached.value;
    return { degraded: keys.missing.length > 0, keys };
  }
}
