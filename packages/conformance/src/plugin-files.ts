import { readFile, realpath } from 'node:fs/promises';
import path from 'node:path';
import { createRequire } from 'node:module';
import { manifestSchema, SDK_VERSION, type PluginManifest } from '@erpc/sdk';
import semver from 'semver';

const require = createRequire(import.meta.url);
// Ajv and ajv-formats are CommonJS; their default export sits on `.default` under some loaders.
const AjvModule = require('ajv/dist/2020') as { default?: unknown };
const addFormatsModule = require('ajv-formats') as { default?: unknown };

/** A minimal view of Ajv's API, enough for the kit. */
export interface AjvLike {
  compile(schema: object): ValidateFn;
  errorsText(errors?: unknown): string;
}
/** An Ajv validate function. */
export interface ValidateFn {
  (data: unknown): boolean;
  errors?: unknown[] | null;
}

/** Ajv for draft 2020-12 in strict mode with formats: what the host uses for config schemas. */
export function createAjv(): AjvLike {
  const Ajv = (AjvModule.default ?? AjvModule) as new (opts: object) => AjvLike;
  const addFormats = (addFormatsModule.default ?? addFormatsModule) as (ajv: AjvLike) => void;
  const ajv = new Ajv({ strict: true, allErrors: true, useDefaults: false });
  addFormats(ajv);
  return ajv;
}

/** What reading a plugin folder found, step by step; a step that failed leaves the later ones undefined. */
export interface PluginFiles {
  dir: string;
  label: string;
  packageJson?: Record<string, unknown>;
  packageJsonError?: string;
  manifest?: PluginManifest;
  manifestError?: string;
  entryPath?: string;
  configSchemaPath?: string;
  pathError?: string;
  configSchema?: Record<string, unknown>;
  configSchemaError?: string;
}

async function insideDir(realDir: string, dir: string, rel: string, field: string): Promise<string> {
  if (path.isAbsolute(rel)) throw new Error(`"${field}" must be a relative path, got an absolute one`);
  const joined = path.resolve(dir, rel);
  let real: string;
  try {
    real = await realpath(joined);
  } catch {
    throw new Error(`"${field}" names ${rel}, which does not exist in the plugin folder${field === 'entry' ? ' (build the plugin first?)' : ''}`);
  }
  const relative = path.relative(realDir, real);
  if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) {
    throw new Error(`"${field}" (${rel}) resolves outside the plugin folder`);
  }
  return real;
}

/** Reads and validates a plugin's package.json, manifest, paths and config schema, without importing code. */
export async function readPluginFiles(pluginDir: string): Promise<PluginFiles> {
  const dir = path.resolve(pluginDir);
  const files: PluginFiles = { dir, label: dir };
  let realDir: string;
  try {
    realDir = await realpath(dir);
    const text = await readFile(path.join(realDir, 'package.json'), 'utf8');
    const pkg = JSON.parse(text) as unknown;
    if (typeof pkg !== 'object' || pkg === null || Array.isArray(pkg)) throw new Error('package.json is not a JSON object');
    files.packageJson = pkg as Record<string, unknown>;
  } catch (err) {
    files.packageJsonError = `cannot read package.json in ${dir}: ${(err as Error).message}`;
    return files;
  }
  const { name, version } = files.packageJson;
  if (typeof name === 'string' && typeof version === 'string') files.label = `${name}@${version}`;

  const ajv = createAjv();
  const validateManifest = ajv.compile(manifestSchema as object);
  const erpc = files.packageJson.erpc;
  if (erpc === undefined) {
    files.manifestError = 'package.json has no "erpc" field (the plugin manifest)';
    return files;
  }
  if (!validateManifest(erpc)) {
    files.manifestError = `the "erpc" manifest is invalid: ${ajv.errorsText(validateManifest.errors)}`;
    return files;
  }
  files.manifest = erpc as PluginManifest;

  try {
    files.entryPath = await insideDir(realDir, dir, files.manifest.entry, 'entry');
    files.configSchemaPath = await insideDir(realDir, dir, files.manifest.configSchema, 'configSchema');
  } catch (err) {
    files.pathError = (err as Error).message;
    delete files.entryPath;
    delete files.configSchemaPath;
    return files;
  }

  try {
    const schema = JSON.parse(await readFile(files.configSchemaPath, 'utf8')) as unknown;
    if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) throw new Error('the schema is not a JSON object');
    files.configSchema = schema as Record<string, unknown>;
  } catch (err) {
    files.configSchemaError = `the config schema ${files.manifest.configSchema} is not valid JSON: ${(err as Error).message}`;
  }
  return files;
}

/** Why the manifest's `sdk` range is not satisfied by this kit's SDK, or undefined when it is. */
export function sdkRangeProblem(range: string): string | undefined {
  if (semver.validRange(range) === null) return `"sdk" is not a valid semver range: ${range}`;
  if (!semver.satisfies(SDK_VERSION, range)) return `"sdk" range ${range} does not include @erpc/sdk ${SDK_VERSION}`;
  return undefined;
}
