import { lstatSync, readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ErrorObject, ValidateFunction } from 'ajv';
import semver from 'semver';
import {
  CONNECTOR_API_VERSION,
  CONNECTOR_DEFINITION_TAG,
  SDK_VERSION,
  isConnectorPort,
  type ConnectorDefinition,
  type HostServices,
  type PluginManifest,
} from '@erpc/sdk';
import { ErpcError, type ErrorCode } from '../errors/index.js';
import type { Logger } from '../logging/logger.js';
import { manifestErrors } from './ajv.js';
import { openSchemaCache, type SchemaCache } from './schema-cache.js';
import type { ConnectorRegistry } from './connector-registry.js';
import { discoverPlugins, type PluginCandidate } from './discover.js';
import type { FailedPlugin, LoadedPlugin, PluginLoadReport } from './types.js';
import { prepareEntryCheck, type CheckOutcome } from './sandbox/import-check.js';
import type { SandboxIdentity } from './sandbox/permissions.js';

export interface LoadPluginsOptions {
  /** Plugin folders, in priority order. */
  readonly dirs: readonly string[];
  /** Bound on one entry import (ms). */
  readonly importTimeoutMs: number;
  /** Handed to every definition's create(deps). */
  readonly hostServices: HostServices;
  /** Where loaded plugins are registered and failures recorded. */
  readonly registry: ConnectorRegistry;
  readonly logger?: Logger;
  /** Where compiled config schemas are cached between start-ups; undefined: no cache. */
  readonly schemaCacheDir?: string;
  /**
   * Plugins whose code must not run in the host (ERPC_PLUGIN_ISOLATION=process, not trusted):
   * their entries are imported and checked in sandbox processes (docs/security.md), and they are
   * registered without a port. Without it every plugin is imported in the host.
   */
  readonly sandbox?: {
    readonly isolated: (connectorType: string) => boolean;
    readonly memoryMb: number;
    readonly identity: SandboxIdentity | undefined;
  };
}

/** A plugin whose manifest, paths, SDK range and config schema passed: ready to import. */
interface CheckedPlugin {
  dir: string;
  name: string;
  version: string;
  manifest: PluginManifest;
  entryPath: string;
  configSchema: Record<string, unknown>;
  validateConfig: ValidateFunction;
}

type Step<T> = { ok: true; value: T } | { ok: false; failure: FailedPlugin };

const MAX_REASON = 500;

// A .cjs helper, loaded by Node's require: its import() is never rewritten by a test runner.
const require = createRequire(import.meta.url);
const nativeImport = require('./native-import.cjs') as (url: string) => Promise<Record<string, unknown>>;

/**
 * Discovers, validates, imports and registers every plugin of `dirs`. Never throws for a broken
 * plugin: each failure is recorded with its ERPC_ERR_* code and the others still load.
 *
 * Phases: (1) read and validate every manifest, paths, SDK range and config schema, before any
 * plugin code runs; (2) import the entries in parallel, each bounded by importTimeoutMs;
 * (3) in discovery order, check the definition, call create(deps) and register, so that the
 * first plugin of a duplicated type is the one that stays.
 */
