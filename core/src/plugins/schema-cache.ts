import { createHash, hash } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import vm from 'node:vm';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { ValidateFunction } from 'ajv';
import { configSchemaAjv, standaloneCode } from './ajv.js';

const require = createRequire(import.meta.url);
const AJV_VERSION = (require('ajv/package.json') as { version: string }).version;
// Bump when the Ajv options of configSchemaAjv() change: the key must identify the compiled code.
const COMPILE_PROFILE = 'draft2020-12;strict;allErrors;ajv-formats-full;v1';
// One bundle per Ajv version and profile: a new Ajv never reads an older one's code.
// <base>.js is the bundle's source (what a start-up reads and runs), <base>.json its entries (read
// only when new schemas are added), <base>.js.v8 V8's code cache of the source.
const BUNDLE_BASE = `config-schemas-${createHash('sha256').update(`${AJV_VERSION}\n${COMPILE_PROFILE}`).digest('hex').slice(0, 16)}`;
// Beyond this many entries, a rewrite keeps only the schemas of the current load (no unbounded growth).
const MAX_ENTRIES = 2000;
const KEY = /^[0-9a-f]{64}$/;

/** Compiles plugins' config schemas, serving the ones compiled by an earlier start-up from the cache. */
export interface SchemaCache {
  /** The validator of `schema` (whose exact text is `schemaText`); throws Ajv's error for a rejected schema. */
  compile(schema: Record<string, unknown>, schemaText: string): ValidateFunction;
  /**
   * The outcome of a check that depends only on `input` and on `version` (which names everything
   * else it depends on), as `compute` gave it on this or an earlier start-up. Used for the SDK
   * range check, whose first semver parse costs more than all of a plugin's other checks.
   */
  memo(version: string, input: string, compute: (input: string) => string): string;
  /** Writes the newly compiled validators, if any; never throws (a lost write costs a compile later). */
  flush(): Promise<void>;
}

interface Bundle {
  /** Factories evaluated from the whole bundle at once; undefined when it is missing or damaged. */
  factories: Record<string, () => unknown> | undefined;
  /** V8's code cache of the bundle (its source hash in front), when the one on disk is missing or stale. */
  newCodeCache: (() => Buffer) | undefined;
}

/**
 * Opens the compiled-schema cache of `cacheDir` (undefined: no cache, every schema compiled).
 * Compiling with Ajv (strict, draft 2020-12, allErrors, formats) is by far the largest per-plugin
 * cost of a start-up, so the generated validator code (Ajv's standalone code, exactly what
 * `ajv.compile` builds) is kept, keyed by a hash of the exact schema text, the Ajv version and the
 * compile options. All entries live in ONE script, evaluated as a whole: per-schema files cost a
 * read and a function compile each, more than the validation work. Beside it, V8's code cache of
 * that script (bytecode of the same source, checked by V8 and by a hash of the source) spares
 * parsing and compiling it again, and a list of its keys lets a start-up know which schemas
 * compiled before without reading the script: a cached schema's validator is built from the
 * script on its first call (start-ups validate no config), and from Ajv again if the script turns
 * out damaged, which also removes the cache so that the next start-up rebuilds it. Only schemas
 * that compiled are cached, so a rejected schema is rejected again on every load. The cache
 * directory must be as trusted as the plugin folders: its content is code the host runs.
 */
