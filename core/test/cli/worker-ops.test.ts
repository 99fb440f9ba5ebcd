import { execFile, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { ConnectorDefinition } from '@erpc/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mockDefinition from '../../../plugins/connector-mock/src/index.js';
import { openHost, type Host } from '../../src/container.js';
import { generateKey, keyringFromEnv } from '../../src/crypto/index.js';
import { createLogger } from '../../src/logging/logger.js';
import { registerFromSource, testConfig } from '../api/test-host.js';
import { createTestDatabase, testDatabaseUrl, type TestDatabase } from '../support/db.js';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const CLI = path.join(root, 'core/dist/cli/main.js');
const HEARTBEAT_MS = 200;

/**
 * Issue J's Done-when for workers (PostgreSQL only: `erpc worker` needs it): a real worker with
 * --http-port answers /livez, /readyz and /metrics (delivered counters after a run); `erpc
 * workers list --json` shows it live, and stale once it is SIGKILLed.
 */
describe.skipIf(testDatabaseUrl() === undefined)('erpc worker --http-port and heartbeats (PostgreSQL)', () => {
  let db: TestDatabase;
  let host: Host;
  let worker: ChildProcess | undefined;
  let env: Record<string, string>;
  const key = generateKey();

  beforeAll(async () => {
    db = await createTestDatabase('postgres');
    host = await openHost(testConfig(), {
      db: db.db,
      keyring: keyringFromEnv({ ENCRYPTION_MASTER_KEY: key }),
      logger: createLogger({ level: 'silent' }),
      plugins: (registry, services) => registerFromSource(registry, services, 'connector-mock', mockDefinition as ConnectorDefinition<unknown>),
    });
    env = {
      PATH: process.env.PATH ?? '',
      NODE_NO_WARNINGS: '1',
      DATABASE_URL: db.url!,
      ENCRYPTION_MASTER_KEY: key,
      ERPC_PLUGIN_DIRS: path.join(root, 'plugins'),
      ERPC_WORKER_HEARTBEAT_MS: String(HEARTBEAT_MS),
      ERPC_LOG_LEVEL: 'warn',
    };
  });

  afterAll(async () => {
    if (worker !== undefined && worker.exitCode === null && worker.signalCode === null) {
      const gone = new Promise((r) => worker!.once('exit', r));
      worker.kill('SIGKILL');
      await gone;
    }
    await host?.close();
    await db?.destroy();
  });

  const workersList = async () => JSON.parse((await run(process.execPath, [CLI, 'workers', 'list', '--json'], { env })).stdout) as {
    workers: { id: string; host: string; pid: number; startedAt: string; lastSeenAt: string; inFlight: number; status: string }[];
  };

  it('serves /livez, /readyz and /metrics, shows in `workers list`, and turns stale when killed', async () => {
    const { org } = await host.services.organizations.create('Acme');
    await host.services.connections.create(org.id, { connectorType: 'MOCK', name: 'm', config: {}, activate: true });
    const { push } = await host.services.pushes.accept(org.id, { documentType: 'invoice', documentId: 'INV-1', payload: { total: '1.00' } });

    worker = spawn(process.execPath, [CLI, 'worker', '--http-port', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    worker.stderr!.on('data', (c: Buffer) => (stderr += String(c)));
    const base = await new Promise<string>((resolve, reject) => {
      let out = '';
      worker!.stdout!.on('data', (c: Buffer) => {
        out += String(c);
        const m = /health and metrics on (http:\/\/\S+?)\)/.exec(out);
        if (m) resolve(m[1]!);
      });
      worker!.once('exit', (code) => reject(new Error(`worker exited with ${code}: ${stderr}`)));
    });
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    expect((await fetch(`${base}/livez`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ok', checks: { database: 'ok', keys: 'ok', plugins: 'ok', shutdown: 'ok' } });

    let status = '';
    for (let i = 0; i < 100 && status !== 'DELIVERED'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      status = (await host.services.pushes.get(org.id, push.id)).status;
    }
    expect(status).toBe('DELIVERED');
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^erpc_pushes_delivered_total\{connector_type="MOCK"\} 1$/m);
    expect(metrics).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(metrics).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
    expect(metrics).not.toMatch(/^erpc_process_|^erpc_nodejs_/m);

    const live = await workersList();
    expect(live.workers).toEqual([
      { id: expect.stringContaining(`:${worker.pid}:`), host: expect.any(String), pid: worker.pid, startedAt: expect.any(String), lastSeenAt: expect.any(String), inFlight: 0, status: 'live' },
    ]);

    const gone = new Promise((r) => worker!.once('exit', r));
    worker.kill('SIGKILL');
    await gone;
    await new Promise((r) => setTimeout(r, HEARTBEAT_MS * 3 + 400));
    const stale = await workersList();
    expect(stale.workers).toEqual([expect.objectContaining({ id: live.workers[0]!.id, pid: worker.pid, status: 'stale' })]);
  }, 60_000);
});