export async function loadPlugins(options: LoadPluginsOptions): Promise<PluginLoadReport> {
  const { registry, logger } = options;
  const { candidates, unreadable } = discoverPlugins(options.dirs);
  const failures: FailedPlugin[] = unreadable.map(({ dir, error }) => failureOf({ dir }, error));

  // The check sandboxes boot on the other core while this one validates the manifests: started
  // first, as soon as the plugin folders are known.
  const sandboxCheck =
    options.sandbox === undefined || candidates.length === 0
      ? undefined
      : prepareEntryCheck(
          candidates.map((c) => c.dir),
          { timeoutMs: options.importTimeoutMs, memoryMb: options.sandbox.memoryMb, identity: options.sandbox.identity, logger: (logger ?? silentLogger()).child({ component: 'plugins' }) },
        );
  const schemas = openSchemaCache(options.schemaCacheDir);
  const realFolders = new Map<string, string>();
  const checked = candidates.map((c) => checkPlugin(c, schemas, realFolders));
  // Every import starts now, in this tick, so one timer bounds each of them by importTimeoutMs
  // (200 plugins: one timer, not 200). Unref'd: it never keeps the process alive.
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), options.importTimeoutMs);
    timer.unref();
  });
  const isolated = options.sandbox?.isolated;
  const inSandbox = (step: Step<CheckedPlugin> | null): boolean =>
    step !== null && step.ok && isolated !== undefined && isolated(step.value.manifest.connectorType);
  const sandboxed = new Map<CheckedPlugin, CheckOutcome>();
  const [imported] = await Promise.all([
    Promise.all(
      checked.map((step) => (step === null || !step.ok || inSandbox(step) ? step : importEntry(step.value, deadline, options.importTimeoutMs))) as Promise<
        Step<{ plugin: CheckedPlugin; module: Record<string, unknown> }> | Step<CheckedPlugin> | null
      >[],
    ).finally(() => clearTimeout(timer)),
    (async () => {
      const toCheck = checked.filter(inSandbox).map((s) => (s as { ok: true; value: CheckedPlugin }).value);
      if (sandboxCheck === undefined) return;
      const outcomes = await sandboxCheck.run(toCheck.map((p, key) => ({ key, connectorType: p.manifest.connectorType, entryPath: p.entryPath, root: p.dir })));
      toCheck.forEach((p, key) => sandboxed.set(p, outcomes.get(key) ?? { ok: false, code: 'ERPC_ERR_PLUGIN_IMPORT_CRASHED', reason: 'no answer' }));
    })(),
  ]);

  const loaded: LoadedPlugin[] = [];
  for (const step of imported) {
    if (step === null) continue; // a package without an `erpc` field: not a plugin
    if (!step.ok) {
      failures.push(step.failure);
      continue;
    }
    if ('manifest' in step.value) {
      // Checked in a sandbox (the host never imports it): register it without a port.
      const result = registerSandboxed(step.value, sandboxed.get(step.value), registry);
      if (result.ok) loaded.push(result.value);
      else failures.push(result.failure);
      continue;
    }
    const result = instantiate(step.value.plugin, step.value.module, options.hostServices, registry);
    if (result.ok) loaded.push(result.value);
    else failures.push(result.failure);
  }

  await schemas.flush();
  for (const f of failures) {
    registry.recordFailure(f);
    logger?.warn({ plugin: { dir: f.dir, name: f.name, connectorType: f.connectorType }, code: f.error.code }, f.error.message);
  }
  for (const p of loaded) logger?.debug({ plugin: { dir: p.dir, name: p.name, connectorType: p.connectorType } }, 'plugin loaded');
  return { loaded, failed: failures };
}

/**
 * Phase 1: everything that can be checked without running plugin code. Synchronous on purpose
 * (small reads, as Node's own module loader does): four thread-pool round trips per file through
 * fs/promises cost more than the reads themselves and compete with the parallel imports.
 */
