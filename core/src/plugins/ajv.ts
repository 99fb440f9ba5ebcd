import { createRequire } from 'node:module';
import type { ErrorObject, ValidateFunction } from 'ajv';
import type AjvCore from 'ajv/dist/core.js';
import { manifestSchema, type PluginManifest } from '@erpc/sdk';

// ajv and ajv-formats are CommonJS; under NodeNext their default export sits on `.default`.
const require = createRequire(import.meta.url);
type AjvInstance = AjvCore.default;
type AjvCtor = new (opts: Record<string, unknown>) => AjvInstance;
const Ajv2020 = ((m: { default?: AjvCtor } & AjvCtor) => m.default ?? m)(require('ajv/dist/2020.js'));
const addFormats = ((m: { default?: (ajv: AjvInstance) => AjvInstance } & ((ajv: AjvInstance) => AjvInstance)) => m.default ?? m)(
  require('ajv-formats'),
);

let configAjv: AjvInstance | undefined;
let manifestValidator: ValidateFunction<PluginManifest> | undefined;

/**
 * The one Ajv instance for plugins' config schemas: draft 2020-12, strict, allErrors, formats.
 * Shared because building an Ajv instance costs far more than compiling a small schema.
 */
export function configSchemaAjv(): AjvInstance {
  // code.source keeps the generated code, so a compiled schema can be cached (schema-cache.ts).
  if (configAjv === undefined) configAjv = addFormats(new Ajv2020({ strict: true, allErrors: true, code: { source: true } }));
  return configAjv;
}

/** Validates a manifest (the `erpc` field) against @erpc/sdk's manifest schema: null when valid, else Ajv's errors. */
export function manifestErrors(data: unknown): ErrorObject[] | null {
  // Its own instance without meta-schema validation: the manifest schema is ours (the SDK's tests
  // cover it), and compiling the draft 2020-12 meta-schema is the largest fixed cost of a load, only
  // worth paying when a plugin's config schema must really be compiled (a schema-cache miss).
  manifestValidator ??= new Ajv2020({ strict: true, allErrors: true, validateSchema: false }).compile<PluginManifest>(
    manifestSchema as Record<string, unknown>,
  );
  return manifestValidator(data) ? null : (manifestValidator.errors ?? []);
}
