import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { ValidateFunction } from 'ajv';
import { configSchemaAjv } from './ajv.js';

const require = createRequire(import.meta.url);
const standaloneCode = ((m: { default?: Standalone } & Standalone) => m.default ?? m)(require('ajv/dist/standalone'));
type Standalone = (ajv: ReturnType<typeof configSchemaAjv>, validate: ValidateFunction) => string;
const AJV_VERSION = (require('ajv/package.json') as { version: string }).version;
// Bump when the Ajv options of configSchemaAjv() change: the key must identify the compiled code.
const COMPILE_PROFILE = 'draft2020-12;strict;allErrors;ajv-formats-full;v1';

/**
 * Compiles a plugin's config schema with Ajv (strict, draft 2020-12). Compiling is by far the
 * largest per-plugin cost of a start-up, so when `cacheDir` is set the generated validator code
 * is kept there, keyed by a hash of the exact schema text, the Ajv version and the compile options;
 * the next start-up evaluates that code instead of compiling again. Only schemas that compiled
 * are cached, so a rejected schema is rejected again on every load. The cache directory must be
 * as trusted as the plugin folders: its files are code the host runs.
 */
export async function compileConfigSchema(schema: Record<string, unknown>, schemaText: string, cacheDir: string | undefined): Promise<ValidateFunction> {
  const key = createHash('sha256').update(`${AJV_VERSION}\n${COMPILE_PROFILE}\n${schemaText}`).digest('hex');
  const file = cacheDir === undefined ? undefined : path.join(cacheDir, `${key}.cjs`);
  if (file !== undefined) {
    const cached = readOrUndefined(file);
    if (cached !== undefined) {
      const loaded = evaluate(cached);
      if (loaded !== undefined) return loaded;
    }
  }
  const ajv = configSchemaAjv();
  const validate = ajv.compile(schema);
  if (file !== undefined && cacheDir !== undefined) {
    try {
      const code = standaloneCode(ajv, validate);
      await mkdir(cacheDir, { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      await writeFile(tmp, code);
      await rename(tmp, file); // atomic: a concurrent reader sees the whole file or none
    } catch {
      // A cache that cannot be written only costs the next start-up a compile.
    }
  }
  // The compiled function is self-contained. Dropping the schema from Ajv's cache lets two plugins
  // (or two loads) use the same $id without a "schema already exists" clash.
  ajv.removeSchema(schema);
  return validate;
}

function evaluate(code: string): ValidateFunction | undefined {
  try {
    const module = { exports: {} as unknown };
    // Standalone Ajv code is a CommonJS module; its require() resolves ajv's runtime and ajv-formats from core.
    new Function('require', 'module', 'exports', code)(require, module, module.exports);
    const fn = module.exports as ValidateFunction | { default?: ValidateFunction };
    const validate = typeof fn === 'function' ? fn : fn.default;
    return typeof validate === 'function' ? validate : undefined;
  } catch {
    return undefined; // a damaged cache entry is ignored and rewritten
  }
}

function readOrUndefined(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
