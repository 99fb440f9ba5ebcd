import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { ConfigCipher, Keyring, generateKey } from '../../src/crypto/index.js';
import { ConnectionConfigCache } from '../../src/plugins/connection-config-cache.js';
import { isErpcError } from '../../src/errors/index.js';

const schema = { type: 'object', properties: { host: { type: 'string' }, apiKey: { type: 'string', writeOnly: true } } };

function setup(config: Record<string, unknown> = { host: 'h', apiKey: 'CANARY-cache-1' }) {
  const cipher = new ConfigCipher(new Keyring(generateKey()));
  const decrypt = vi.spyOn(cipher, 'decrypt');
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(s) });
  const id = randomUUID();
  const orgId = randomUUID();
  const { blob, keyId } = cipher.encrypt(config, { orgId, connectionId: id });
  const row = { id, orgId, connectorType: 'MOCK', configEncrypted: blob, configKeyId: keyId };
  return { cipher, decrypt, logger, lines, row };
}

describe('ConnectionConfigCache', () => {
  it('decrypts a row once for many operations, deep-frozen, with the secret list and the scrubbing logger', () => {
    const { cipher, decrypt, logger, lines, row } = setup();
    const cache = new ConnectionConfigCache();
    const resolved = [1, 2, 3].map(() => cache.resolve(cipher, row, { logger, configSchema: schema }));
    expect(decrypt).toHaveBeenCalledTimes(1);
    expect(resolved[0]!.config).toBe(resolved[2]!.config);
    expect(Object.isFrozen(resolved[0]!.config)).toBe(true);
    expect(resolved[0]!.secrets).toEqual(['CANARY-cache-1']);
    resolved[2]!.logger.info('using CANARY-cache-1');
    expect(lines.join('')).toContain('[REDACTED]');
    expect(lines.join('')).not.toContain('CANARY-cache-1');
  });

  it('a new ciphertext or key id for the same connection is a miss: the new config is used at once', () => {
    const { cipher, decrypt, logger, row } = setup();
    const cache = new ConnectionConfigCache();
    const opts = { logger, configSchema: schema };
    cache.resolve(cipher, row, opts);
    const changed = cipher.encrypt({ host: 'other', apiKey: 'CANARY-cache-2' }, { orgId: row.orgId, connectionId: row.id });
    const resolved = cache.resolve(cipher, { ...row, configEncrypted: changed.blob, configKeyId: changed.keyId }, opts);
    expect(resolved.config).toEqual({ host: 'other', apiKey: 'CANARY-cache-2' });
    expect(decrypt).toHaveBeenCalledTimes(2);
    // Same bytes under another key id (as a rotation would label them): not trusted, decrypted again (and fails).
    expect(() => cache.resolve(cipher, { ...row, configEncrypted: changed.blob, configKeyId: 'k-other' }, opts)).toThrow();
    expect(decrypt).toHaveBeenCalledTimes(3);
  });

  it('entries expire after ttlMs, another cipher is a miss, and the oldest entry goes beyond maxEntries', () => {
    const { cipher, decrypt, logger, row } = setup();
    let now = 0;
    const cache = new ConnectionConfigCache({ ttlMs: 1000, maxEntries: 2, now: () => now });
    const opts = { logger, configSchema: schema };
    cache.resolve(cipher, row, opts);
    now = 999;
    cache.resolve(cipher, row, opts);
    expect(decrypt).toHaveBeenCalledTimes(1);
    now = 1000;
    cache.resolve(cipher, row, opts);
    expect(decrypt).toHaveBeenCalledTimes(2);

    const other = setup();
    expect(() => cache.resolve(other.cipher, row, opts)).toThrow(); // another keyring cannot decrypt it
    expect(other.decrypt).toHaveBeenCalledTimes(1);

    const rows = [1, 2].map((n) => {
      const id = randomUUID();
      const { blob, keyId } = cipher.encrypt({ host: `h${n}` }, { orgId: row.orgId, connectionId: id });
      return { ...row, id, configEncrypted: blob, configKeyId: keyId };
    });
    for (const r of rows) cache.resolve(cipher, r, opts);
    expect(cache.size).toBe(2);
    decrypt.mockClear();
    cache.resolve(cipher, row, opts); // evicted by the two newer ones
    expect(decrypt).toHaveBeenCalledTimes(1);
  });

  it('never caches a failure, and never shows a secret when inspected or serialised', () => {
    const { cipher, decrypt, logger, lines, row } = setup();
    const cache = new ConnectionConfigCache();
    const opts = { logger, configSchema: schema };
    const broken = Buffer.from(row.configEncrypted);
    broken[broken.length - 1]! ^= 0x01;
    for (let i = 0; i < 2; i++) {
      let caught: unknown;
      try {
        cache.resolve(cipher, { ...row, configEncrypted: broken }, opts);
      } catch (err) {
        caught = err;
      }
      expect(isErpcError(caught) && caught.code).toBe('ERPC_ERR_CONFIG_DECRYPT_FAILED');
    }
    expect(decrypt).toHaveBeenCalledTimes(2);
    expect(cache.size).toBe(0);
    cache.resolve(cipher, row, opts);
    expect(cache.size).toBe(1);
    expect(JSON.stringify(cache)).not.toContain('CANARY-cache-1');
    expect(inspect(cache, { depth: 10, showHidden: true })).not.toContain('CANARY-cache-1');
    expect(lines.join('')).not.toContain('CANARY-cache-1');
    cache.clear();
    expect(cache.size).toBe(0);
  });
});
