import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openSchemaCache } from '../../src/plugins/schema-cache.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'erpc-schema-cache-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const schemaOf = (prop: string) =>
  JSON.stringify({
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    type: 'object',
    required: [prop],
    additionalProperties: false,
    properties: { [prop]: { type: 'string', format: 'uri' }, apiKey: { type: 'string', writeOnly: true } },
  });
const text = schemaOf('endpoint');
const inputs = [{ endpoint: 'https://erp.example' }, { endpoint: 'not a uri' }, { apiKey: 1, extra: true }, 'nope'];

describe('config schema cache', () => {
  it('serves cached validators, all from one file, that behave exactly like the compiled ones', async () => {
    const first = openSchemaCache(dir);
    const compiled = first.compile(JSON.parse(text), text);
    const compiled2 = first.compile(JSON.parse(schemaOf('url')), schemaOf('url'));
    expect(readdirSync(dir)).toHaveLength(0); // written once, at flush
    await first.flush();
    // The bundle's source, its entries (read only to add to it) and the list of its keys.
    const [sourceName, entriesName, keysName] = readdirSync(dir).sort() as [string, string, string];
    expect([sourceName.endsWith('.js'), entriesName, keysName]).toEqual([true, sourceName.replace(/\.js$/, '.json'), sourceName.replace(/\.js$/, '.keys.json')]);

    const second = openSchemaCache(dir);
    const cached = second.compile(JSON.parse(text), text);
    const cached2 = second.compile(JSON.parse(schemaOf('url')), schemaOf('url'));
    expect(cached).not.toBe(compiled);
    for (const input of inputs) {
      expect(cached(input)).toBe(compiled(input));
      expect(cached.errors ?? null).toEqual(compiled.errors ?? null);
      expect(cached2(input)).toBe(compiled2(input));
      expect(cached2.errors ?? null).toEqual(compiled2.errors ?? null);
    }
    expect(cached({ apiKey: 1, extra: true })).toBe(false);
    expect(cached.errors?.length).toBe(3); // allErrors survives the cache
    await second.flush();
    // The second load, which compiled nothing, writes V8's code cache of the bundle beside it
    // (in the background, after its first cached validator was built).
    for (let i = 0; i < 200 && !readdirSync(dir).some((f) => f.endsWith('.v8')); i++) await new Promise((r) => setTimeout(r, 10));
    expect(readdirSync(dir).sort()).toEqual([sourceName, `${sourceName}.v8`, entriesName, keysName]);
    // A load that calls no cached validator never reads the bundle.
    const bundleText = readFileSync(path.join(dir, sourceName), 'utf8');
    const untouched = openSchemaCache(dir);
    writeFileSync(path.join(dir, sourceName), 'throw new Error("read")');
    expect(typeof untouched.compile(JSON.parse(text), text)).toBe('function');
    await untouched.flush();
    expect(readdirSync(dir)).toContain(keysName);

    // Served from the file, not compiled again: swap the two entries' keys in the source and the
    // validators swap. Same length, so V8 alone would accept the stale code cache: the source
    // hash must reject it.
    const file = path.join(dir, sourceName);
    writeFileSync(file, bundleText);
    const source = readFileSync(file, 'utf8');
    const [k1, k2] = [text, schemaOf('url')].map((t) => createHash('sha256').update(t).digest('hex')) as [string, string];
    expect(source).toContain(k1);
    writeFileSync(file, source.replaceAll(k1, 'KEY-ONE').replaceAll(k2, k1).replaceAll('KEY-ONE', k2));
    const swapped = openSchemaCache(dir);
    expect(swapped.compile(JSON.parse(text), text)({ url: 'https://erp.example' })).toBe(true);
    await swapped.flush();
    writeFileSync(file, source);
    rmSync(`${file}.v8`);
  });

  it('never caches a rejected schema, and ignores a damaged file', async () => {
    const bad = JSON.stringify({ type: 'object', properties: { a: { type: 'string', secret: true } } });
    const cache = openSchemaCache(dir);
    expect(() => cache.compile(JSON.parse(bad), bad)).toThrow(/unknown keyword: "secret"/);
    await cache.flush();
    expect(() => openSchemaCache(dir).compile(JSON.parse(bad), bad)).toThrow(/unknown keyword/);
    const file = path.join(dir, readdirSync(dir).find((f) => f.endsWith('.js')) as string);

    // A damaged bundle: its validators fall back to Ajv on first use, and the cache is removed.
    for (const damage of ['this is not javascript {', '(function () { return 42; })']) {
      writeFileSync(file, damage);
      const v = openSchemaCache(dir).compile(JSON.parse(text), text);
      expect(v({ endpoint: 'https://erp.example' })).toBe(true);
      expect(v({ endpoint: 'not a uri' })).toBe(false);
      expect(v.errors?.[0]).toMatchObject({ instancePath: '/endpoint', keyword: 'format' });
      expect(readdirSync(dir).filter((f) => f.endsWith('.js') || f.endsWith('.keys.json'))).toEqual([]);
      // The next load compiles and rebuilds it.
      const rebuilt = openSchemaCache(dir);
      rebuilt.compile(JSON.parse(text), text);
      await rebuilt.flush();
      expect(readFileSync(file, 'utf8')).toContain(createHash('sha256').update(text).digest('hex'));
      expect(openSchemaCache(dir).compile(JSON.parse(text), text)({ endpoint: 'https://erp.example' })).toBe(true);
    }
  });

  it('memoizes a check by version and input, across loads', async () => {
    const calls: string[] = [];
    const compute = (input: string) => {
      calls.push(input);
      return input === '^1.0.0' ? 'ok' : 'unsatisfied';
    };
    const first = openSchemaCache(dir);
    expect([first.memo('v1', '^1.0.0', compute), first.memo('v1', '^1.0.0', compute), first.memo('v1', '^2.0.0', compute)]).toEqual(['ok', 'ok', 'unsatisfied']);
    expect(calls).toEqual(['^1.0.0', '^2.0.0']);
    await first.flush();
    const second = openSchemaCache(dir);
    expect(second.memo('v1', '^1.0.0', compute)).toBe('ok');
    expect(calls).toHaveLength(2); // from the file
    expect(second.memo('v2', '^1.0.0', compute)).toBe('ok');
    expect(calls).toHaveLength(3); // another version is another check
    writeFileSync(path.join(dir, 'checks.json'), '{ damaged');
    expect(openSchemaCache(dir).memo('v1', '^2.0.0', compute)).toBe('unsatisfied');
    expect(calls).toHaveLength(4);
  });

  it('without a cache directory, compiles and writes nothing', async () => {
    const none = openSchemaCache(undefined);
    expect(none.compile(JSON.parse(text), text)({ endpoint: 'https://erp.example' })).toBe(true);
    await none.flush();
  });
});
