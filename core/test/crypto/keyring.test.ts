import { createHmac } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { generateKey, keyIdOf, keyringFromEnv, Keyring } from '../../src/crypto/index.js';
import { isErpcError } from '../../src/errors/index.js';

// Canary keys: unmistakable values that must never appear in an error, JSON or inspect output.
const CANARY_A = 'c0ffee00'.repeat(8);
const CANARY_B = 'deadbeef'.repeat(8);
const CANARY_C = 'ba5eba11'.repeat(8);

function expectedId(hex: string): string {
  return createHmac('sha256', Buffer.from(hex, 'hex')).update('erpc/key-id/v1').digest('hex').slice(0, 16);
}

function errorOf(fn: () => unknown): Error & { code?: string } {
  try {
    fn();
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected a throw');
}

describe('key ids', () => {
  it('are the first 8 bytes of HMAC-SHA256(key, "erpc/key-id/v1") in lowercase hex', () => {
    expect(keyIdOf(CANARY_A)).toBe(expectedId(CANARY_A));
    expect(keyIdOf(CANARY_A)).toMatch(/^[0-9a-f]{16}$/);
    expect(keyIdOf(CANARY_A.toUpperCase())).toBe(keyIdOf(CANARY_A));
    expect(keyIdOf(Buffer.from(CANARY_A, 'hex'))).toBe(keyIdOf(CANARY_A));
  });

  it('are stable across releases (a fixed key gives a fixed id)', () => {
    // Pinned value: changing the derivation would orphan every stored row.
    expect(keyIdOf('00'.repeat(32))).toBe('a01c43a5be067bf1');
    expect(expectedId('00'.repeat(32))).toBe('a01c43a5be067bf1');
  });

  it('differ between keys; generateKey gives fresh 64-hex keys', () => {
    const a = generateKey();
    const b = generateKey();
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(a).not.toBe(b);
    expect(keyIdOf(a)).not.toBe(keyIdOf(b));
  });
});

describe('keyringFromEnv', () => {
  it('loads the master key as active and previous keys, ignoring duplicates and whitespace', () => {
    const ring = keyringFromEnv({
      ENCRYPTION_MASTER_KEY: CANARY_A,
      ENCRYPTION_PREVIOUS_KEYS: ` ${CANARY_B} ,${CANARY_C},${CANARY_B}, ${CANARY_A},`,
    });
    expect(ring.activeKeyId).toBe(keyIdOf(CANARY_A));
    expect(ring.keyIds).toEqual([keyIdOf(CANARY_A), keyIdOf(CANARY_B), keyIdOf(CANARY_C)]);
    expect(ring.previousKeyIds).toEqual([keyIdOf(CANARY_B), keyIdOf(CANARY_C)]);
    expect(ring.has(keyIdOf(CANARY_C))).toBe(true);
    expect(ring.has(keyIdOf(generateKey()))).toBe(false);
  });

  it('without previous keys has only the active one', () => {
    expect(keyringFromEnv({ ENCRYPTION_MASTER_KEY: CANARY_A, ENCRYPTION_PREVIOUS_KEYS: '' }).keyIds).toEqual([keyIdOf(CANARY_A)]);
  });

  it('a missing or blank master key is ERPC_ERR_KEY_MISSING', () => {
    for (const env of [{}, { ENCRYPTION_MASTER_KEY: '' }, { ENCRYPTION_MASTER_KEY: '  ' }, { ENCRYPTION_PREVIOUS_KEYS: CANARY_B }]) {
      const err = errorOf(() => keyringFromEnv(env));
      expect(isErpcError(err)).toBe(true);
      expect(err.code).toBe('ERPC_ERR_KEY_MISSING');
      expect(err.message).toContain('ENCRYPTION_MASTER_KEY');
      expect(err.message).not.toContain(CANARY_B);
    }
  });

  const malformed: Array<[string, string, RegExp]> = [
    ['short', CANARY_A.slice(0, 32), /32 characters, expected 64/],
    ['63 characters', CANARY_A.slice(0, 63), /63 characters, expected 64/],
    ['65 characters', `${CANARY_A}0`, /65 characters, expected 64/],
    ['non-hex', `${CANARY_A.slice(0, 63)}g`, /not hexadecimal/],
    ['base64', Buffer.from(CANARY_A, 'hex').toString('base64'), /base64/],
  ];

  for (const [name, value, reason] of malformed) {
    it(`a ${name} master key is ERPC_ERR_KEY_INVALID naming the variable, not the value`, () => {
      const err = errorOf(() => keyringFromEnv({ ENCRYPTION_MASTER_KEY: value }));
      expect(err.code).toBe('ERPC_ERR_KEY_INVALID');
      expect(err.message).toMatch(/^ENCRYPTION_MASTER_KEY is not a valid encryption key/);
      expect(err.message).toMatch(reason);
      expect(err.message).not.toContain(value);
      expect(String(err.stack)).not.toContain(value);
      expect(JSON.stringify(err)).not.toContain(value);
    });
  }

  it('a bad previous key names its position, never any key', () => {
    const bad = CANARY_C.slice(0, 63);
    const err = errorOf(() => keyringFromEnv({ ENCRYPTION_MASTER_KEY: CANARY_A, ENCRYPTION_PREVIOUS_KEYS: `${CANARY_B}, ${bad}` }));
    expect(err.code).toBe('ERPC_ERR_KEY_INVALID');
    expect(err.message).toContain('ENCRYPTION_PREVIOUS_KEYS (entry 2 of 2)');
    for (const secret of [CANARY_A, CANARY_B, bad, bad.slice(0, 16)]) {
      expect(err.message).not.toContain(secret);
      expect(String(err.stack)).not.toContain(secret);
    }
  });
});

describe('Keyring output', () => {
  it('JSON.stringify, util.inspect and String() show key ids, never key bytes', () => {
    const ring = keyringFromEnv({ ENCRYPTION_MASTER_KEY: CANARY_A, ENCRYPTION_PREVIOUS_KEYS: CANARY_B });
    const outputs = [
      JSON.stringify(ring),
      inspect(ring),
      inspect(ring, { showHidden: true, depth: null, customInspect: false }),
      String(ring),
      JSON.stringify({ nested: { ring } }),
      inspect({ nested: { ring } }, { depth: null }),
    ];
    for (const out of outputs) {
      for (const key of [CANARY_A, CANARY_B]) {
        expect(out).not.toContain(key);
        expect(out).not.toContain(key.toUpperCase());
        expect(out).not.toContain(Buffer.from(key, 'hex').toString('base64'));
      }
    }
    expect(JSON.parse(JSON.stringify(ring))).toEqual({ activeKeyId: keyIdOf(CANARY_A), keyIds: [keyIdOf(CANARY_A), keyIdOf(CANARY_B)] });
    expect(inspect(ring)).toContain(keyIdOf(CANARY_A));
    expect(Object.keys(ring).sort()).toEqual(['activeKeyId', 'keyIds']);
  });

  it('is immutable', () => {
    const ring = new Keyring(CANARY_A);
    expect(() => {
      (ring as { activeKeyId: string }).activeKeyId = 'x';
    }).toThrow(TypeError);
  });
});
