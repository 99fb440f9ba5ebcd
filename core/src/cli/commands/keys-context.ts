import type { Knex } from 'knex';
import type { ConfigCipher, Keyring } from '../../crypto/index.js';
import { ErpcError } from '../../errors/index.js';
import { createLogger } from '../../logging/logger.js';
import { loadAppConfig } from '../../config.js';
import type { ConnectorRegistry } from '../../plugins/connector-registry.js';
import { TOKENS } from '../../tokens.js';
import { adminSocketAnswers } from '../admin-socket.js';
import { dataDirOf, openHost } from '../host-context.js';

/** What the key and import commands work with. */
export interface KeysContext {
  db: Knex;
  keyring: Keyring;
  cipher: ConfigCipher;
  registry(): ConnectorRegistry;
  close(): Promise<void>;
}

/**
 * Opens the host (keys, migrated database, plugins) for `keys status|rotate` and
 * `connections import`. On the embedded default the database can only be opened by one process,
 * so these commands refuse while `erpc serve` runs on the same data directory.
 */
export async function openKeysContext(): Promise<KeysContext> {
  const env = process.env;
  const embedded = env.DATABASE_URL === undefined || env.DATABASE_URL.trim() === '';
  if (embedded && (await adminSocketAnswers(dataDirOf(env)))) {
    throw new ErpcError('ERPC_ERR_EMBEDDED_DB_IN_USE', { dataDir: dataDirOf(env) });
  }
  const config = loadAppConfig(env);
  const logger = createLogger({ level: env.ERPC_LOG_LEVEL ? config.logLevel : 'warn' });
  const host = await openHost({ env, logger });
  return {
    db: host.resolve<Knex>(TOKENS.Db),
    keyring: host.resolve<Keyring>(TOKENS.Keyring),
    cipher: host.resolve<ConfigCipher>(TOKENS.ConfigCipher),
    registry: () => host.resolve<ConnectorRegistry>(TOKENS.ConnectorRegistry),
    close: () => host.close(),
  };
}
