import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
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
}

/**
 * Opens the compiled-schema cache of `cacheDir` (undefined: no cache, every schema compiled).
 * Compiling with Ajv (strict, draft 2020-12, allErrors, formats) is by far the largest per-plugin
 * cost of a start-up, so the generated validator code (Ajv's standalone code, exactly what
 * `ajv.compile` builds) is kept, keyed by a hash of the exact schema text, the Ajv version and the
 * compile options. All entries live in ONE file, read and evaluated with one `new Function` per
 * load: per-schema files cost a read and a function compile each, more than the validation work.
 * Only schemas that compiled are cached, so a rejected schema is rejected again on every load.
 * The cache directory must be as trusted as the plugin folders: its content is code the host runs.
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
      if (file === undefined || cacheDir === undefined || added.size === 0) return;
      const previous = bundle?.factories === undefined ? {} : (bundle?.entries ?? {});
      const all: Record<string, string> = { ...previous, ...Object.fromEntries(added) };
      const entries = Object.keys(all).length <= MAX_ENTRIES ? all : Object.fromEntries([...used].flatMap((k) => (all[k] === undefined ? [] : [[k, all[k]]])));
      try {
        await mkdir(cacheDir, { recursive: true });
        const tmp = `${file}.${process.pid}.tmp`;
        await writeFile(tmp, JSON.stringify({ entries }));
        await rename(tmp, file); // atomic: a concurrent reader sees the whole file or none
      } catch {
        // A cache that cannot be written only costs the next start-up the compiles.
      }
    },
  };
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
  // One function whose members each wrap one entry's CommonJS module. V8 compiles an inner
  // function only when it is first called, so this costs one parse of the file, not N compiles.
  const members = Object.entries(entries).map(
    ([key, code]) => `${JSON.stringify(key)}: function () { var module = { exports: {} }, exports = module.exports;\n${code}\n;return module.exports; }`,
  );
  try {
    // Standalone Ajv code requires ajv's runtime and ajv-formats, resolved from core.
    const factories = new Function('require', `"use strict"; return {\n${members.join(',\n')}\n};`)(require) as Record<string, () => unknown>;
    return { entries, factories };
  } catch {
    return { entries, factories: undefined }; // damaged code: recompiled, and the file rewritten without it
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
