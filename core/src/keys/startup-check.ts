import type { Knex } from 'knex';
import type { ConfigCipher, Keyring } from '../crypto/index.js';
import type { Logger } from '../logging/logger.js';
import { TOKENS } from '../tokens.js';
import { KeyHealth, allowMissingKeysFromEnv, checkKeysAtStartup, describeMissingKeys } from './key-status.js';

/** What the start-up check needs of the host (its container). */
export interface KeyCheckHost {
  readonly logger: Logger;
  resolve<T>(token: symbol): T;
}

/** A /healthz check with details (the shape `HealthCheck` of the API accepts). */
export interface KeysHealthCheck {
  name: 'keys';
  check(): Promise<{ ok: boolean; details: Record<string, unknown> }>;
}

/**
 * The start-up key check of `erpc serve` and `erpc worker`, run before any listener opens or any
 * work is claimed: throws ERPC_ERR_KEY_NOT_LOADED when rows are under keys that are not loaded,
 * unless `--allow-missing-keys` (`allowFlag`) or ERPC_ALLOW_MISSING_KEYS=1, which only logs a
 * warning. Returns the /healthz check reporting the same.
 */
export async function enforceKeysAtStartup(host: KeyCheckHost, allowFlag: boolean, env: NodeJS.ProcessEnv = process.env): Promise<KeysHealthCheck> {
  const db = host.resolve<Knex>(TOKENS.Db);
  const keyring = host.resolve<Keyring>(TOKENS.Keyring);
  const cipher = host.resolve<ConfigCipher>(TOKENS.ConfigCipher);
  const result = await checkKeysAtStartup(db, keyring, cipher, allowFlag || allowMissingKeysFromEnv(env));
  if (result.overridden) {
    host.logger.warn(
      { code: 'ERPC_ERR_KEY_NOT_LOADED', activeKeyId: keyring.activeKeyId, missing: result.status.missing },
      `starting despite missing encryption keys (override): ${describeMissingKeys(result.status.missing)}; those connections answer "Configuration error"`,
    );
  }
  const health = new KeyHealth(db, keyring, cipher);
  return {
    name: 'keys',
    async check() {
      const { degraded, keys } = await health.check();
      return { ok: !degraded, details: { ...keys } };
    },
  };
}