export function openSchemaCache(cacheDir: string | undefined): SchemaCache {
  const base = cacheDir === undefined ? undefined : path.join(cacheDir, BUNDLE_BASE);
  const keys = base === undefined ? new Set<string>() : readKeys(`${base}.keys.json`);
  let bundle: Bundle | undefined;
  const added = new Map<string, string>();
  const used = new Set<string>();
  const memoFile = cacheDir === undefined ? undefined : path.join(cacheDir, 'checks.json');
  let memos: Record<string, string> | undefined;
  let memosChanged = false;

  const compileWithAjv = (schema: Record<string, unknown>, key: string, keep: boolean): ValidateFunction => {
    const ajv = configSchemaAjv();
    const validate = ajv.compile(schema);
    // The compiled function is self-contained. Dropping the schema from Ajv's cache lets two
    // plugins (or two loads) use the same $id without a "schema already exists" clash.
    ajv.removeSchema(schema);
    if (keep && base !== undefined) {
      try {
        added.set(key, standaloneCode(ajv, validate));
        used.add(key);
      } catch {
        // Code that cannot be generated is not cached; the compiled validator still serves.
      }
    }
    return validate;
  };
  // The cached validator of `key`, built from the bundle on first use.
  const fromBundle = (schema: Record<string, unknown>, key: string): ValidateFunction => {
    if (base !== undefined) {
      if (bundle === undefined) {
        bundle = readBundle(`${base}.js`);
        const codeCache = bundle.newCodeCache;
        // For the next process: written once, in the background, after the first build.
        if (codeCache !== undefined) setImmediate(() => void writeAtomic(`${base}.js.v8`, codeCache()).catch(() => undefined)).unref();
      }
      const cached = evaluateEntry(bundle, key);
      if (cached !== undefined) return cached;
      // Listed but not served: the bundle is damaged. Remove it; the next start-up rebuilds it.
      for (const f of [`${base}.keys.json`, `${base}.js`, `${base}.js.v8`]) rmSync(f, { force: true });
    }
    return compileWithAjv(schema, key, false);
  };

  return {
    memo(version, input, compute) {
      memos ??= readMemos(memoFile);
      const key = `${version}\n${input}`;
      let outcome = Object.hasOwn(memos, key) ? memos[key] : undefined;
      if (outcome === undefined) {
        outcome = compute(input);
        memos[key] = outcome;
        memosChanged = true;
      }
      return outcome;
    },
    compile(schema, schemaText) {
      const key = schemaKey(schemaText);
      if (keys.has(key)) {
        used.add(key);
        return lazyValidator(() => fromBundle(schema, key));
      }
      return compileWithAjv(schema, key, true);
    },
    async flush() {
      if (base === undefined || cacheDir === undefined) return;
      if (memosChanged && memos !== undefined && memoFile !== undefined) {
        // Kept small: past the bound the file starts afresh (the checks simply run again).
        const all = Object.keys(memos).length <= MAX_ENTRIES ? memos : {};
        try {
          await mkdir(cacheDir, { recursive: true });
          await writeAtomic(memoFile, JSON.stringify({ checks: all }));
        } catch {
          // lost: the checks run again next time
        }
      }
      try {
        if (added.size === 0) return; // unchanged bundle (its code cache is written on first use)
        const previous = keys.size === 0 ? {} : await readEntries(`${base}.json`);
        const all: Record<string, string> = { ...previous, ...Object.fromEntries(added) };
        const entries = Object.keys(all).length <= MAX_ENTRIES ? all : Object.fromEntries([...used].flatMap((k) => (all[k] === undefined ? [] : [[k, all[k]]])));
        await mkdir(cacheDir, { recursive: true });
        // The key list goes first and last: a reader that finds it trusts the bundle beside it
        // (and falls back to Ajv for a key the bundle lacks). The code cache goes too, so that it
        // never sits beside a source it was not made from (the hash would reject it anyway).
        await rm(`${base}.keys.json`, { force: true });
        await rm(`${base}.js.v8`, { force: true });
        await writeAtomic(`${base}.json`, JSON.stringify({ entries }));
        await writeAtomic(`${base}.js`, bundleSource(entries));
        await writeAtomic(`${base}.keys.json`, JSON.stringify(Object.keys(entries)));
        added.clear();
      } catch {
        // A cache that cannot be written only costs the next start-up the compiles.
      }
    },
  };
}

/**
 * A validator that builds the real one on its first call. Callers use it as Ajv's: call it, then
 * read `.errors`.
 */
function lazyValidator(build: () => ValidateFunction): ValidateFunction {
  let real: ValidateFunction | undefined;
  const validate = function (this: unknown, data: unknown, ctx?: unknown): boolean {
    real ??= build();
    const valid = (real as (this: unknown, d: unknown, c?: unknown) => boolean).call(this, data, ctx);
    validate.errors = real.errors ?? null;
    return valid;
  } as ValidateFunction;
  validate.errors = null;
  return validate;
}