function checkPlugin(candidate: PluginCandidate, schemas: SchemaCache, realFolders: Map<string, string>): Step<CheckedPlugin> | null {
  const { dir } = candidate;
  let pkg: unknown;
  let text: string;
  try {
    text = readFileSync(candidate.packageJsonPath, 'utf8');
  } catch (cause) {
    const code = (cause as { code?: unknown }).code;
    if (code === 'ENOENT' || code === 'EISDIR') return null; // a directory without package.json: no package
    return fail({ dir }, 'ERPC_ERR_PLUGIN_PACKAGE_JSON_INVALID', { dir, reason: reasonOf(cause) }, cause);
  }
  try {
    pkg = JSON.parse(text);
  } catch (cause) {
    return fail({ dir }, 'ERPC_ERR_PLUGIN_PACKAGE_JSON_INVALID', { dir, reason: reasonOf(cause) }, cause);
  }
  if (typeof pkg !== 'object' || pkg === null || Array.isArray(pkg)) {
    return fail({ dir }, 'ERPC_ERR_PLUGIN_PACKAGE_JSON_INVALID', { dir, reason: 'the top level is not a JSON object' });
  }
  const record = pkg as Record<string, unknown>;
  if (!('erpc' in record)) return null;

  const name = typeof record.name === 'string' ? record.name : path.basename(dir);
  const version = typeof record.version === 'string' ? record.version : '0.0.0';
  const rawType = (record.erpc as { connectorType?: unknown } | null)?.connectorType;
  const who = { dir, name, version, ...(typeof rawType === 'string' ? { connectorType: rawType } : {}) };

  const invalid = manifestErrors(record.erpc);
  if (invalid !== null) return fail(who, 'ERPC_ERR_MANIFEST_INVALID', { dir, reason: manifestReason(invalid) });
  const manifest = record.erpc as PluginManifest;
  const memoized = schemas.memo(SDK_CHECK_VERSION, manifest.sdk, checkSdkRange);
  // A memo file is data from disk: anything but a known outcome is decided by semver again.
  const sdkCheck: SdkCheck = memoized === 'ok' || memoized === 'invalid' || memoized === 'unsatisfied' ? memoized : checkSdkRange(manifest.sdk);
  if (sdkCheck === 'invalid') {
    return fail(who, 'ERPC_ERR_MANIFEST_INVALID', { dir, reason: `/sdk "${manifest.sdk}" is not a semver range` });
  }

  let root: string;
  try {
    const realBase = realFolder(realFolders, candidate.folder);
    root = candidate.plainDirs ? path.join(realBase, candidate.relative) : realpathBelow(realBase, candidate.relative.split('/'));
  } catch (cause) {
    return fail(who, 'ERPC_ERR_PLUGIN_DIR_UNREADABLE', { dir, reason: reasonOf(cause) }, cause);
  }
  const entry = resolveInside(root, manifest.entry);
  if (entry === 'escape') return fail(who, 'ERPC_ERR_PLUGIN_PATH_ESCAPE', { dir, field: 'entry' });
  const schemaPath = resolveInside(root, manifest.configSchema);
  if (schemaPath === 'escape') return fail(who, 'ERPC_ERR_PLUGIN_PATH_ESCAPE', { dir, field: 'configSchema' });

  if (sdkCheck === 'unsatisfied') {
    return fail(who, 'ERPC_ERR_PLUGIN_SDK_MISMATCH', { dir, range: manifest.sdk, version: SDK_VERSION });
  }

  if (schemaPath === 'missing') return fail(who, 'ERPC_ERR_CONFIG_SCHEMA_MISSING', { dir, path: manifest.configSchema });
  let configSchema: unknown;
  let schemaText: string;
  try {
    schemaText = readFileSync(schemaPath, 'utf8');
    configSchema = JSON.parse(schemaText);
  } catch (cause) {
    return fail(who, 'ERPC_ERR_CONFIG_SCHEMA_NOT_JSON', { dir, path: manifest.configSchema, reason: reasonOf(cause) }, cause);
  }
  if (typeof configSchema !== 'object' || configSchema === null || Array.isArray(configSchema)) {
    return fail(who, 'ERPC_ERR_CONFIG_SCHEMA_INVALID', { dir, reason: 'the schema must be a JSON object' });
  }
  let validateConfig: ValidateFunction;
  try {
    validateConfig = schemas.compile(configSchema as Record<string, unknown>, schemaText);
  } catch (cause) {
    return fail(who, 'ERPC_ERR_CONFIG_SCHEMA_INVALID', { dir, reason: reasonOf(cause) }, cause);
  }

  if (entry === 'missing') return fail(who, 'ERPC_ERR_PLUGIN_ENTRY_MISSING', { dir, path: manifest.entry });
  return {
    ok: true,
    value: { dir, name, version, manifest, entryPath: entry, configSchema: configSchema as Record<string, unknown>, validateConfig },
  };
}

// realpath(3) in one system call; fs.realpathSync walks the path in JavaScript, an lstat per component.
const realpath = realpathSync.native;

/**
 * The real path of `parts` (plain path segments) below `realBase`, a directory already known to be
 * real. realpath(3) lstats every component of an absolute path, and all plugins share the long
 * prefix of their folder: this lstats only the components below `realBase` (usually one or two),
 * and falls back to realpath(3) at the first symlink. Throws like realpath for a path that does
 * not exist.
 */
