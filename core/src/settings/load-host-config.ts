import { createRequire } from 'node:module';
import path from 'node:path';
import type Ajv from 'ajv';
import type { ValidateFunction } from 'ajv';
import { ErpcError } from '../errors/index.js';
import { loadShippedValidator, standaloneCode, validatorKey } from '../shipped-validator.js';
import { RetryPolicy } from '../push/retry-policy.js';
import { isCidr } from '../webhooks/address-policy.js';
import { DEFAULT_THREADPOOL_SIZE, DEFINITION_BY_NAME, FALSE_WORDS, MAX_THREADPOOL_SIZE, SETTING_DEFINITIONS, TRUE_WORDS, type SettingDefinition } from './definitions.js';
import { processEnv } from './process-env.js';
import type { Env, HostConfig, LogLevel, PluginGrant, SettingOverrides, SettingSource } from './types.js';

/** Options of {@link loadHostConfig}. */
export interface LoadHostConfigOptions {
  /** Default: the process environment. */
  env?: Env;
  /** Relative paths are resolved against it. Default: process.cwd(). */
  cwd?: string;
  /** Command-line values keyed by variable name; they win over `env`. */
  overrides?: SettingOverrides;
}

// ajv is CommonJS; under NodeNext its default export sits on `.default`.
const require = createRequire(import.meta.url);
type AjvInstance = Ajv.default;
type AjvCtor = new (opts: Record<string, unknown>) => AjvInstance;

/**
 * The options settings are validated with: env-schema's (the library this replaced, ADR 0056:
 * coercion of the environment's strings, defaults, unknown properties removed), except that
 * validation stops at the first bad variable (the error names one, in documentation order).
 * `code.source` keeps the generated code, so the build can ship it precompiled.
 */
const SETTINGS_AJV_OPTIONS = {
  strict: true,
  allErrors: false,
  removeAdditional: true,
  useDefaults: true,
  coerceTypes: true,
  allowUnionTypes: true,
  addUsedSchema: false,
  code: { source: true },
};

function newSettingsAjv(): AjvInstance {
  const mod = require('ajv') as { default?: AjvCtor } & AjvCtor;
  const AjvClass = mod.default ?? mod;
  return new AjvClass(SETTINGS_AJV_OPTIONS);
}

let schema: Record<string, unknown> | undefined;

/** The JSON Schema of the whole environment, one property per setting, in documentation order. */
export function settingsSchema(): Record<string, unknown> {
  schema ??= {
    type: 'object',
    properties: Object.fromEntries(SETTING_DEFINITIONS.map((d) => [d.name, { ...d.schema, description: d.description }])),
    additionalProperties: false,
  };
  return schema;
}

/** Identifies the settings validator's code: Ajv's version, the options and the schema. */
export function settingsValidatorKey(): string {
  return validatorKey(SETTINGS_AJV_OPTIONS, settingsSchema());
}

/** Compiles the settings validator and returns Ajv's standalone code of it (the build ships it precompiled). */
export function settingsValidatorSource(): string {
  const ajv = newSettingsAjv();
  return standaloneCode(ajv, ajv.compile(settingsSchema()));
}

let validator: ValidateFunction | undefined;

/**
 * The settings validator: the build's precompiled one (scripts/build-manifest-validator.mjs writes it
 * beside this module) when its key matches the schema, the options and the Ajv in use now, else
 * compiled here (running from source, or a stale file). Compiling costs a command about 70 ms.
 */
function settingsValidator(): ValidateFunction {
  validator ??= loadShippedValidator(require, './settings-validator.cjs', settingsValidatorKey()) ?? newSettingsAjv().compile(settingsSchema());
  return validator;
}

// Where each loaded config's values came from, for describeSettings.
const sourcesByConfig = new WeakMap<HostConfig, ReadonlyMap<string, SettingSource>>();

/** Where the values of a config returned by {@link loadHostConfig} came from; undefined for any other object. */
export function sourcesOf(config: HostConfig): ReadonlyMap<string, SettingSource> | undefined {
  return sourcesByConfig.get(config);
}

/**
 * Reads every setting once, from `env` and the command-line `overrides` (which win), into one
 * deep-frozen HostConfig. An empty value is the same as an unset one. Throws
 * ERPC_ERR_SETTING_INVALID naming the first bad variable (in documentation order) and what it
 * expects, never the value.
 */
