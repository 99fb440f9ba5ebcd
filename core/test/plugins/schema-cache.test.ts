import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileConfigSchema } from '../../src/plugins/schema-cache.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'erpc-schema-cache-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const text = JSON.stringify({
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  required: ['endpoint'],
  additionalProperties: false,
  properties: { endpoint: { type: 'string', format: 'uri' }, apiKey: { type: 'string', writeOnly: true } },
});

describe('config schema cache', () => {
  it('serves a cached validator that behaves exactly like the compiled one', async () => {
    const compiled = await compileConfigSchema(JSON.parse(text), text, dir);
    const files = readdirSync(dir);
    expect(files).toHaveLength(1);
    const cached = await compileConfigSchema(JSON.parse(text), text, dir);
    expect(cached).not.toBe(compiled);
    for (const input of [{ endpoint: 'https://erp.example' }, { endpoint: 'not a uri' }, { apiKey: 1, extra: true }]) {
      expect(cached(input)).toBe(compiled(input));
      expect(cached.errors ?? null).toEqual(compiled.errors ?? null);
    }
    expect(cached({ apiKey: 1, extra: true })).toBe(false);
    expect(cached.errors?.length).toBe(3); // allErrors survives the cache
  });

  it('never caches a rejected schema, and ignores a damaged entry', async () => {
    const bad = JSON.stringify({ type: 'object', properties: { a: { type: 'string', secret: true } } });
    await expect(compileConfigSchema(JSON.parse(bad), bad, dir)).rejects.toThrow(/unknown keyword: "secret"/);
    await expect(compileConfigSchema(JSON.parse(bad), bad, dir)).rejects.toThrow(/unknown keyword/);
    expect(readdirSync(dir)).toHaveLength(1);
    const file = path.join(dir, readdirSync(dir)[0] as string);
    writeFileSync(file, 'this is not javascript {');
    const v = await compileConfigSchema(JSON.parse(text), text, dir);
    expect(v({ endpoint: 'https://erp.example' })).toBe(true);
  });
});