function realpathBelow(realBase: string, parts: readonly string[]): string {
  let current = realBase;
  for (const part of parts) {
    current = `${current}${path.sep}${part}`;
    if (lstatSync(current).isSymbolicLink()) return realpath(path.join(realBase, ...parts));
  }
  return current;
}

/** The segments of a `/`-separated relative path made only of plain names ("./a/b.js" → [a, b.js]); undefined otherwise. */
function plainSegments(relative: string): string[] | undefined {
  const parts = relative.split('/');
  if (parts[0] === '.') parts.shift();
  if (parts.length === 0) return undefined;
  for (const part of parts) if (part === '' || part === '.' || part === '..') return undefined;
  return parts;
}

type SdkCheck = 'ok' | 'invalid' | 'unsatisfied';
// What the SDK range check depends on besides the range: the SDK's version and semver's. Its
// outcome is memoized in the start-up cache: the first semver parse of a process (regular
// expressions compiled on first use) costs as much as all other checks of ten plugins.
const SDK_CHECK_VERSION = `sdk-range;sdk@${SDK_VERSION};semver@${(require('semver/package.json') as { version: string }).version};includePrerelease`;

function checkSdkRange(range: string): SdkCheck {
  let parsed: semver.Range | undefined;
  try {
    parsed = new semver.Range(range, { includePrerelease: true });
  } catch {
    return 'invalid'; // not a semver range
  }
  return parsed.test(SDK_VERSION) ? 'ok' : 'unsatisfied';
}

/** The real path of a plugin folder, resolved once per folder and load. */
function realFolder(realFolders: Map<string, string>, folder: string): string {
  let real = realFolders.get(folder);
  if (real === undefined) {
    real = realpath(folder);
    realFolders.set(folder, real);
  }
  return real;
}

/** Resolves `relative` against the plugin root; symlinks are followed, and must stay inside too. */
function resolveInside(root: string, relative: string): string | 'escape' | 'missing' {
  const plain = path.sep === '/' ? plainSegments(relative) : undefined;
  if (plain !== undefined) {
    // Inside by construction; realpathBelow returns the lexical path unless it meets a symlink.
    let real: string;
    try {
      real = realpathBelow(root, plain);
    } catch {
      return 'missing';
    }
    // Both are normalized absolute paths: inside means below root's own path.
    return real.startsWith(`${root}/`) ? real : 'escape';
  }
  const lexical = path.resolve(root, relative);
  if (!isInside(root, lexical)) return 'escape';
  let real: string;
  try {
    real = realpathBelow(root, path.relative(root, lexical).split(path.sep));
  } catch {
    return 'missing';
  }
  return isInside(root, real) ? real : 'escape';
}

function isInside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}

/** Phase 2: import the entry, bounded in time by `deadline` (which resolves after timeoutMs). */
async function importEntry(
  plugin: CheckedPlugin,
  deadline: Promise<'timeout'>,
  timeoutMs: number,
): Promise<Step<{ plugin: CheckedPlugin; module: Record<string, unknown> }>> {
  const who = whoOf(plugin);
  try {
    const result = await Promise.race([nativeImport(fileUrlOf(plugin.entryPath)), deadline]);
    if (result === 'timeout') return fail(who, 'ERPC_ERR_PLUGIN_IMPORT_TIMEOUT', { dir: plugin.dir, timeoutMs });
    return { ok: true, value: { plugin, module: result } };
  } catch (cause) {
    // By name, not instanceof: the error may come from another realm (test runners, vm contexts).
    if ((cause as { name?: unknown } | null)?.name === 'SyntaxError') {
      return fail(who, 'ERPC_ERR_PLUGIN_SYNTAX_ERROR', { dir: plugin.dir, reason: reasonOf(cause) }, cause);
    }
    return fail(who, 'ERPC_ERR_PLUGIN_IMPORT_FAILED', { dir: plugin.dir, reason: reasonOf(cause) }, cause);
  }
}

// A path made only of these characters, in segments that are neither `.`, `..` nor hidden, is
// already its file URL's path (none of them is percent-encoded by pathToFileURL, `~` is; compared
// with it on random paths): a concatenation, where pathToFileURL builds a URL per plugin (ADR 0040).
const URL_PLAIN_PATH = /^(?:\/[A-Za-z0-9_\-@+,=][A-Za-z0-9._\-@+,=]*)+$/;