export function loadHostConfig(options: LoadHostConfigOptions = {}): HostConfig {
  const env = options.env ?? processEnv();
  const cwd = options.cwd ?? process.cwd();
  const overrides = options.overrides ?? {};
  for (const name of Object.keys(overrides)) {
    if (!DEFINITION_BY_NAME.has(name)) throw new ErpcError('ERPC_ERR_SETTING_INVALID', { name, reason: 'no such setting (see docs/configuration.md)' });
  }

  const data: Record<string, unknown> = {};
  const sources = new Map<string, SettingSource>();
  for (const def of SETTING_DEFINITIONS) {
    const cli = rawValue(def, overrides[def.name]);
    const value = cli ?? rawValue(def, env[def.name]);
    sources.set(def.name, cli !== undefined ? 'cli' : value !== undefined ? 'env' : 'default');
    if (value !== undefined) data[def.name] = value;
  }
  const invalid = (name: string, reason: string): ErpcError => {
    const def = DEFINITION_BY_NAME.get(name);
    const shown = sources.get(name) === 'cli' && def?.option !== undefined ? `${def.option} (${name})` : name;
    return new ErpcError('ERPC_ERR_SETTING_INVALID', { name: shown, reason });
  };

  // Validated in place (coerced, defaults filled in): `data` is this call's own object.
  const validate = settingsValidator();
  if (!validate(data)) {
    // Ajv's errors name the property and the rule, never the value; the reason is ours.
    const first = validate.errors?.[0];
    const def = DEFINITION_BY_NAME.get(first?.instancePath?.slice(1) ?? '');
    if (def === undefined) throw new Error(`settings validation failed: ${JSON.stringify(validate.errors?.slice(0, 3))}`);
    throw invalid(def.name, def.reason);
  }
  const v: Record<string, unknown> = data;
  // Ajv lets Infinity ('1e400') through `integer` and `maximum`; no setting means it.
  for (const def of SETTING_DEFINITIONS) {
    const value = v[def.name];
    if (typeof value === 'number' && !Number.isFinite(value)) throw invalid(def.name, def.reason);
  }

  const int = (name: string): number => v[name] as number;
  const optionalInt = (name: string): number | undefined => v[name] as number | undefined;
  const pushTimeoutMs = int('ERPC_PUSH_TIMEOUT_MS');
  const leaseMs = optionalInt('ERPC_PUSH_LEASE_MS');
  if (leaseMs !== undefined && leaseMs <= pushTimeoutMs) {
    throw invalid('ERPC_PUSH_LEASE_MS', `must be longer than ERPC_PUSH_TIMEOUT_MS (${sources.get('ERPC_PUSH_TIMEOUT_MS') === 'default' ? 'default ' : ''}${pushTimeoutMs})`);
  }
  const drainMs = int('ERPC_SHUTDOWN_DRAIN_MS');
  const shutdownTimeoutMs = int('ERPC_SHUTDOWN_TIMEOUT_MS');
  if (drainMs >= shutdownTimeoutMs) {
    throw sources.get('ERPC_SHUTDOWN_TIMEOUT_MS') === 'default'
      ? invalid('ERPC_SHUTDOWN_DRAIN_MS', `must be shorter than ERPC_SHUTDOWN_TIMEOUT_MS (default ${shutdownTimeoutMs})`)
      : invalid('ERPC_SHUTDOWN_TIMEOUT_MS', `must be longer than ERPC_SHUTDOWN_DRAIN_MS (${drainMs})`);
  }
  const retry = {
    baseMs: int('ERPC_PUSH_RETRY_BASE_MS'),
    factor: int('ERPC_PUSH_RETRY_FACTOR'),
    capMs: int('ERPC_PUSH_RETRY_CAP_MS'),
    maxAttempts: int('ERPC_PUSH_RETRY_MAX_ATTEMPTS'),
    jitter: int('ERPC_PUSH_RETRY_JITTER'),
    horizonMs: int('ERPC_PUSH_RETRY_HORIZON_MS'),
  };
  if (retry.capMs < retry.baseMs) {
    // Blame the variable that was set: raising only the base above the default cap is the base's fault.
    throw sources.get('ERPC_PUSH_RETRY_CAP_MS') === 'default'
      ? invalid('ERPC_PUSH_RETRY_BASE_MS', `must not be more than ERPC_PUSH_RETRY_CAP_MS (default ${retry.capMs})`)
      : invalid('ERPC_PUSH_RETRY_CAP_MS', `must be at least ERPC_PUSH_RETRY_BASE_MS (${retry.baseMs})`);
  }
  try {
    // The policy's own rules stay the final word, should they ever be stricter than the schema.
    new RetryPolicy(retry);
  } catch (err) {
    throw invalid('ERPC_PUSH_RETRY_*', (err as Error).message);
  }

  const retryScheduleMs = (v.ERPC_WEBHOOK_RETRY_SCHEDULE_MS as string).split(',').map((d) => Number(d.trim()));
  const allowedNetworks = ((v.ERPC_WEBHOOKS_ALLOWED_NETWORKS as string | undefined) ?? '').split(',').map((n) => n.trim()).filter((n) => n !== '');
  const badNetwork = allowedNetworks.find((n) => !isCidr(n));
  if (badNetwork !== undefined) throw invalid('ERPC_WEBHOOKS_ALLOWED_NETWORKS', 'expected comma-separated CIDR ranges such as 10.0.0.0/8 or fd00::/8');

  const pluginDirs = v.ERPC_PLUGIN_DIRS as string | string[];
  const dirs = (typeof pluginDirs === 'string' ? pluginDirs.split(':') : pluginDirs).map((d) => d.trim()).filter((d) => d !== '');
  const cacheDir = v.ERPC_SCHEMA_CACHE_DIR as string;

  const grantsText = v.ERPC_PLUGIN_GRANTS as string | undefined;
  const config: HostConfig = deepFreeze({
    databaseUrl: v.DATABASE_URL as string | undefined,
    dataDir: path.resolve(cwd, v.ERPC_DATA_DIR as string),
    encryptionMasterKey: v.ENCRYPTION_MASTER_KEY as string | undefined,
    encryptionPreviousKeys: v.ENCRYPTION_PREVIOUS_KEYS as string | undefined,
    allowMissingKeys: v.ERPC_ALLOW_MISSING_KEYS as boolean,
    port: int('PORT'),
    host: v.HOST as string,
    logLevel: v.ERPC_LOG_LEVEL as LogLevel | undefined,
    pluginDirs: (dirs.length > 0 ? dirs : ['./plugins']).map((d) => path.resolve(cwd, d)),
    pluginImportTimeoutMs: int('ERPC_PLUGIN_IMPORT_TIMEOUT_MS'),
    schemaCacheDir: cacheDir === 'off' ? undefined : path.resolve(cwd, cacheDir),
    connectionTestTimeoutMs: int('ERPC_TEST_TIMEOUT_MS'),
    metricsToken: v.ERPC_METRICS_TOKEN as string | undefined,
    sandbox: {
      isolation: v.ERPC_PLUGIN_ISOLATION as 'process' | 'in-process',
      trusted: ((v.ERPC_PLUGIN_TRUSTED as string | undefined) ?? '').split(',').map((t) => t.trim()).filter((t) => t !== ''),
      grants: parseGrants(grantsText, cwd, invalid),
      grantsText,
      scope: v.ERPC_SANDBOX_SCOPE as 'plugin' | 'connection',
      maxProcesses: int('ERPC_SANDBOX_MAX_PROCESSES'),
      idleMs: int('ERPC_SANDBOX_IDLE_MS'),
      threadPoolSize: optionalInt('ERPC_SANDBOX_THREADPOOL_SIZE') ?? threadPoolSizeOf(env.UV_THREADPOOL_SIZE),
      memoryMb: int('ERPC_SANDBOX_MEMORY_MB'),
      jit: v.ERPC_SANDBOX_JIT as 'lite' | 'full',
      uid: v.ERPC_SANDBOX_UID as string | undefined,
      gid: v.ERPC_SANDBOX_GID as string | undefined,
      restartMaxMs: int('ERPC_SANDBOX_RESTART_MAX_MS'),
    },
    payloadMaxDepth: int('ERPC_PAYLOAD_MAX_DEPTH'),
    webhooks: {
      timeoutMs: int('ERPC_WEBHOOK_TIMEOUT_MS'),
      disableAfterMs: int('ERPC_WEBHOOK_DISABLE_AFTER'),
      retryScheduleMs,
      allowHttp: v.ERPC_WEBHOOKS_ALLOW_HTTP as 'off' | 'loopback',
      allowedNetworks,
      concurrency: int('ERPC_WEBHOOK_CONCURRENCY'),
      yieldMs: int('ERPC_WEBHOOK_YIELD_MS'),
    },
    shutdown: { drainMs, timeoutMs: shutdownTimeoutMs },
    workerHttp: { port: optionalInt('ERPC_WORKER_HTTP_PORT'), host: v.ERPC_WORKER_HTTP_HOST as string },
    worker: {
      concurrency: int('ERPC_WORKER_CONCURRENCY'),
      prefetch: optionalInt('ERPC_WORKER_PREFETCH'),
      pushTimeoutMs,
      leaseMs,
      pollIntervalMs: int('ERPC_PUSH_POLL_MS'),
      ackCheckIntervalMs: int('ERPC_PUSH_ACK_CHECK_MS'),
      ackTimeoutMs: int('ERPC_PUSH_ACK_TIMEOUT_MS'),
      shutdownGraceMs: int('ERPC_PUSH_SHUTDOWN_GRACE_MS'),
      heartbeatMs: int('ERPC_WORKER_HEARTBEAT_MS'),
      retry,
    },
  });
  sourcesByConfig.set(config, sources);
  return config;
}

