import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * The JSON Schema (draft 2020-12) of a plugin manifest, the `erpc` field of its `package.json`.
 * Also published as the file `@erpc/sdk/manifest.schema.json`.
 */
export const manifestSchema: Readonly<Record<string, unknown>> = Object.freeze(
  require('../manifest.schema.json') as Record<string, unknown>,
);

/** The only manifest version this SDK knows. */
export const MANIFEST_VERSION = 1 as const;