/** The file URL of an absolute path, as pathToFileURL(p).href gives it. */
function fileUrlOf(p: string): string {
  return path.sep === '/' && URL_PLAIN_PATH.test(p) ? `file://${p}` : pathToFileURL(p).href;
}

/** Phase 3: recognise the definition, create the port once, register it. */
function instantiate(
  plugin: CheckedPlugin,
  module: Record<string, unknown>,
  hostServices: HostServices,
  registry: ConnectorRegistry,
): Step<LoadedPlugin> {
  const who = whoOf(plugin);
  const { dir } = plugin;
  if (!('default' in module) || module.default === undefined) return fail(who, 'ERPC_ERR_PLUGIN_NO_DEFAULT_EXPORT', { dir });
  const def = module.default as Partial<ConnectorDefinition<unknown>> | null;
  // Recognised by tag, never instanceof: the plugin may bundle its own SDK copy, or none.
  if (typeof def !== 'object' || def === null || def.$$type !== CONNECTOR_DEFINITION_TAG || typeof def.create !== 'function') {
    return fail(who, 'ERPC_ERR_PLUGIN_NOT_A_DEFINITION', { dir });
  }
  if (def.apiVersion !== CONNECTOR_API_VERSION) {
    return fail(who, 'ERPC_ERR_PLUGIN_API_VERSION_UNSUPPORTED', { dir, apiVersion: String(def.apiVersion), supported: String(CONNECTOR_API_VERSION) });
  }
  if (def.connectorType !== plugin.manifest.connectorType) {
    return fail(who, 'ERPC_ERR_PLUGIN_TYPE_MISMATCH', {
      dir,
      manifestType: plugin.manifest.connectorType,
      definitionType: String(def.connectorType),
    });
  }
  if (registry.has(plugin.manifest.connectorType)) {
    // Checked before create(): a duplicate's code never runs beyond its import.
    return fail(who, 'ERPC_ERR_PLUGIN_DUPLICATE_TYPE', {
      dir,
      type: plugin.manifest.connectorType,
      firstDir: registry.plugin(plugin.manifest.connectorType).dir,
    });
  }
  let port: unknown;
  try {
    port = def.create(hostServices);
  } catch (cause) {
    return fail(who, 'ERPC_ERR_PLUGIN_CREATE_FAILED', { dir, reason: reasonOf(cause) }, cause);
  }
  if (typeof (port as { then?: unknown } | null)?.then === 'function') {
    return fail(who, 'ERPC_ERR_PLUGIN_PORT_INVALID', { dir, missing: 'push and testConnection (it returned a Promise; create must return the port itself)' });
  }
  if (!isConnectorPort(port)) {
    const missing = ['push', 'testConnection'].filter((m) => typeof (port as Record<string, unknown> | null)?.[m] !== 'function');
    return fail(who, 'ERPC_ERR_PLUGIN_PORT_INVALID', { dir, missing: missing.join(' and ') });
  }
  return register(plugin, { port }, registry);
}

/** The record of a plugin whose checks passed, registered; a duplicate type is its failure. */
function register(plugin: CheckedPlugin, where: Pick<LoadedPlugin, 'port' | 'isolation' | 'entryPath' | 'operations'>, registry: ConnectorRegistry): Step<LoadedPlugin> {
  const loaded: LoadedPlugin = Object.freeze({
    dir: plugin.dir,
    name: plugin.name,
    version: plugin.version,
    manifest: Object.freeze({ ...plugin.manifest }),
    connectorType: plugin.manifest.connectorType,
    displayName: plugin.manifest.displayName ?? plugin.name,
    documentTypes: plugin.manifest.documentTypes === undefined ? undefined : Object.freeze([...plugin.manifest.documentTypes]),
    configSchema: plugin.configSchema,
    validateConfig: plugin.validateConfig,
    ...where,
  });
  try {
    registry.register(loaded);
  } catch (cause) {
    if (cause instanceof ErpcError) return { ok: false, failure: failureOf(whoOf(plugin), cause) };
    throw cause;
  }
  return { ok: true, value: loaded };
}