const GRANTS_REASON =
  'expected JSON like {"DROPZONE_JSON_V1":{"fsWrite":["/srv/erp-drops/{orgId}"]},"ACME_V1":{"network":true}}: connector types, each with fsWrite (absolute folders) and/or network (true/false)';

/** ERPC_PLUGIN_GRANTS: connector type → { fsWrite?: absolute roots ({orgId} allowed), network?: boolean }. */
function parseGrants(text: string | undefined, cwd: string, invalid: (name: string, reason: string) => ErpcError): Record<string, PluginGrant> {
  if (text === undefined) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalid('ERPC_PLUGIN_GRANTS', GRANTS_REASON);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid('ERPC_PLUGIN_GRANTS', GRANTS_REASON);
  const out: Record<string, PluginGrant> = {};
  for (const [type, grant] of Object.entries(value as Record<string, unknown>)) {
    if (!/^[A-Z][A-Z0-9_]*$/.test(type) || typeof grant !== 'object' || grant === null || Array.isArray(grant)) throw invalid('ERPC_PLUGIN_GRANTS', GRANTS_REASON);
    const { fsWrite, network, ...rest } = grant as Record<string, unknown>;
    if (Object.keys(rest).length > 0) throw invalid('ERPC_PLUGIN_GRANTS', GRANTS_REASON);
    if (network !== undefined && typeof network !== 'boolean') throw invalid('ERPC_PLUGIN_GRANTS', GRANTS_REASON);
    if (fsWrite !== undefined && (!Array.isArray(fsWrite) || fsWrite.some((p) => typeof p !== 'string' || !path.isAbsolute(p) || p.includes('\0')))) {
      throw invalid('ERPC_PLUGIN_GRANTS', `${GRANTS_REASON} (fsWrite roots must be absolute paths)`);
    }
    out[type] = {
      ...(fsWrite !== undefined ? { fsWrite: (fsWrite as string[]).map((p) => path.resolve(cwd, p)) } : {}),
      ...(network !== undefined ? { network } : {}),
    };
  }
  return out;
}

