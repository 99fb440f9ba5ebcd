// The container (knex, pg, PGlite, the plugin loader…) is imported when a command opens a host,
// so that `erpc --help` and commands without a database do not load it.
import type { Host, OpenHostOptions } from '../container.js';
import { ErpcError } from '../errors/index.js';
import { createLogger, type Logger } from '../logging/logger.js';
import { loadHostConfig, warnUnknownSettings, type HostConfig, type LogLevel, type SettingOverrides } from '../settings/index.js';
import { processEnv } from '../settings/process-env.js';
import { adminSocketAnswers, callAdminSocket, type AdminOp } from './admin-socket.js';

let warned = false;

/**
 * The settings of this command: the environment plus the command line's `overrides` (keyed by
 * the setting's variable name), parsed once. An invalid one throws ERPC_ERR_SETTING_INVALID.
 * The first call of a process warns about variables that look like settings but are none
 * (`LOG_LEVEL`: did you mean ERPC_LOG_LEVEL?).
 */
export function commandSettings(overrides: SettingOverrides = {}): HostConfig {
  const env = processEnv();
  const config = loadHostConfig({ env, overrides });
  if (!warned) {
    warned = true;
    const logger = createLogger({ level: config.logLevel === 'silent' ? 'silent' : 'warn' });
    warnUnknownSettings(env, (obj, msg) => logger.warn(obj, msg));
  }
  return config;
}

/** The command's logger: ERPC_LOG_LEVEL when set, else `defaultLevel`. */
export function commandLogger(config: HostConfig, defaultLevel: LogLevel = 'warn'): Logger {
  return createLogger({ level: config.logLevel ?? defaultLevel });
}

/** The embedded database belongs to one process: refuse while `erpc serve` holds it. */
export async function refuseWhileServing(config: HostConfig): Promise<void> {
  if (config.databaseUrl === undefined && (await adminSocketAnswers(config.dataDir))) {
    throw new ErpcError('ERPC_ERR_EMBEDDED_DB_IN_USE', { dataDir: config.dataDir });
  }
}

/**
 * Runs a one-shot command with an open host and always closes it. Log lines only for warnings
 * and errors unless ERPC_LOG_LEVEL says otherwise: the command prints its own output.
 */
export async function withHost<T>(config: HostConfig, fn: (host: Host) => Promise<T>, options: OpenHostOptions = {}): Promise<T> {
  const { openHost } = await import('../container.js');
  const host = await openHost(config, { logger: commandLogger(config), ...options });
  try {
    return await fn(host);
  } finally {
    await host.close();
  }
}

/**
 * Runs an admin operation: through a running server's admin socket on the embedded default,
 * else directly on the database (PostgreSQL, or the embedded one when no server holds it).
 * No plugin is loaded for it except for `connections.list`, whose view (the config without its
 * secrets, `secretFields`) comes from each connector's schema, as the API's does (ADR 0055).
 */
export async function runAdmin<T>(config: HostConfig, op: AdminOp, args: Record<string, string>, direct: (host: Host) => Promise<T>): Promise<T> {
  if (config.databaseUrl === undefined) {
    const viaServer = await callAdminSocket(config.dataDir, op, args);
    if (viaServer.reached) return viaServer.result as T;
  }
  return withHost(config, direct, op === 'connections.list' ? {} : { plugins: 'none' });
}

/** Resolves on the first SIGINT or SIGTERM, with its name. */
export function nextStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(signal);
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
}
