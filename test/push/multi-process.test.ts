import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends, type TestDatabase } from '../../core/test/support/db.js';
import { ConfigCipher, keyringFromEnv } from '../../core/src/crypto/index.js';
import { ConnectorRegistry } from '../../core/src/plugins/connector-registry.js';
import { PushService } from '../../core/src/push/push-service.js';
import { Repositories } from '../../core/src/storage/index.js';
import { PushSignal } from '../../core/src/push/push-signal.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const postgres = testBackends().find((b) => b.name === 'postgres');
const TOTAL = 5_000;

/**
 * Scale-out on real PostgreSQL: three `erpc worker` processes (built dist) share one database;
 * one is SIGKILLed mid-run. Every push must end DELIVERED with exactly one file per push.
 * Skipped only without TEST_DATABASE_URL (CI always sets it).
 */
describe.skipIf(postgres === undefined)('three worker processes on PostgreSQL, one killed with SIGKILL', () => {
  let t: TestDatabase;
  let dropDir: string;
  const workers: ChildProcess[] = [];
  const stderr: string[] = [];

  beforeAll(async () => {
    t = await postgres!.open();
    dropDir = await mkdtemp(path.join(tmpdir(), 'erpc-mp-'));
  });
  afterAll(async () => {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    await t?.close();
    await rm(dropDir, { recursive: true, force: true });
  });

  const count = async (status: string) => Number((await t.db('push').where({ status }).count({ n: '*' }).first())!.n);
  const exited = (w: ChildProcess) =>
    new Promise<number | null>((resolve) => (w.exitCode !== null || w.signalCode !== null ? resolve(w.exitCode) : w.once('exit', (code) => resolve(code))));

  it('delivers 5,000 pushes to DROPZONE_JSON_V1 exactly once each', { timeout: 120_000 }, async () => {
    const masterKey = randomBytes(32).toString('hex');
    const cipher = new ConfigCipher(keyringFromEnv({ ENCRYPTION_MASTER_KEY: masterKey }));
    const orgId = randomUUID();
    const connectionId = randomUUID();
    const now = new Date();
    await t.db('organization').insert({ id: orgId, name: 'multi', created_at: now, updated_at: now });
    const { blob, keyId } = cipher.encrypt({ rootPath: dropDir, layout: 'flat' }, { orgId, connectionId });
    await t.db('erp_connection').insert({
      id: connectionId, org_id: orgId, connector_type: 'DROPZONE_JSON_V1', name: 'drop', status: 'ACTIVE',
      config_encrypted: blob, config_key_id: keyId, created_at: now, updated_at: now,
    });

    const env = {
      ...process.env,
      DATABASE_URL: t.url!,
      // This test is about scale-out, not the sandbox: the drop folder is a temp dir no grant covers.
      ERPC_PLUGIN_TRUSTED: 'DROPZONE_JSON_V1',
      ENCRYPTION_MASTER_KEY: masterKey,
      ERPC_PLUGIN_DIRS: path.join(repoRoot, 'plugins'),
      ERPC_LOG_LEVEL: 'warn',
      ERPC_PUSH_TIMEOUT_MS: '2000',
      ERPC_PUSH_LEASE_MS: '3000',
    };
    for (let i = 0; i < 3; i++) {
      const w = spawn(process.execPath, [path.join(repoRoot, 'core/dist/cli/main.js'), 'worker', '--concurrency', '8'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      w.stderr!.on('data', (d: Buffer) => stderr.push(String(d)));
      workers.push(w);
    }
    // Wait until all three say they are running.
    await Promise.all(
      workers.map(
        (w) => new Promise<void>((resolve, reject) => {
          w.stdout!.on('data', (d: Buffer) => String(d).includes('running') && resolve());
          w.once('exit', (code) => reject(new Error(`worker exited early (${code}): ${stderr.join('')}`)));
        }),
      ),
    );

    const registry = new ConnectorRegistry({ bind() {}, resolve: () => undefined });
    const service = new PushService(new Repositories(t.db), registry, { now: () => new Date() }, new PushSignal(), { databaseKind: 'postgres' });
    for (let start = 0; start < TOTAL; start += 500) {
      const batch = Array.from({ length: 500 }, (_, i) => ({ documentType: 'invoice', documentId: `INV-${start + i}`, payload: { n: start + i, lines: [{ sku: 'A', qty: 1 }] } }));
      const results = await service.acceptMany(orgId, batch);
      expect(results.every((r) => r.ok && r.created)).toBe(true);
    }

    // Kill one worker in the middle of the run.
    while ((await count('DELIVERED')) < TOTAL / 3) await new Promise((r) => setTimeout(r, 50));
    workers[0]!.kill('SIGKILL');
    expect(await exited(workers[0]!)).toBeNull();

    const deadline = Date.now() + 60_000;
    while ((await count('DELIVERED')) < TOTAL && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(await count('DELIVERED')).toBe(TOTAL);

    for (const w of workers.slice(1)) w.kill('SIGTERM');
    expect(await Promise.all(workers.slice(1).map(exited))).toEqual([0, 0]);

    const files = await readdir(dropDir);
    const json = files.filter((f) => f.endsWith('.json'));
    expect(files.filter((f) => !f.endsWith('.json'))).toEqual([]); // no temp files left behind
    expect(json).toHaveLength(TOTAL);
    const refs = (await t.db('push').select('external_ref')).map((r: { external_ref: string }) => r.external_ref);
    expect(new Set(refs).size).toBe(TOTAL);
    expect(new Set(json)).toEqual(new Set(refs));
    // Each file holds a different document (no duplicate deliveries under two names).
    const docIds = new Set<string>();
    for (const f of json.slice(0, 500)) docIds.add((JSON.parse(await readFile(path.join(dropDir, f), 'utf8')) as { documentId: string }).documentId);
    expect(docIds.size).toBe(500);
    const takenOver = Number((await t.db('push').where('attempts', '>', 1).count({ n: '*' }).first())!.n);
    process.stdout.write(`multi-process: ${takenOver} pushes delivered again after the killed worker's lease expired\n`);
  });
});
