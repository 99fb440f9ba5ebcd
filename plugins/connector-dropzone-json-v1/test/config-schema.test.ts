import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import Ajv2020Module from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

// ajv and ajv-formats are CommonJS: take the default export whichever way the loader hands it over.
const Ajv2020 = ((Ajv2020Module as unknown as { default?: unknown }).default ?? Ajv2020Module) as typeof Ajv2020Module;
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as typeof addFormatsModule;

const here = new URL('..', import.meta.url);
const schema = JSON.parse(readFileSync(new URL('config.schema.json', here), 'utf8')) as object;
const pkg = createRequire(import.meta.url)('../package.json') as { erpc: Record<string, unknown> };

function compile(useDefaults: boolean) {
  const ajv = new Ajv2020({ strict: true, allErrors: true, useDefaults });
  addFormats(ajv);
  return ajv.compile(schema);
}

describe('config.schema.json', () => {
  it('compiles under Ajv strict mode (as the host compiles it)', () => {
    expect(() => compile(false)).not.toThrow();
  });

  it('is the schema the manifest points at, and the manifest names this connector', () => {
    expect(pkg.erpc.configSchema).toBe('./config.schema.json');
    expect(pkg.erpc.connectorType).toBe('DROPZONE_JSON_V1');
    expect(pkg.erpc.entry).toBe('./dist/index.js');
  });

  it('accepts a minimal config and fills the documented defaults when the host applies them', () => {
    const validate = compile(true);
    const config: Record<string, unknown> = { rootPath: '/srv/erp/inbox' };
    expect(validate(config)).toBe(true);
    expect(config).toEqual({
      rootPath: '/srv/erp/inbox',
      layout: 'by-document-type',
      fsync: true,
      maxFileBytes: 8 * 1024 * 1024,
      acknowledgements: { enabled: false },
    });
  });

  it.each([
    ['missing rootPath', {}],
    ['relative rootPath', { rootPath: 'inbox' }],
    ['rootPath with NUL', { rootPath: '/srv/in\u0000box' }],
    ['unknown layout', { rootPath: '/x', layout: 'nested' }],
    ['prefix with a slash', { rootPath: '/x', filePrefix: 'a/b' }],
    ['prefix too long', { rootPath: '/x', filePrefix: 'A'.repeat(33) }],
    ['fsync not boolean', { rootPath: '/x', fsync: 'yes' }],
    ['maxFileBytes not integer', { rootPath: '/x', maxFileBytes: 1.5 }],
    ['unknown field', { rootPath: '/x', password: 'p' }],
    ['unknown acknowledgements field', { rootPath: '/x', acknowledgements: { enabled: true, every: 5 } }],
  ])('rejects %s', (_name, config) => {
    expect(compile(false)(config)).toBe(false);
  });
});