/**
 * One raw value as the schema sees it, or undefined when unset. Empty (or blank) is unset.
 * Secrets are kept exactly as written (their own parsers decide); other values are trimmed,
 * enum and boolean ones compared in lower case.
 */
function rawValue(def: SettingDefinition, raw: string | readonly string[] | boolean | undefined): unknown {
  if (raw === undefined) return undefined;
  if (typeof raw === 'boolean') return def.type === 'boolean' ? raw : String(raw);
  if (typeof raw !== 'string') {
    const list = raw.map((d) => d.trim()).filter((d) => d !== '');
    if (def.type === 'path-list') return list.length > 0 ? list : undefined;
    return rawValue(def, list.at(-1));
  }
  if (raw.trim() === '') return undefined;
  if (def.secret) return raw;
  const value = raw.trim();
  if (def.type === 'enum') return value.toLowerCase();
  if (def.type === 'boolean') {
    const word = value.toLowerCase();
    if ((TRUE_WORDS as readonly string[]).includes(word)) return true;
    if ((FALSE_WORDS as readonly string[]).includes(word)) return false;
  }
  return value;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/** The host's UV_THREADPOOL_SIZE as libuv reads it (a positive number, at most 1024), or libuv's default. */
function threadPoolSizeOf(value: string | undefined): number {
  const n = value === undefined || !/^\s*\d+\s*$/.test(value) ? 0 : Number(value);
  return n >= 1 ? Math.min(n, MAX_THREADPOOL_SIZE) : DEFAULT_THREADPOOL_SIZE;
}
