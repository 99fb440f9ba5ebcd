import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { ConnectionRepository } from '../../src/storage/index.js';
import { afterEach, describe, expect, it } from 'vitest';
import { createDatabase, migrateLatest } from '../../src/storage/index.js';
import { KeyRotationService, readKeyStatus } from '../../src/keys/index.js';
import { loadHostConfig } from '../../src/settings/index.js';
import { openHost } from '../../src/container.js';
import type { ConnectionService } from '../../src/connections/connection-service.js';
import type { Keyring } from '../../src/crypto/index.js';
import { createLogger } from '../../src/logging/logger.js';
import { testBackends, type TestBackend, type TestDatabase } from '../support/db.js';
import {
  KEY_A,
  KEY_B,
  cipherFor,
  installRewriteCounter,
  installSlowUpdates,
  readConfigs,
  runCli,
  seedConnections,
  seededConfig,
  FIXTURE_PLUGINS,
} from './support.js';

/** The real ConnectionService over `db`, with the permissive fixture connector loaded. */
async function connectionServiceFor(db: Knex, keyring: Keyring): Promise<ConnectionService> {
  const host = await openHost(loadHostConfig({ env: { ERPC_PLUGIN_DIRS: FIXTURE_PLUGINS } }), { db, keyring, logger: createLogger({ level: 'silent' }) });
  return host.services.connections;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function open(backend: TestBackend): Promise<TestDatabase> {
  const t = await backend.open();
  cleanups.push(() => t.close());
  return t;
}

/**
 * A database another process can open: PostgreSQL by URL; PGlite in a temp ERPC_DATA_DIR, which
 * the test must close (`release`) before a child opens it (PGlite is single-process).
 */
async function openShared(backend: TestBackend): Promise<{ db: Knex; env: Record<string, string>; release(): Promise<void>; reopen(): Promise<Knex> }> {
  if (backend.name === 'postgres') {
    const t = await open(backend);
    return { db: t.db, env: { DATABASE_URL: t.url! }, release: async () => undefined, reopen: async () => t.db };
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'erpc-rotate-'));
  let db: Knex | undefined = await createDatabase({ dataDir: dir });
  await migrateLatest(db);
  cleanups.push(async () => {
    await db?.destroy();
    await rm(dir, { recursive: true, force: true });
  });
  const first = db;
  return {
    db: first,
    env: { ERPC_DATA_DIR: dir },
    release: async () => {
      await db?.destroy();
      db = undefined;
    },
    reopen: async () => {
      db = await createDatabase({ dataDir: dir });
      return db;
    },
  };
}

