import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { keyIdOf } from '../../src/crypto/index.js';
import { createDatabase, migrateLatest } from '../../src/storage/index.js';
import { testBackends, type TestBackend } from '../support/db.js';
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { encryptSecrets, generateWebhookSecret } from '../../src/webhooks/webhook-secret.js';
import { KEY_A, KEY_B, cipherFor, runCli, seedConnections } from './support.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** A database seeded by `seed`, closed again, and the env a child process reaches it with. */
async function seededDatabase(backend: TestBackend, seed: (db: Knex) => Promise<void>): Promise<Record<string, string>> {
  if (backend.name === 'postgres') {
    const t = await backend.open();
    cleanups.push(() => t.close());
    await seed(t.db);
    return { DATABASE_URL: t.url! };
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'erpc-startup-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const db = await createDatabase({ dataDir: dir });
  await migrateLatest(db);
  await seed(db);
  await db.destroy();
  return { ERPC_DATA_DIR: dir };
}

/** A database with 7 rows under key A. */
async function databaseWithRowsUnderA(backend: TestBackend): Promise<Record<string, string>> {
  return seededDatabase(backend, async (db) => void (await seedConnections(db, cipherFor(KEY_A).cipher, 7)));
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

  it('counts webhook signing secrets too: one endpoint whose secret is under a key that is not loaded is missing; rotated, it is not', async () => {
    // Every connection under key B (the active key); one webhook endpoint's secret still under key A.
    const env = {
      ...(await seededDatabase(backend, async (db) => {
        const { orgId } = await seedConnections(db, cipherFor(KEY_B).cipher, 3);
        const id = randomUUID();
        const now = new Date();
        const secret = encryptSecrets(cipherFor(KEY_A).cipher, orgId, id, { current: generateWebhookSecret() });
        await db('webhook_endpoint').insert({
          id, org_id: orgId, url: 'https://receiver.example/hook', description: '', events: ['push.delivered'], enabled: true,
          secret_encrypted: secret.blob, secret_key_id: secret.keyId, created_at: now, updated_at: now,
        });
      })),
      ENCRYPTION_MASTER_KEY: KEY_B,
    };
    const run = await runCli(['keys', 'status', '--json'], env);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({
      keys: [{ keyId: keyIdOf(KEY_A), rows: 1, loaded: false }, { keyId: keyIdOf(KEY_B), rows: 3, loaded: true, active: true }],
      missing: [{ keyId: keyIdOf(KEY_A), rows: 1 }],
      rowsToRotate: 1,
    });
    const refused = await runCli(['serve', '--port', '0', '--no-worker'], { ...env, ERPC_LOG_LEVEL: 'warn' });
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain(`1 row(s) under key id ${keyIdOf(KEY_A)}`);
    // With key A as a previous key: one row to rotate; `keys rotate` rewrites it; then nothing is left under A.
    const withA = { ...env, ENCRYPTION_PREVIOUS_KEYS: KEY_A };
    expect((await runCli(['keys', 'status'], withA)).stdout).toContain('1 row(s) are not under the active key');
    expect((await runCli(['keys', 'rotate'], withA)).code).toBe(0);
    const after = await runCli(['keys', 'status', '--json'], env);
    expect(after.code).toBe(0);
    expect(JSON.parse(after.stdout)).toMatchObject({ keys: [{ keyId: keyIdOf(KEY_B), rows: 4 }], missing: [], rowsToRotate: 0 });
  }, 180_000);
});
