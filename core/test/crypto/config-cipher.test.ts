import { createCipheriv, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  ConfigCipher,
  ConfigDecryptError,
  generateKey,
  isConfigDecryptError,
  keyIdOf,
  Keyring,
  keyringFromEnv,
  LEGACY_KEY_ID,
} from '../../src/crypto/index.js';
import { isErpcError } from '../../src/errors/index.js';

interface Vectors {
  keyHex: string;
  vectors: Array<{ config: Record<string, unknown>; blobHex: string; blobBase64: string }>;
  mustFail: Array<{ why: string; blobHex: string }>;
}
const vectors = JSON.parse(readFileSync(new URL('../fixtures/vectors/seed-aesgcm-v0.json', import.meta.url), 'utf8')) as Vectors;

const KEY_A = generateKey();
const KEY_B = generateKey();
const CANARY = 'canary-secret-9f27c1e04b';
const binding = { orgId: 'org-1', connectionId: 'conn-1' };

function decryptError(fn: () => unknown): ConfigDecryptError {
  try {
    fn();
  } catch (err) {
    expect(isConfigDecryptError(err), String(err)).toBe(true);
    return err as ConfigDecryptError;
  }
  throw new Error('expected ConfigDecryptError');
}

/** No plaintext canary, key or ciphertext in what an error can show. */
function expectClean(err: Error, blob: Buffer, keys: string[] = [KEY_A, KEY_B, vectors.keyHex]): void {
  const shown = [err.message, String(err.stack), JSON.stringify(err), inspect(err)];
  for (const text of shown) {
    expect(text).not.toContain(CANARY);
    expect(text).not.toContain(blob.toString('hex').slice(0, 32));
    expect(text).not.toContain(blob.toString('base64').slice(0, 24));
    for (const key of keys) expect(text).not.toContain(key);
  }
}

describe('legacy vectors (original Python format)', () => {
  const cipher = new ConfigCipher(keyringFromEnv({ ENCRYPTION_MASTER_KEY: vectors.keyHex }));

  it('the fixture holds vectors and failures', () => {
    expect(vectors.vectors.length).toBeGreaterThanOrEqual(4);
    expect(vectors.mustFail.length).toBeGreaterThanOrEqual(5);
  });

  for (const [i, v] of vectors.vectors.entries()) {
    it(`vector ${i} decrypts to its config (decryptLegacy and decrypt with keyId 'legacy')`, () => {
      expect(cipher.decryptLegacy(Buffer.from(v.blobHex, 'hex'))).toEqual(v.config);
      expect(cipher.decrypt(Buffer.from(v.blobBase64, 'base64'), { ...binding, keyId: LEGACY_KEY_ID })).toEqual(v.config);
      // PGlite hands bytea back as a plain Uint8Array.
      expect(cipher.decryptLegacy(new Uint8Array(Buffer.from(v.blobHex, 'hex')))).toEqual(v.config);
    });
  }

  for (const f of vectors.mustFail) {
    it(`must fail: ${f.why}`, () => {
      const blob = Buffer.from(f.blobHex, 'hex');
      const err = decryptError(() => cipher.decryptLegacy(blob, 'conn-legacy'));
      expect(['BAD_FORMAT', 'AUTH_FAILED']).toContain(err.code);
      expect(err.message).toContain('conn-legacy');
      expectClean(err, blob);
      decryptError(() => cipher.decrypt(blob, { ...binding, keyId: LEGACY_KEY_ID }));
    });
  }

  it('decrypts with a previous key when the legacy key is no longer active', () => {
    const rotated = new ConfigCipher(keyringFromEnv({ ENCRYPTION_MASTER_KEY: KEY_A, ENCRYPTION_PREVIOUS_KEYS: vectors.keyHex }));
    const v = vectors.vectors[1]!;
    expect(rotated.decryptLegacy(Buffer.from(v.blobHex, 'hex'))).toEqual(v.config);
  });

  it('fails AUTH_FAILED when no loaded key matches', () => {
    const other = new ConfigCipher(new Keyring(KEY_A));
    const blob = Buffer.from(vectors.vectors[0]!.blobHex, 'hex');
    expect(decryptError(() => other.decryptLegacy(blob)).code).toBe('AUTH_FAILED');
  });

  it('a current-format blob is never read as legacy, nor a legacy blob as current (the row decides)', () => {
    const current = cipher.encrypt({ a: 1 }, binding);
    decryptError(() => cipher.decrypt(current.blob, { ...binding, keyId: LEGACY_KEY_ID }));
    const legacy = Buffer.from(vectors.vectors[0]!.blobHex, 'hex');
    decryptError(() => cipher.decrypt(legacy, { ...binding, keyId: current.keyId }));
  });
});

