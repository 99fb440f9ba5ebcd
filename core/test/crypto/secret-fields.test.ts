import { describe, expect, it } from 'vitest';
import { omitWriteOnly, redactWriteOnly, secretPointers, secretValuesOf } from '../../src/crypto/index.js';

const schema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  properties: {
    host: { type: 'string' },
    password: { type: 'string', writeOnly: true },
    apiKey: { $ref: '#/$defs/secret' },
    'odd/name~x': { type: 'string', writeOnly: true },
    auth: {
      type: 'object',
      properties: {
        user: { type: 'string' },
        token: { type: 'string', writeOnly: true },
        oauth: { type: 'object', writeOnly: true },
      },
    },
    endpoints: {
      type: 'array',
      items: {
        type: 'object',
        properties: { url: { type: 'string' }, secret: { type: 'string', writeOnly: true } },
      },
    },
    pair: { type: 'array', prefixItems: [{ type: 'string' }, { type: 'string', writeOnly: true }], items: { type: 'number' } },
    headers: { type: 'object', additionalProperties: { type: 'string', writeOnly: true } },
    mode: {
      oneOf: [
        { type: 'object', properties: { kind: { const: 'basic' }, pass: { type: 'string', writeOnly: true } } },
        { type: 'object', properties: { kind: { const: 'none' } } },
      ],
    },
    extra: { allOf: [{ $ref: '#/$defs/withPin' }] },
    tokens: { type: 'array', items: { $ref: '#/$defs/secret' } },
    tree: { $ref: '#/$defs/node' },
  },
  $defs: {
    secret: { type: 'string', writeOnly: true },
    withPin: { type: 'object', properties: { pin: { type: 'string', writeOnly: true }, label: { type: 'string' } } },
    node: {
      type: 'object',
      properties: { key: { type: 'string', writeOnly: true }, child: { $ref: '#/$defs/node' } },
    },
  },
};

const config = {
  host: 'erp.example.com',
  password: 'S-password',
  apiKey: 'S-apikey',
  'odd/name~x': 'S-odd',
  auth: { user: 'alice', token: 'S-token', oauth: { refresh: 'S-refresh', scopes: ['S-scope'], expires: 3600 } },
  endpoints: [{ url: 'https://a', secret: 'S-ep0' }, { url: 'https://b' }, { url: 'https://c', secret: 'S-ep2' }],
  pair: ['left', 'S-pair', 7],
  headers: { 'X-Auth': 'S-header' },
  mode: { kind: 'basic', pass: 'S-mode' },
  extra: { pin: 'S-pin', label: 'visible' },
  tokens: ['S-tok1', 'S-tok2'],
  tree: { key: 'S-tree1', child: { key: 'S-tree2', child: {} } },
};

const ALL_SECRETS = [
  'S-password', 'S-apikey', 'S-odd', 'S-token', 'S-refresh', 'S-scope', 'S-ep0', 'S-ep2', 'S-pair',
  'S-header', 'S-mode', 'S-pin', 'S-tok1', 'S-tok2', 'S-tree1', 'S-tree2',
];

describe('secretValuesOf', () => {
  it('finds every string of writeOnly fields at any depth: properties, $ref, arrays, prefixItems, additionalProperties, oneOf, allOf, recursion', () => {
    expect(secretValuesOf(config, schema).sort()).toEqual([...ALL_SECRETS].sort());
  });

  it('leaves non-secret values alone and skips empty strings, non-strings and missing fields', () => {
    const values = secretValuesOf({ host: 'h', password: '', auth: { token: 42 }, tokens: [] }, schema);
    expect(values).toEqual([]);
  });

  it('a schema without writeOnly finds nothing; ignores refs that do not resolve', () => {
    expect(secretValuesOf(config, { type: 'object', properties: { x: { $ref: 'https://elsewhere/x' } } })).toEqual([]);
  });

  it('survives a self-referencing $ref cycle', () => {
    const loop = { $ref: '#/$defs/a', $defs: { a: { $ref: '#/$defs/a' } } };
    expect(secretValuesOf({ a: 'x' }, loop)).toEqual([]);
  });

  it('reads draft-07 style array-form items and patternProperties', () => {
    const s = {
      type: 'object',
      properties: { t: { type: 'array', items: [{ type: 'string' }, { type: 'string', writeOnly: true }] } },
      patternProperties: { '^secret_': { type: 'string', writeOnly: true } },
    };
    expect(secretValuesOf({ t: ['a', 'S-b'], secret_x: 'S-x', public_y: 'y' }, s).sort()).toEqual(['S-b', 'S-x']);
  });

  it('additionalProperties does not apply to named properties', () => {
    const s = { type: 'object', properties: { name: { type: 'string' } }, additionalProperties: { writeOnly: true } };
    expect(secretValuesOf({ name: 'visible', other: 'S-other' }, s)).toEqual(['S-other']);
  });
});

describe('secretPointers', () => {
  it('lists RFC 6901 pointers of the writeOnly fields that are set', () => {
    expect(secretPointers(config, schema).sort()).toEqual(
      [
        '/password', '/apiKey', '/odd~1name~0x', '/auth/token', '/auth/oauth', '/endpoints/0/secret', '/endpoints/2/secret',
        '/pair/1', '/headers/X-Auth', '/mode/pass', '/extra/pin', '/tokens/0', '/tokens/1', '/tree/key', '/tree/child/key',
      ].sort(),
    );
  });

  it('omits fields that are absent or null', () => {
    expect(secretPointers({ host: 'h', password: null, auth: { user: 'u' } }, schema)).toEqual([]);
  });
});

describe('omitWriteOnly', () => {
  it('returns a deep copy without any writeOnly value', () => {
    const out = omitWriteOnly(config, schema);
    const text = JSON.stringify(out);
    for (const s of ALL_SECRETS) expect(text).not.toContain(s);
    expect(out).toEqual({
      host: 'erp.example.com',
      auth: { user: 'alice' },
      endpoints: [{ url: 'https://a' }, { url: 'https://b' }, { url: 'https://c' }],
      pair: ['left', 7],
      headers: {},
      mode: { kind: 'basic' },
      extra: { label: 'visible' },
      tokens: [],
      tree: { child: { child: {} } },
    });
    // The input is untouched.
    expect(config.password).toBe('S-password');
    expect(config.endpoints[0]).toEqual({ url: 'https://a', secret: 'S-ep0' });
  });
});

describe('redactWriteOnly', () => {
  it('replaces each writeOnly value and keeps the shape', () => {
    const out = redactWriteOnly(config, schema);
    expect(JSON.stringify(out)).not.toMatch(/S-/);
    expect(out.password).toBe('[redacted]');
    expect(out.auth).toEqual({ user: 'alice', token: '[redacted]', oauth: '[redacted]' });
    expect(out.pair).toEqual(['left', '[redacted]', 7]);
  });
});