describe.each(testBackends())('key rotation on $name', (backend) => {
  it('rewrites every row under the active key in batches, configs unchanged; a dry run writes nothing', async () => {
    const { db } = await open(backend);
    const { ids } = await seedConnections(db, cipherFor(KEY_A).cipher, 250);
    const { keyring, cipher } = cipherFor(KEY_B, [KEY_A]);
    const service = new KeyRotationService(new ConnectionRepository(db), keyring, cipher);

    const dry = await service.rotate({ batchSize: 100, dryRun: true });
    expect(dry).toMatchObject({ total: 250, rotated: 250, failed: [], dryRun: true });
    expect((await readKeyStatus(new ConnectionRepository(db), keyring, cipher)).rowsToRotate).toBe(250);

    const progress: number[] = [];
    const report = await service.rotate({ batchSize: 100, onProgress: (p) => void progress.push(p.done) });
    expect(report).toMatchObject({ total: 250, rotated: 250, failed: [], batches: 3, remaining: 0, aborted: false });
    expect(progress).toEqual([100, 200, 250]);
    // Decrypt with the new key alone: every row is really under B, with its config intact.
    const after = await readConfigs(db, cipherFor(KEY_B).cipher);
    expect(after.size).toBe(250);
    ids.forEach((id, i) => expect(after.get(id)).toEqual({ keyId: keyring.activeKeyId, config: seededConfig(i) }));
    // A rerun has nothing left to do.
    expect(await service.rotate({ batchSize: 100 })).toMatchObject({ total: 0, rotated: 0, batches: 0 });
  }, 180_000);

  it('keeps a PATCH (ConnectionService.update) made during rotation', async () => {
    const { db } = await open(backend);
    const { orgId, ids } = await seedConnections(db, cipherFor(KEY_A).cipher, 250);
    const { keyring, cipher } = cipherFor(KEY_B, [KEY_A]);
    const connections = await connectionServiceFor(db, keyring);
    const sorted = [...ids].sort();
    const notYetRotated = sorted.at(-1)!; // claimed last (id order)
    const lockedByBatch = sorted[150]!; // in the second batch
    let inFlight: Promise<unknown> | undefined;
    const report = await new KeyRotationService(new ConnectionRepository(db), keyring, cipher).rotate({
      batchSize: 100,
      onClaimed: (claimed) => {
        // PostgreSQL: a PATCH of a row the batch holds locked; it waits for the batch and then writes.
        if (backend.name === 'postgres' && claimed.includes(lockedByBatch)) {
          inFlight = connections.update(orgId, lockedByBatch, { config: { apiKey: 'patched-while-locked' } });
        }
      },
      onProgress: async (p) => {
        // Between batches: a PATCH of a row not rotated yet (it is written under the active key).
        if (p.batches === 1) await connections.update(orgId, notYetRotated, { config: { apiKey: 'patched-between-batches' } });
      },
    });
    await inFlight;
    expect(report.failed).toEqual([]);
    const after = await readConfigs(db, cipherFor(KEY_B).cipher);
    expect(after.get(notYetRotated)!.config).toEqual({ ...seededConfig(ids.indexOf(notYetRotated)), apiKey: 'patched-between-batches' });
    if (backend.name === 'postgres') {
      expect(after.get(lockedByBatch)!.config).toEqual({ ...seededConfig(ids.indexOf(lockedByBatch)), apiKey: 'patched-while-locked' });
    }
    // Nothing else changed, every row is under the active key.
    for (const [id, v] of after) {
      expect(v.keyId).toBe(keyring.activeKeyId);
      if (id !== notYetRotated && id !== lockedByBatch) expect(v.config).toEqual(seededConfig(ids.indexOf(id)));
    }
  }, 180_000);

  it('two rotations at once rewrite every row exactly once', async () => {
    const t = await open(backend);
    const db = t.db;
    await seedConnections(db, cipherFor(KEY_A).cipher, 600);
    await installRewriteCounter(db);
    const { keyring, cipher } = cipherFor(KEY_B, [KEY_A]);
    // PostgreSQL: two pools, truly concurrent. PGlite (one connection): the transactions interleave.
    const other = backend.name === 'postgres' ? await createDatabase({ url: t.url! }) : db;
    if (other !== db) cleanups.push(() => other.destroy());
    // Deterministic overlap: the first run holds its first batch until the second has claimed one.
    let secondClaimed!: () => void;
    const secondHasClaimed = new Promise<void>((resolve) => (secondClaimed = resolve));
    let firstBatch = true;
    const [r1, r2] = await Promise.all([
      new KeyRotationService(new ConnectionRepository(db), keyring, cipher).rotate({
        batchSize: 50,
        onClaimed: async () => {
          if (firstBatch && backend.name === 'postgres') {
            firstBatch = false;
            await secondHasClaimed;
          }
        },
      }),
      new KeyRotationService(new ConnectionRepository(other), keyring, cipher).rotate({ batchSize: 50, onClaimed: () => secondClaimed() }),
    ]);
    expect(r1.failed).toEqual([]);
    expect(r2.failed).toEqual([]);
    expect(r1.rotated + r2.rotated).toBe(600);
    if (backend.name === 'postgres') {
      expect(r1.rotated).toBeGreaterThan(0);
      expect(r2.rotated).toBeGreaterThan(0);
    }
    const counts = await db('rewrite_count').select('n').count({ rows: '*' }).groupBy('n');
    expect(counts.map((c) => ({ n: Number(c.n), rows: Number(c.rows) }))).toEqual([{ n: 1, rows: 600 }]);
    const status = await readKeyStatus(new ConnectionRepository(db), keyring, cipher);
    expect(status.keys).toEqual([{ keyId: keyring.activeKeyId, rows: 600, loaded: true, active: true }]);
  }, 180_000);

  it('reports a corrupted row and a row under an unknown key by id and code, rotates the rest', async () => {
    const { db } = await open(backend);
    const { ids } = await seedConnections(db, cipherFor(KEY_A).cipher, 120);
    const { ids: lost } = await seedConnections(db, cipherFor('c'.repeat(64)).cipher, 2);
    const corrupted = ids[7]!;
    const row = await db('erp_connection').where({ id: corrupted }).first();
    const blob = Buffer.from(row.config_encrypted);
    blob[blob.length - 1]! ^= 0x01;
    await db('erp_connection').where({ id: corrupted }).update({ config_encrypted: blob });
    const { keyring, cipher } = cipherFor(KEY_B, [KEY_A]);
    const report = await new KeyRotationService(new ConnectionRepository(db), keyring, cipher).rotate({ batchSize: 50 });
    expect(report.rotated).toBe(119);
    expect(report.failed).toHaveLength(3);
    expect(report.failed).toEqual(
      expect.arrayContaining([
        { connectionId: corrupted, code: 'AUTH_FAILED' },
        ...lost.map((id) => ({ connectionId: id, code: 'UNKNOWN_KEY' })),
      ]),
    );
    // 120 rows in batches of 50 → 3 batches: the failed row was not claimed again and again.
    expect(report.batches).toBe(3);
    expect(JSON.stringify(report)).not.toMatch(/canary/);
  }, 180_000);

  it('CLI: killed after 3 batches, rerun finishes; every config identical; a corrupted row exits 1', async () => {
    const shared = await openShared(backend);
    const { ids } = await seedConnections(shared.db, cipherFor(KEY_A).cipher, 1050);
    // Each UPDATE takes 0.3 s, so the kill lands inside a batch's open transaction.
    await installSlowUpdates(shared.db, 0.3);
    await shared.release();
    const env = { ...shared.env, ENCRYPTION_MASTER_KEY: KEY_B, ENCRYPTION_PREVIOUS_KEYS: KEY_A };

    const lines: string[] = [];
    const killed = await runCli(['keys', 'rotate', '--batch-size', '100'], env, (line, child) => {
      if (/^rotated \d+\/1050 \(batch \d+, \d+ rows\/s, ETA \d+s\)$/.test(line)) lines.push(line);
      if (lines.length === 3) child.kill('SIGKILL');
    });
    expect(killed.signal).toBe('SIGKILL');
    expect(lines[2]).toMatch(/^rotated 300\/1050 /);

    let db = await shared.reopen();
    const { keyring } = cipherFor(KEY_B, [KEY_A]);
    const mid = await db('erp_connection').where('config_key_id', keyring.activeKeyId).count({ n: '*' }).first();
    const rotatedBeforeKill = Number(mid!.n);
    expect(rotatedBeforeKill % 100).toBe(0); // whole batches only: the one in flight rolled back
    expect(rotatedBeforeKill).toBeGreaterThanOrEqual(300);
    expect(rotatedBeforeKill).toBeLessThan(1050);
    await db.raw('DROP TRIGGER slow_update ON erp_connection');
    // Corrupt one row that is not rotated yet: the rerun rotates the rest, reports it, exits 1.
    const pending = await db('erp_connection').whereNot('config_key_id', keyring.activeKeyId).orderBy('id').first();
    const blob = Buffer.from(pending.config_encrypted);
    blob[20]! ^= 0xff;
    await db('erp_connection').where({ id: pending.id }).update({ config_encrypted: blob });
    await shared.release();

    const rerun = await runCli(['keys', 'rotate', '--batch-size', '100'], env);
    expect(rerun.code).toBe(1);
    expect(rerun.stdout).toContain(`failed connection ${pending.id}: AUTH_FAILED`);
    expect(rerun.stderr).toContain('ERPC_ERR_KEY_ROTATION_INCOMPLETE');
    expect(rerun.stdout + rerun.stderr).not.toMatch(/canary|aaaaaaaa|bbbbbbbb/);

    db = await shared.reopen();
    const rows = await db('erp_connection').select('id', 'org_id', 'config_key_id', 'config_encrypted');
    const b = cipherFor(KEY_B).cipher;
    for (const r of rows) {
      if (r.id === pending.id) {
        expect(r.config_key_id).not.toBe(keyring.activeKeyId);
        continue;
      }
      expect(r.config_key_id).toBe(keyring.activeKeyId);
      expect(b.decrypt(r.config_encrypted, { orgId: r.org_id, connectionId: r.id, keyId: r.config_key_id })).toEqual(seededConfig(ids.indexOf(r.id)));
    }
  }, 300_000);
});