describe('ConfigCipher (current format)', () => {
  const ring = new Keyring(KEY_A);
  const cipher = new ConfigCipher(ring);
  const config = { host: 'erp.example.com', password: CANARY, nested: { list: [1, 'ü🔑', null, true] } };

  it('round-trips a config under the active key with a versioned header naming the key', () => {
    const { blob, keyId } = cipher.encrypt(config, binding);
    expect(keyId).toBe(keyIdOf(KEY_A));
    expect(blob[0]).toBe(0x01);
    expect(blob.subarray(1, 9).toString('hex')).toBe(keyId);
    expect(blob.includes(Buffer.from(CANARY))).toBe(false);
    expect(cipher.decrypt(blob, { ...binding, keyId })).toEqual(config);
    expect(cipher.decrypt(new Uint8Array(blob), { ...binding, keyId })).toEqual(config);
  });

  it('uses a fresh IV for every encryption', () => {
    const a = cipher.encrypt(config, binding).blob;
    const b = cipher.encrypt(config, binding).blob;
    expect(a.subarray(9, 21).equals(b.subarray(9, 21))).toBe(false);
    expect(a.equals(b)).toBe(false);
  });

  it('every single-bit flip of a ciphertext fails with ConfigDecryptError', () => {
    const { blob, keyId } = cipher.encrypt({ k: 'v' }, binding);
    let checked = 0;
    for (let byte = 0; byte < blob.length; byte++) {
      for (let bit = 0; bit < 8; bit++) {
        const flipped = Buffer.from(blob);
        flipped[byte]! ^= 1 << bit;
        const err = decryptError(() => cipher.decrypt(flipped, { ...binding, keyId }));
        expect(['BAD_FORMAT', 'AUTH_FAILED']).toContain(err.code);
        checked++;
      }
    }
    expect(checked).toBe(blob.length * 8);
    expect(cipher.decrypt(blob, { ...binding, keyId })).toEqual({ k: 'v' });
  });

  it('truncation and extension fail', () => {
    const { blob, keyId } = cipher.encrypt({ k: 'v' }, binding);
    for (let len = 0; len < blob.length; len++) decryptError(() => cipher.decrypt(blob.subarray(0, len), { ...binding, keyId }));
    decryptError(() => cipher.decrypt(Buffer.concat([blob, Buffer.from([0])]), { ...binding, keyId }));
  });

  it('a ciphertext moved to another connection, another org, or both fails AUTH_FAILED', () => {
    const { blob, keyId } = cipher.encrypt(config, binding);
    for (const other of [
      { orgId: 'org-1', connectionId: 'conn-2' },
      { orgId: 'org-2', connectionId: 'conn-1' },
      { orgId: 'org-2', connectionId: 'conn-2' },
      // Length prefixes: shifting characters between the fields must not give the same bytes.
      { orgId: 'org-1c', connectionId: 'onn-1' },
    ]) {
      const err = decryptError(() => cipher.decrypt(blob, { ...other, keyId }));
      expect(err.code).toBe('AUTH_FAILED');
      expect(err.message).toContain(other.connectionId);
      expectClean(err, blob);
    }
  });

  it('a key id that is not loaded is UNKNOWN_KEY; a row key id that differs from the blob is BAD_FORMAT', () => {
    const { blob } = cipher.encrypt(config, binding);
    const unknown = keyIdOf(KEY_B);
    const err = decryptError(() => cipher.decrypt(blob, { ...binding, keyId: unknown }));
    expect(err.code).toBe('UNKNOWN_KEY');
    expect(err.message).toContain(unknown);
    expectClean(err, blob);
    expect(decryptError(() => cipher.decrypt(blob, { ...binding, keyId: 'not-a-key-id' })).code).toBe('UNKNOWN_KEY');

    const both = new ConfigCipher(new Keyring(KEY_A, [KEY_B]));
    expect(decryptError(() => both.decrypt(blob, { ...binding, keyId: keyIdOf(KEY_B) })).code).toBe('BAD_FORMAT');
  });

  it('an unknown version is BAD_FORMAT', () => {
    const { blob, keyId } = cipher.encrypt(config, binding);
    const v2 = Buffer.from(blob);
    v2[0] = 0x02;
    expect(decryptError(() => cipher.decrypt(v2, { ...binding, keyId })).code).toBe('BAD_FORMAT');
  });

  it('the same key under another keyring decrypts; another active key does not', () => {
    const { blob, keyId } = cipher.encrypt(config, binding);
    expect(new ConfigCipher(new Keyring(KEY_A)).decrypt(blob, { ...binding, keyId })).toEqual(config);
    expect(decryptError(() => new ConfigCipher(new Keyring(KEY_B)).decrypt(blob, { ...binding, keyId })).code).toBe('UNKNOWN_KEY');
  });

  it('previous keys decrypt; encryption uses the active key; reencrypt moves a row to it', () => {
    const old = cipher.encrypt(config, binding);
    const rotated = new ConfigCipher(new Keyring(KEY_B, [KEY_A]));
    expect(rotated.decrypt(old.blob, { ...binding, keyId: old.keyId })).toEqual(config);
    expect(rotated.needsRotation(old.keyId)).toBe(true);
    expect(rotated.needsRotation(LEGACY_KEY_ID)).toBe(true);
    const fresh = rotated.reencrypt(old.blob, { ...binding, keyId: old.keyId });
    expect(fresh.keyId).toBe(keyIdOf(KEY_B));
    expect(rotated.needsRotation(fresh.keyId)).toBe(false);
    expect(new ConfigCipher(new Keyring(KEY_B)).decrypt(fresh.blob, { ...binding, keyId: fresh.keyId })).toEqual(config);
    // The binding stays: the rewritten row still cannot move.
    decryptError(() => rotated.decrypt(fresh.blob, { orgId: 'org-1', connectionId: 'conn-9', keyId: fresh.keyId }));
  });

  it('reencrypt turns a legacy row into the current format', () => {
    const legacyCipher = new ConfigCipher(new Keyring(KEY_A, [vectors.keyHex]));
    const v = vectors.vectors[1]!;
    const fresh = legacyCipher.reencrypt(Buffer.from(v.blobHex, 'hex'), { ...binding, keyId: LEGACY_KEY_ID });
    expect(fresh.keyId).toBe(keyIdOf(KEY_A));
    expect(legacyCipher.decrypt(fresh.blob, { ...binding, keyId: fresh.keyId })).toEqual(v.config);
  });

  it('authenticated plaintext that is not a JSON object is BAD_FORMAT without quoting it', () => {
    // Forge such a blob with the same format and key through a tiny re-implementation.
    const keyId = keyIdOf(KEY_A);
    const header = Buffer.concat([Buffer.from([1]), Buffer.from(keyId, 'hex')]);
    const lp = (s: string) => {
      const b = Buffer.from(s);
      const l = Buffer.alloc(4);
      l.writeUInt32BE(b.length);
      return Buffer.concat([l, b]);
    };
    for (const text of [`["${CANARY}"]`, `"${CANARY}"`, `{"a":"${CANARY}"`, 'null']) {
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', Buffer.from(KEY_A, 'hex'), iv, { authTagLength: 16 });
      c.setAAD(Buffer.concat([header, lp('erp_connection.config'), lp(binding.orgId), lp(binding.connectionId)]));
      const ct = Buffer.concat([c.update(text), c.final()]);
      const blob = Buffer.concat([header, iv, ct, c.getAuthTag()]);
      const err = decryptError(() => cipher.decrypt(blob, { ...binding, keyId }));
      expect(err.code).toBe('BAD_FORMAT');
      expectClean(err, blob);
    }
  });

  it('refuses to encrypt without a binding or a config object', () => {
    expect(() => cipher.encrypt(config, { orgId: '', connectionId: 'c' })).toThrow(TypeError);
    expect(() => cipher.encrypt([] as unknown as Record<string, unknown>, binding)).toThrow(TypeError);
  });

  it('maps to ERPC_ERR_CONFIG_DECRYPT_FAILED with the message exactly "Configuration error"', () => {
    const { blob, keyId } = cipher.encrypt(config, binding);
    const err = decryptError(() => cipher.decrypt(blob, { orgId: 'org-2', connectionId: 'conn-1', keyId })).toErpcError();
    expect(isErpcError(err)).toBe(true);
    expect(err.code).toBe('ERPC_ERR_CONFIG_DECRYPT_FAILED');
    expect(err.status).toBe(500);
    expect(err.toBody()).toEqual({ error: { code: 'ERPC_ERR_CONFIG_DECRYPT_FAILED', message: 'Configuration error' } });
  });

  it('the cipher prints no key', () => {
    for (const out of [JSON.stringify(cipher), inspect(cipher, { depth: null })]) expect(out).not.toContain(KEY_A);
  });
});