/** Phase 3 for a plugin checked in a sandbox: its outcome there, then the same registration. */
function registerSandboxed(plugin: CheckedPlugin, outcome: CheckOutcome | undefined, registry: ConnectorRegistry): Step<LoadedPlugin> {
  const who = whoOf(plugin);
  const { dir } = plugin;
  if (outcome === undefined) return fail(who, 'ERPC_ERR_PLUGIN_IMPORT_CRASHED', { dir, reason: 'the plugin was not checked' });
  if (!outcome.ok) {
    const r = outcome.reason;
    switch (outcome.code) {
      case 'ERPC_ERR_PLUGIN_IMPORT_TIMEOUT':
        return fail(who, outcome.code, { dir, timeoutMs: r });
      case 'ERPC_ERR_PLUGIN_API_VERSION_UNSUPPORTED':
        return fail(who, outcome.code, { dir, apiVersion: r, supported: String(CONNECTOR_API_VERSION) });
      case 'ERPC_ERR_PLUGIN_TYPE_MISMATCH':
        return fail(who, outcome.code, { dir, manifestType: plugin.manifest.connectorType, definitionType: r });
      case 'ERPC_ERR_PLUGIN_PORT_INVALID':
        return fail(who, outcome.code, { dir, missing: r });
      case 'ERPC_ERR_PLUGIN_NO_DEFAULT_EXPORT':
      case 'ERPC_ERR_PLUGIN_NOT_A_DEFINITION':
        return fail(who, outcome.code, { dir });
      case 'ERPC_ERR_PLUGIN_SYNTAX_ERROR':
      case 'ERPC_ERR_PLUGIN_IMPORT_FAILED':
      case 'ERPC_ERR_PLUGIN_CREATE_FAILED':
      case 'ERPC_ERR_PLUGIN_IMPORT_CRASHED':
        return fail(who, outcome.code, { dir, reason: oneLine(r) });
      default:
        return fail(who, 'ERPC_ERR_PLUGIN_IMPORT_FAILED', { dir, reason: oneLine(`${outcome.code}: ${r}`) });
    }
  }
  return register(plugin, { isolation: 'process', entryPath: plugin.entryPath, operations: Object.freeze({ ...outcome.ops }) }, registry);
}

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > MAX_REASON ? `${line.slice(0, MAX_REASON)}…` : line;
}

function silentLogger(): Logger {
  const noop = () => undefined;
  const l = { debug: noop, info: noop, warn: noop, error: noop, fatal: noop, trace: noop, child: () => l } as unknown as Logger;
  return l;
}

function whoOf(p: CheckedPlugin): Omit<FailedPlugin, 'error'> {
  return { dir: p.dir, name: p.name, version: p.version, connectorType: p.manifest.connectorType };
}

function fail(who: Omit<FailedPlugin, 'error'>, code: ErrorCode, params: Record<string, unknown>, cause?: unknown): { ok: false; failure: FailedPlugin } {
  return { ok: false, failure: failureOf(who, new ErpcError(code, params, cause === undefined ? {} : { cause })) };
}

function failureOf(who: Omit<FailedPlugin, 'error'>, error: ErpcError): FailedPlugin {
  return { ...who, error: { code: error.code, message: error.message } };
}

function reasonOf(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > MAX_REASON ? `${oneLine.slice(0, MAX_REASON)}…` : oneLine;
}

function manifestReason(errors: readonly ErrorObject[]): string {
  if (errors.length === 0) return 'it does not match the manifest schema';
  return errors
    .map((e) => {
      const at = e.instancePath === '' ? 'manifest' : e.instancePath;
      if (e.keyword === 'additionalProperties') return `${at} has unknown field "${String(e.params.additionalProperty)}"`;
      if (e.keyword === 'required') return `${at} is missing "${String(e.params.missingProperty)}"`;
      if (e.keyword === 'const') return `${at} must be ${JSON.stringify(e.params.allowedValue)}`;
      return `${at} ${e.message ?? 'is invalid'}`;
    })
    .join('; ');
}
