import { chmod, mkdtemp, readFile, rm, stat, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigCipher, keyIdOf, keyringFromEnv, loadOrCreateLocalKey } from '../../src/crypto/index.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'erpc-local-key-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe.skipIf(process.platform === 'win32')('loadOrCreateLocalKey', () => {
  it('creates <dataDir>/encryption.key with mode 0600 on first start and reuses it afterwards', async () => {
    const dataDir = join(root, 'nested', 'data');
    const first = await loadOrCreateLocalKey(dataDir);
    expect(first.created).toBe(true);
    expect(first.key).toMatch(/^[0-9a-f]{64}$/);
    expect(first.keyId).toBe(keyIdOf(first.key));
    expect(first.path).toBe(join(dataDir, 'encryption.key'));
    expect((await stat(first.path)).mode & 0o777).toBe(0o600);
    expect((await readFile(first.path, 'utf8')).trim()).toBe(first.key);

    const second = await loadOrCreateLocalKey(dataDir);
    expect(second.created).toBe(false);
    expect(second.key).toBe(first.key);
    // No temporary files left behind.
    expect(await readdir(dataDir)).toEqual(['encryption.key']);

    // The key works as ENCRYPTION_MASTER_KEY, and configs survive a restart.
    const before = new ConfigCipher(keyringFromEnv({ ENCRYPTION_MASTER_KEY: first.key }));
    const stored = before.encrypt({ password: 'x' }, { orgId: 'o', connectionId: 'c' });
    const after = new ConfigCipher(keyringFromEnv({ ENCRYPTION_MASTER_KEY: second.key }));
    expect(after.decrypt(stored.blob, { orgId: 'o', connectionId: 'c', keyId: stored.keyId })).toEqual({ password: 'x' });
  });

  it('concurrent first starts agree on one key', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateLocalKey(root)));
    expect(new Set(results.map((r) => r.key)).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
  });

  it('refuses a key file that group or others can read, without printing the key', async () => {
    const { key, path } = await loadOrCreateLocalKey(root);
    await chmod(path, 0o644);
    const err = await loadOrCreateLocalKey(root).catch((e: unknown) => e as Error & { code: string });
    expect(err).toMatchObject({ code: 'ERPC_ERR_KEY_FILE_INSECURE' });
    expect(err.message).toContain('0644');
    expect(err.message).toContain(`chmod 600 ${path}`);
    expect(err.message).not.toContain(key);
  });

  it('a malformed key file is ERPC_ERR_KEY_INVALID without its content', async () => {
    const canary = 'feedface'.repeat(7);
    await writeFile(join(root, 'encryption.key'), `${canary}\n`, { mode: 0o600 });
    const err = await loadOrCreateLocalKey(root).catch((e: unknown) => e as Error & { code: string });
    expect(err).toMatchObject({ code: 'ERPC_ERR_KEY_INVALID' });
    expect(err.message).toContain('encryption.key');
    expect(err.message).not.toContain(canary);
    expect(String(err.stack)).not.toContain(canary);
  });

  it('a data dir that cannot be created is ERPC_ERR_KEY_FILE_UNREADABLE', async () => {
    await writeFile(join(root, 'file'), 'not a dir');
    await expect(loadOrCreateLocalKey(join(root, 'file', 'data'))).rejects.toMatchObject({ code: 'ERPC_ERR_KEY_FILE_UNREADABLE' });
  });
});
