import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import vm from 'node:vm';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { ValidateFunction } from 'ajv';
import { configSchemaAjv, standaloneCode } from './ajv.js';

const require = createRequire(import.meta.url);
const AJV_VERSION = (require('ajv/package.json') as { version: string }).version;
// Bump when the Ajv options of configSchemaAjv() change: the key must identify the compiled code.
const COMPILE_PROFILE = 'draft2020-12;strict;allErrors;ajv-formats-full;v1';
// One file per Ajv version and profile: a new Ajv never reads an older one's code.
const BUNDLE_FILE = `config-schemas-${createHash('sha256').update(`${AJV_VERSION}\n${COMPILE_PROFILE}`).digest('hex').slice(0, 16)}.json`;
// Beyond this many entries, a rewrite keeps only the schemas of the current load (no unbounded growth).
const MAX_ENTRIES = 2000;

/** Compiles plugins' config schemas, serving the ones compiled by an earlier start-up from the cache. */
export interface SchemaCache {
  /** The validator of `schema` (whose exact text is `schemaText`); throws Ajv's error for a rejected schema. */
  compile(schema: Record<string, unknown>, schemaText: string): ValidateFunction;
  /** Writes the newly compiled validators, if any; never throws (a lost write costs a compile later). */
  flush(): Promise<void>;
}

interface Bundle {
  /** Standalone code by key. */
  entries: Record<string, string>;
  /** Factories evaluated from the whole bundle at once; undefined when it could not be evaluated. */
  factories: Record<string, () => unknown> | undefined;
  /** The compiled bundle, and whether V8's code cache for it must be (re)written. */
  script: vm.Script | undefined;
  writeCodeCache: boolean;
}

/**
 * Opens the compiled-schema cache of `cacheDir` (undefined: no cache, every schema compiled).
 * Compiling with Ajv (strict, draft 2020-12, allErrors, formats) is by far the largest per-plugin
 * cost of a start-up, so the generated validator code (Ajv's standalone code, exactly what
 * `ajv.compile` builds) is kept, keyed by a hash of the exact schema text, the Ajv version and the
 * compile options. All entries live in ONE file, evaluated as one script per load: per-schema
 * files cost a read and a function compile each, more than the validation work. Beside it, V8's
 * code cache of that script (bytecode of the same source, checked by V8 and by a hash of the
 * source) spares parsing and compiling it again. Only schemas that compiled are cached, so a
 * rejected schema is rejected again on every load. The cache directory must be as trusted as the
 * plugin folders: its content is code the host runs.
 */
export function openSchemaCache(cacheDir: string | undefined): SchemaCache {
  const file = cacheDir === undefined ? undefined : path.join(cacheDir, BUNDLE_FILE);
  const bundle = file === undefined ? undefined : readBundle(file);
  const added = new Map<string, string>();
  const used = new Set<string>();
  return {
    compile(schema, schemaText) {
      const key = createHash('sha256').update(schemaText).digest('hex');
      if (bundle !== undefined) {
        const cached = evaluateEntry(bundle, key);
        if (cached !== undefined) {
          used.add(key);
          return cached;
        }
      }
      const ajv = configSchemaAjv();
      const validate = ajv.compile(schema);
      // The compiled function is self-contained. Dropping the schema from Ajv's cache lets two
      // plugins (or two loads) use the same $id without a "schema already exists" clash.
      ajv.removeSchema(schema);
      if (file !== undefined) {
        try {
          added.set(key, standaloneCode(ajv, validate));
          used.add(key);
        } catch {
          // Code that cannot be generated is not cached; the compiled validator still serves.
        }
      }
      return validate;
    },
    async flush() {
      if (file === undefined || cacheDir === undefined) return;
      try {
        if (added.size === 0) {
          // Unchanged bundle: write its code cache once, now that this load compiled its members.
          if (bundle?.script !== undefined && bundle.writeCodeCache) {
            await writeAtomic(`${file}.v8`, Buffer.concat([sourceHash(bundleSource(bundle.entries)), bundle.script.createCachedData()]));
          }
          return;
        }
        const previous = bundle?.factories === undefined ? {} : bundle.entries;
        const all: Record<string, string> = { ...previous, ...Object.fromEntries(added) };
        const entries = Object.keys(all).length <= MAX_ENTRIES ? all : Object.fromEntries([...used].flatMap((k) => (all[k] === undefined ? [] : [[k, all[k]]])));
        await mkdir(cacheDir, { recursive: true });
        await writeAtomic(file, JSON.stringify({ entries }));
        // The next load compiles the new bundle and writes its code cache.
        await rm(`${file}.v8`, { force: true });
      } catch {
        // A cache that cannot be written only costs the next start-up the compiles.
      }
    },
  };
}

async function writeAtomic(file: string, data: string | Buffer): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, file); // atomic: a concurrent reader sees the whole file or none
}

// One function whose members each wrap one entry's CommonJS module. V8 compiles an inner
// function only when it is first called.
function bundleSource(entries: Record<string, string>): string {
  const members = Object.entries(entries).map(
    ([key, code]) => `${JSON.stringify(key)}: function () { var module = { exports: {} }, exports = module.exports;\n${code}\n;return module.exports; }`,
  );
  return `(function (require) { "use strict"; return {\n${members.join(',\n')}\n}; })`;
}

// V8 itself only checks a code cache against the source's length: the hash makes sure it is this source's.
function sourceHash(source: string): Buffer {
  return createHash('sha256').update(source).digest();
}

function readBundle(file: string): Bundle | undefined {
  let entries: Record<string, string>;
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as { entries?: unknown };
    if (typeof parsed.entries !== 'object' || parsed.entries === null) return undefined;
    entries = Object.fromEntries(Object.entries(parsed.entries).filter((e): e is [string, string] => /^[0-9a-f]{64}$/.test(e[0]) && typeof e[1] === 'string'));
  } catch {
    return undefined; // missing or damaged: everything is compiled and the file rewritten
  }
  const source = bundleSource(entries);
  let cachedData: Buffer | undefined;
  try {
    const data = readFileSync(`${file}.v8`);
    if (data.length > 32 && data.subarray(0, 32).equals(sourceHash(source))) cachedData = data.subarray(32);
  } catch {
    // no code cache yet: compiled from source, and the cache written at flush
  }
  try {
    const script = new vm.Script(source, { filename: file, ...(cachedData === undefined ? {} : { cachedData }) });
    // Standalone Ajv code requires ajv's runtime and ajv-formats, resolved from core.
    const factories = (script.runInThisContext() as (r: NodeRequire) => Record<string, () => unknown>)(require);
    return { entries, factories, script, writeCodeCache: cachedData === undefined || script.cachedDataRejected === true };
  } catch {
    return { entries, factories: undefined, script: undefined, writeCodeCache: false }; // damaged code: recompiled, and the file rewritten without it
  }
}

function evaluateEntry(bundle: Bundle, key: string): ValidateFunction | undefined {
  const factory = bundle.factories !== undefined && Object.hasOwn(bundle.factories, key) ? bundle.factories[key] : undefined;
  if (factory === undefined) return undefined;
  try {
    const fn = factory() as ValidateFunction | { default?: ValidateFunction };
    const validate = typeof fn === 'function' ? fn : fn.default;
    return typeof validate === 'function' ? validate : undefined;
  } catch {
    return undefined; // an entry that throws is compiled again
  }
}