function readKeys(file: string): Set<string> {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    return Array.isArray(parsed) ? new Set(parsed.filter((k): k is string => typeof k === 'string' && KEY.test(k))) : new Set();
  } catch {
    return new Set(); // no cache yet, or damaged: everything is compiled and the cache rewritten
  }
}

/** The cache key of a schema: SHA-256 of its exact text. */
function schemaKey(schemaText: string): string {
  return hash('sha256', schemaText, 'hex');
}

async function writeAtomic(file: string, data: string | Buffer): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, file); // atomic: a concurrent reader sees the whole file or none
}

function readMemos(file: string | undefined): Record<string, string> {
  const memos: Record<string, string> = Object.create(null) as Record<string, string>;
  if (file === undefined) return memos;
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as { checks?: unknown };
    if (typeof parsed.checks === 'object' && parsed.checks !== null) {
      for (const [k, v] of Object.entries(parsed.checks)) if (typeof v === 'string') memos[k] = v;
    }
  } catch {
    // missing or damaged: every check runs, and the file is rewritten
  }
  return memos;
}

async function readEntries(file: string): Promise<Record<string, string>> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as { entries?: unknown };
    if (typeof parsed.entries !== 'object' || parsed.entries === null) return {};
    return Object.fromEntries(Object.entries(parsed.entries).filter((e): e is [string, string] => KEY.test(e[0]) && typeof e[1] === 'string'));
  } catch {
    return {}; // missing or damaged: the bundle is rebuilt from this load's schemas
  }
}

// One function whose members each wrap one entry's CommonJS module. V8 compiles an inner
// function only when it is first called.
function bundleSource(entries: Record<string, string>): string {
  const members = Object.entries(entries).map(
    ([key, code]) => `${JSON.stringify(key)}: function () { var module = { exports: {} }, exports = module.exports;\n${code}\n;return module.exports; }`,
  );
  return `(function (require) { "use strict"; return {\n${members.join(',\n')}\n}; })`;
}

const NO_BUNDLE: Bundle = { factories: undefined, newCodeCache: undefined };

function readBundle(file: string): Bundle {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch {
    return NO_BUNDLE; // gone since its key list was read: its validators are compiled by Ajv
  }
  // V8 itself only checks a code cache against the source's length: the hash makes sure it is this source's.
  const sourceHash = hash('sha256', bytes, 'buffer');
  let cachedData: Buffer | undefined;
  try {
    const data = readFileSync(`${file}.v8`);
    if (data.length > 32 && data.subarray(0, 32).equals(sourceHash)) cachedData = data.subarray(32);
  } catch {
    // no code cache yet: compiled from source, and the cache written after the first build
  }
  try {
    const script = new vm.Script(bytes.toString('utf8'), { filename: file, ...(cachedData === undefined ? {} : { cachedData }) });
    // Standalone Ajv code requires ajv's runtime and ajv-formats, resolved from core; memoized,
    // since every entry asks for the same few modules and require() resolves its argument each time.
    const modules = new Map<string, unknown>();
    const requireOnce = (id: string): unknown => {
      let m = modules.get(id);
      if (m === undefined) {
        m = require(id) as unknown;
        modules.set(id, m);
      }
      return m;
    };
    const factories = (script.runInThisContext() as (r: (id: string) => unknown) => Record<string, () => unknown>)(requireOnce);
    if (typeof factories !== 'object' || factories === null) throw new TypeError('not a bundle');
    const stale = cachedData === undefined || script.cachedDataRejected === true;
    return { factories, newCodeCache: stale ? () => Buffer.concat([sourceHash, script.createCachedData()]) : undefined };
  } catch {
    return NO_BUNDLE; // damaged code: its validators are compiled by Ajv, and the cache removed
  }
}

function evaluateEntry(bundle: Bundle, key: string): ValidateFunction | undefined {
  const factory = bundle.factories !== undefined && Object.hasOwn(bundle.factories, key) ? bundle.factories[key] : undefined;
  if (typeof factory !== 'function') return undefined;
  try {
    const fn = factory() as ValidateFunction | { default?: ValidateFunction };
    const validate = typeof fn === 'function' ? fn : fn.default;
    return typeof validate === 'function' ? validate : undefined;
  } catch {
    return undefined; // an entry that throws is compiled again
  }
}
