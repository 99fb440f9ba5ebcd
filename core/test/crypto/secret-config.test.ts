import { inspect, format } from 'node:util';
import { describe, expect, it } from 'vitest';
import { SecretConfig } from '../../src/crypto/index.js';

const CANARY = 'canary-7d1e9a33c2';
const schema = {
  type: 'object',
  properties: { host: { type: 'string' }, auth: { type: 'object', properties: { password: { type: 'string', writeOnly: true } } } },
};

function printed(value: unknown): string[] {
  return [
    JSON.stringify(value),
    JSON.stringify({ wrapped: [value] }),
    inspect(value),
    inspect({ deep: { value } }, { depth: null, showHidden: true }),
    String(value),
    `${value as string}`,
    format('%s %o %O %j', value, value, value, value),
  ];
}

describe('SecretConfig', () => {
  it('reveal() returns the config, deep-frozen, detached from the input', () => {
    const input = { host: 'h', auth: { password: CANARY }, list: [{ a: 1 }] };
    const held = new SecretConfig(input);
    const config = held.reveal() as typeof input;
    expect(config).toEqual(input);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.auth)).toBe(true);
    expect(Object.isFrozen(config.list[0])).toBe(true);
    input.auth.password = 'changed';
    expect(config.auth.password).toBe(CANARY);
  });

  it('without a schema prints only [SecretConfig]', () => {
    const held = new SecretConfig({ host: 'h', auth: { password: CANARY } });
    for (const out of printed(held)) expect(out).not.toContain(CANARY);
    expect(JSON.stringify(held)).toBe('"[SecretConfig]"');
    expect(String(held)).toBe('[SecretConfig]');
    expect(inspect(held)).toBe('[SecretConfig]');
    expect(Object.keys(held)).toEqual([]);
    expect(held.secretValues()).toEqual([]);
  });

  it('with a schema prints the config with writeOnly values redacted', () => {
    const held = new SecretConfig({ host: 'erp.example.com', auth: { password: CANARY } }, schema);
    for (const out of printed(held)) expect(out).not.toContain(CANARY);
    expect(JSON.parse(JSON.stringify(held))).toEqual({ host: 'erp.example.com', auth: { password: '[redacted]' } });
    expect(inspect(held, { depth: null })).toContain('erp.example.com');
    expect(held.secretValues()).toEqual([CANARY]);
  });
});
