import { createRequire } from 'node:module';
import type { ErrorObject, ValidateFunction } from 'ajv';
import type AjvCore from 'ajv/dist/core.js';
import { manifestSchema, type PluginManifest } from '@erpc/sdk';
import { loadShippedValidator, standaloneCode, validatorKey } from '../shipped-validator.js';

export { standaloneCode };

// ajv and ajv-formats are CommonJS; under NodeNext their default export sits on `.default`.
const require = createRequire(import.meta.url);
type AjvInstance = AjvCore.default;
type AjvCtor = new (opts: Record<string, unknown>) => AjvInstance;
const cjsDefault = <T>(m: { default?: T } & T): T => m.default ?? m;
// Loaded on first use: a start-up whose validators all come precompiled never loads Ajv's compiler.
const ajv2020 = (): AjvCtor => cjsDefault(require('ajv/dist/2020.js') as { default?: AjvCtor } & AjvCtor);

let configAjv: AjvInstance | undefined;
let manifestValidator: ValidateFunction<PluginManifest> | undefined;

/**
 * The one Ajv instance for plugins' config schemas: draft 2020-12, strict, allErrors, formats.
 * Shared because building an Ajv instance costs far more than compiling a small schema.
 */
export function configSchemaAjv(): AjvInstance {
  if (configAjv === undefined) {
    const addFormats = cjsDefault(require('ajv-formats') as { default?: (ajv: AjvInstance) => AjvInstance } & ((ajv: AjvInstance) => AjvInstance));
    // code.source keeps the generated code, so a compiled schema can be cached (schema-cache.ts).
    configAjv = addFormats(new (ajv2020())({ strict: true, allErrors: true, code: { source: true } }));
  }
  return configAjv;
}

// The manifest validator's own instance without meta-schema validation: the manifest schema is
// ours (the SDK's tests cover it), and compiling the draft 2020-12 meta-schema is the largest
// fixed cost of a load.
const MANIFEST_OPTIONS = { strict: true, allErrors: true, validateSchema: false, code: { source: true } };

/** Identifies the manifest validator's code: Ajv version, options and the SDK's manifest schema. */
export function manifestValidatorKey(): string {
  return validatorKey(MANIFEST_OPTIONS, manifestSchema);
}

/** Compiles the manifest validator and returns its standalone code (the build ships it precompiled). */
export function manifestValidatorSource(): string {
  const ajv = new (ajv2020())(MANIFEST_OPTIONS);
  return standaloneCode(ajv, ajv.compile(manifestSchema as Record<string, unknown>));
}

function loadManifestValidator(): ValidateFunction<PluginManifest> {
  // The build (scripts/build-manifest-validator.mjs) writes Ajv's standalone code for the SDK's
  // schema beside this module; used only when its key matches the schema and Ajv in use now, so
  // a stale file (the SDK's schema changed since the build, or running from source) is ignored.
  return (
    loadShippedValidator<PluginManifest>(require, './manifest-validator.cjs', manifestValidatorKey()) ??
    new (ajv2020())(MANIFEST_OPTIONS).compile<PluginManifest>(manifestSchema as Record<string, unknown>)
  );
}

/** Validates a manifest (the `erpc` field) against @erpc/sdk's manifest schema: null when valid, else Ajv's errors. */
export function manifestErrors(data: unknown): ErrorObject[] | null {
  manifestValidator ??= loadManifestValidator();
  return manifestValidator(data) ? null : (manifestValidator.errors ?? []);
}
