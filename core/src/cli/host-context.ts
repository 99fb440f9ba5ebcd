import path from 'node:path';
import type { DependencyContainer } from '../di.js';
import { loadAppConfig, type AppConfig } from '../config.js';
import { createContainer, loadConnectors, registerHostServices } from '../container.js';
import { keyringFromEnv, loadOrCreateLocalKey, type Keyring } from '../crypto/index.js';
import { ErpcError } from '../errors/index.js';
import { createLogger, type Logger } from '../logging/logger.js';
import { createDatabase, migrateLatest } from '../storage/index.js';
import { TOKENS } from '../tokens.js';

/** A started host: container with database, keys, plugins and services. */
export interface Host {
  readonly config: AppConfig;
  readonly container: DependencyContainer;
  readonly logger: Logger;
  resolve<T>(token: symbol): T;
  /** Disposes connectors and closes the database. */
  close(): Promise<void>;
}

export interface OpenHostOptions {
  env: NodeJS.ProcessEnv;
  logger?: Logger;
  /** Collect process metrics (serve only). */
  metricsDefaults?: boolean;
  /** Runs once the keys are loaded, before the database is opened (serve claims the data directory here). */
  beforeDatabase?: () => Promise<void>;
}

/** The data directory of the embedded default (ERPC_DATA_DIR, default ./.erpc/data). */
export function dataDirOf(env: NodeJS.ProcessEnv): string {
  return path.resolve(env.ERPC_DATA_DIR?.trim() || './.erpc/data');
}

/**
 * The keyring: ENCRYPTION_MASTER_KEY when set (a malformed key throws before anything else
 * happens); on the embedded default without it, the local key file (generated on first start,
 * with a warning); with DATABASE_URL and no key, ERPC_ERR_KEY_MISSING.
 */
export async function resolveKeyring(env: NodeJS.ProcessEnv, logger: Logger): Promise<Keyring> {
  if (env.ENCRYPTION_MASTER_KEY !== undefined && env.ENCRYPTION_MASTER_KEY.trim() !== '') return keyringFromEnv(env);
  if (env.DATABASE_URL !== undefined && env.DATABASE_URL.trim() !== '') throw new ErpcError('ERPC_ERR_KEY_MISSING');
  const local = await loadOrCreateLocalKey(dataDirOf(env));
  if (local.created) {
    logger.warn(
      { path: local.path, keyId: local.keyId },
      'generated a local encryption key for the embedded database; it is for local use only: set ENCRYPTION_MASTER_KEY in production',
    );
  }
  return keyringFromEnv({ ENCRYPTION_MASTER_KEY: local.key, ENCRYPTION_PREVIOUS_KEYS: env.ENCRYPTION_PREVIOUS_KEYS });
}

/** Config → keys → database (migrated) → container → plugins. Used by `serve` and the admin commands. */
export async function openHost(options: OpenHostOptions): Promise<Host> {
  const { env } = options;
  const config = loadAppConfig(env);
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const keyring = await resolveKeyring(env, logger);
  await options.beforeDatabase?.();
  const db = await createDatabase({ databaseUrl: env.DATABASE_URL, dataDir: dataDirOf(env) });
  try {
    await migrateLatest(db);
    const container = createContainer(config, { logger });
    registerHostServices(container, { db, keyring, metricsDefaults: options.metricsDefaults === true });
    await loadConnectors(container);
    return {
      config,
      container,
      logger,
      resolve: <T>(token: symbol) => container.resolve<T>(token),
      close: async () => {
        await closeHost(container);
        await db.destroy();
      },
    };
  } catch (err) {
    await db.destroy();
    throw err;
  }
}

async function closeHost(container: DependencyContainer): Promise<void> {
  const registry = container.resolve<{ dispose(): Promise<unknown> }>(TOKENS.ConnectorRegistry);
  await registry.dispose();
}

/** Runs `fn` with an open host and always closes it. For short CLI commands. */
export async function withHost<T>(fn: (host: Host) => Promise<T>): Promise<T> {
  const config = loadAppConfig(process.env);
  // Short admin commands print their own output; log lines only for warnings and errors.
  const logger = createLogger({ level: process.env.ERPC_LOG_LEVEL ? config.logLevel : 'warn' });
  const host = await openHost({ env: process.env, logger });
  try {
    return await fn(host);
  } finally {
    await host.close();
  }
}
