import path from 'node:path';
import { ErpcError } from './errors/index.js';

/** pino's levels, plus `silent`. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Settings of the process, read once from the environment by {@link loadAppConfig}.
 * Later modules add their fields here (and their parsing in loadAppConfig).
 */
export interface AppConfig {
  /** Absolute paths of the folders searched for plugins, in priority order. */
  readonly pluginDirs: readonly string[];
  /** How long one plugin's entry import may take before it is reported as timed out. */
  readonly pluginImportTimeoutMs: number;
  /** Cache of compiled plugin config schemas (ERPC_SCHEMA_CACHE_DIR, `off` to disable); undefined: none. */
  readonly schemaCacheDir: string | undefined;
  /** Minimum level of the host's log lines (stderr). */
  readonly logLevel: LogLevel;
  /** Time limit of a connection test (ERPC_TEST_TIMEOUT_MS, default 10000). */
  readonly connectionTestTimeoutMs: number;
  /** When set (ERPC_METRICS_TOKEN), GET /metrics needs `Authorization: Bearer <token>`. */
  readonly metricsToken: string | undefined;
}

/** The environment variables loadAppConfig reads. */
export type Env = Readonly<Record<string, string | undefined>>;

export const DEFAULT_PLUGIN_IMPORT_TIMEOUT_MS = 10_000;
export const DEFAULT_TEST_TIMEOUT_MS = 10_000;

/**
 * Reads the AppConfig from `env`. Relative paths are resolved against `cwd`.
 * Throws ERPC_ERR_SETTING_INVALID naming the variable when a value cannot be used.
 *
 * - `ERPC_PLUGIN_DIRS`: plugin folders separated by `:` (default `./plugins`);
 * - `ERPC_PLUGIN_IMPORT_TIMEOUT_MS`: positive integer (default 10000);
 * - `ERPC_SCHEMA_CACHE_DIR`: cache of compiled config schemas (default `./.erpc/cache/config-schemas`, `off` for none);
 * - `ERPC_LOG_LEVEL`: one of {@link LOG_LEVELS} (default `info`);
 * - `ERPC_TEST_TIMEOUT_MS`: time limit of a connection test (default 10000);
 * - `ERPC_METRICS_TOKEN`: bearer token GET /metrics then requires (at least 16 characters; default none).
 */
export function loadAppConfig(env: Env = process.env, cwd: string = process.cwd()): AppConfig {
  return {
    pluginDirs: parsePluginDirs(env.ERPC_PLUGIN_DIRS, cwd),
    pluginImportTimeoutMs: parsePositiveInt('ERPC_PLUGIN_IMPORT_TIMEOUT_MS', env.ERPC_PLUGIN_IMPORT_TIMEOUT_MS, DEFAULT_PLUGIN_IMPORT_TIMEOUT_MS),
    schemaCacheDir: parseCacheDir(env.ERPC_SCHEMA_CACHE_DIR, cwd),
    logLevel: parseLogLevel(env.ERPC_LOG_LEVEL),
    connectionTestTimeoutMs: parsePositiveInt('ERPC_TEST_TIMEOUT_MS', env.ERPC_TEST_TIMEOUT_MS, DEFAULT_TEST_TIMEOUT_MS),
    metricsToken: parseMetricsToken(env.ERPC_METRICS_TOKEN),
  };
}

function parseMetricsToken(raw: string | undefined): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  // Never echo the value: it is a secret.
  if (raw.length < 16 || /\s/.test(raw)) {
    throw new ErpcError('ERPC_ERR_SETTING_INVALID', { name: 'ERPC_METRICS_TOKEN', reason: 'expected at least 16 characters without spaces (e.g. `openssl rand -hex 24`)' });
  }
  return raw;
}

/** Resolves plugin folders the way ERPC_PLUGIN_DIRS and --plugins-dir do. */
export function resolvePluginDirs(dirs: readonly string[], cwd: string = process.cwd()): string[] {
  return dirs.map((d) => path.resolve(cwd, d));
}

function parsePluginDirs(raw: string | undefined, cwd: string): string[] {
  const dirs = (raw ?? '').split(':').map((d) => d.trim()).filter((d) => d !== '');
  return resolvePluginDirs(dirs.length > 0 ? dirs : ['./plugins'], cwd);
}

function parseCacheDir(raw: string | undefined, cwd: string): string | undefined {
  const value = raw?.trim() ?? '';
  if (value === 'off') return undefined;
  return path.resolve(cwd, value === '' ? '.erpc/cache/config-schemas' : value);
}

function parsePositiveInt(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    throw new ErpcError('ERPC_ERR_SETTING_INVALID', { name, reason: 'expected a positive integer (milliseconds)' });
  }
  return value;
}

function parseLogLevel(raw: string | undefined): LogLevel {
  if (raw === undefined || raw.trim() === '') return 'info';
  const level = raw.trim().toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new ErpcError('ERPC_ERR_SETTING_INVALID', { name: 'ERPC_LOG_LEVEL', reason: `expected one of ${LOG_LEVELS.join(', ')}` });
  }
  return level as LogLevel;
}
