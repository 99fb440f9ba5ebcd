import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { keyIdOf } from '../../src/crypto/index.js';
import { createDatabase, migrateLatest } from '../../src/storage/index.js';
import { testBackends, type TestBackend } from '../support/db.js';
import { KEY_A, KEY_B, cipherFor, runCli, seedConnections } from './support.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** A database with 7 rows under key A, closed again, and the env a child process reaches it with. */
async function databaseWithRowsUnderA(backend: TestBackend): Promise<Record<string, string>> {
  if (backend.name === 'postgres') {
    const t = await backend.open();
    cleanups.push(() => t.close());
    await seedConnections(t.db, cipherFor(KEY_A).cipher, 7);
    return { DATABASE_URL: t.url! };
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'erpc-startup-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const db = await createDatabase({ dataDir: dir });
  await migrateLatest(db);
  await seedConnections(db, cipherFor(KEY_A).cipher, 7);
  await db.destroy();
  return { ERPC_DATA_DIR: dir };
}

describe.each(testBackends())('start-up key check on $name', (backend) => {
  it('erpc serve refuses to start with the wrong key, naming the missing key id and row count; the override starts it, /healthz 503', async () => {
    const env = { ...(await databaseWithRowsUnderA(backend)), ENCRYPTION_MASTER_KEY: KEY_B, ERPC_LOG_LEVEL: 'warn' };
    let listening = false;
    const refused = await runCli(['serve', '--port', '0', '--no-worker'], env, (line) => {
      if (line.includes('listening')) listening = true;
    });
    expect(refused.code).toBe(3);
    expect(listening).toBe(false);
    expect(refused.stderr).toContain('error ERPC_ERR_KEY_NOT_LOADED');
    expect(refused.stderr).toContain(`7 row(s) under key id ${keyIdOf(KEY_A)}`);
    expect(refused.stdout + refused.stderr).not.toMatch(/aaaaaaaa|bbbbbbbb|canary/);

    // With the override it starts, logs a warning, and /healthz reports the same, with 503.
    let health: { status: number; body: unknown } | undefined;
    const started = await runCli(['serve', '--port', '0', '--no-worker'], { ...env, ERPC_ALLOW_MISSING_KEYS: '1' }, (line, child) => {
      const m = /listening on (http:\/\/\S+)/.exec(line);
      if (m === null) return;
      void fetch(`${m[1]}/healthz`)
        .then(async (res) => (health = { status: res.status, body: await res.json() }))
        .finally(() => child.kill('SIGTERM'));
    });
    expect(started.code).toBe(0);
    expect(started.stderr).toContain('ERPC_ERR_KEY_NOT_LOADED');
    expect(health?.status).toBe(503);
    expect(health?.body).toMatchObject({
      status: 'fail',
      checks: { keys: 'fail' },
      details: { keys: { active: keyIdOf(KEY_B), missing: [{ keyId: keyIdOf(KEY_A), rows: 7 }] } },
    });

    // With the old key as a previous key it starts normally and /healthz is 200.
    let healthy: number | undefined;
    const ok = await runCli(['serve', '--port', '0', '--no-worker'], { ...env, ENCRYPTION_PREVIOUS_KEYS: KEY_A }, (line, child) => {
      const m = /listening on (http:\/\/\S+)/.exec(line);
      if (m === null) return;
      void fetch(`${m[1]}/healthz`)
        .then((res) => (healthy = res.status))
        .finally(() => child.kill('SIGTERM'));
    });
    expect(ok.code).toBe(0);
    expect(healthy).toBe(200);
  }, 180_000);

  it('keys status exits 1 and flags the rows whose key is not loaded', async () => {
    const env = { ...(await databaseWithRowsUnderA(backend)), ENCRYPTION_MASTER_KEY: KEY_B };
    const run = await runCli(['keys', 'status', '--json'], env);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({
      activeKeyId: keyIdOf(KEY_B),
      loadedKeyIds: [keyIdOf(KEY_B)],
      keys: [{ keyId: keyIdOf(KEY_A), rows: 7, loaded: false, active: false }],
      missing: [{ keyId: keyIdOf(KEY_A), rows: 7 }],
      rowsToRotate: 7,
    });
    const fine = await runCli(['keys', 'status'], { ...env, ENCRYPTION_PREVIOUS_KEYS: KEY_A });
    expect(fine.code).toBe(0);
    expect(fine.stdout).toContain('7 row(s) are not under the active key');
  }, 120_000);
});
