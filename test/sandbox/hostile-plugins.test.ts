import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { testBackends, type TestDatabase } from '../../core/test/support/db.js';
import { buildApp } from '../../core/src/api/app.js';
import { openHost, openPluginHost, type Host, type PushRuntime } from '../../core/src/container.js';
import { keyringFromEnv } from '../../core/src/crypto/index.js';
import { createLogger } from '../../core/src/logging/logger.js';
import { RetryPolicy } from '../../core/src/push/retry-policy.js';
import { loadHostConfig } from '../../core/src/settings/index.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const FIXTURES = path.join(repoRoot, 'test/fixtures/sandbox');
const MOCK = path.join(repoRoot, 'plugins/connector-mock');

/** A plugins folder holding only the given fixtures (as links); removed after the file's tests. */
const fixtureFolders: string[] = [];
afterAll(async () => {
  await Promise.all(fixtureFolders.map((f) => rm(f, { recursive: true, force: true })));
});
async function folderOf(...fixtures: string[]): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'erpc-fixtures-'));
  fixtureFolders.push(dir);
  await chmod(dir, 0o755);
  for (const f of fixtures) await symlink(f === 'MOCK' ? MOCK : path.join(FIXTURES, f), path.join(dir, f === 'MOCK' ? 'connector-mock' : f));
  return dir;
}
/** `step`, or an error naming it when it has not settled within 20 s. */
async function within(label: string, step: Promise<unknown> | undefined): Promise<void> {
  if (step === undefined) return;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${label} did not finish within 20 s`)), 20_000)));
  try {
    await Promise.race([step, late]);
  } finally {
    clearTimeout(timer);
  }
}
const MASTER_KEY = randomBytes(32).toString('hex');
const CANARY = `canary-${randomBytes(8).toString('hex')}`;
const backend = testBackends()[0]!;

/**
 * Runtime-hostile plugins, each beside a control organisation on another plugin (MOCK), on a real
 * listening server: the host answers /healthz throughout, every control push is delivered with
 * attempts 1, the innocent pushes of the hostile plugin are delivered uncharged, and the hostile
 * push ends as docs/security.md says.
 */
describe.each(testBackends())('plugin sandbox: hostile plugins are contained, on $name', (backend) => {
  let t: TestDatabase;
  let dataDir: string;
  let host: Host | undefined;
  let app: FastifyInstance | undefined;
  let runtime: PushRuntime | undefined;
  let logs: string[];
  let health: number[];
  let probe: NodeJS.Timeout | undefined;

  beforeAll(async () => {
    t = await backend.open();
    dataDir = await mkdtemp(path.join(tmpdir(), 'erpc-sandbox-'));
  });
  afterAll(async () => {
    await t?.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  afterEach(async () => {
    clearInterval(probe);
    // Each step bounded and named: a teardown that hangs says which part of the host did
    // (a CI run once timed this hook out at 60 s without saying where).
    await within('runtime.stop()', runtime?.stop());
    await within('app.close()', app?.close());
    await within('host.close()', host?.close());
    runtime = undefined;
    app = undefined;
    host = undefined;
  });

  async function start(fixture: string, env: Record<string, string> = {}) {
    logs = [];
    health = [];
    const logger = createLogger({ level: 'debug', destination: new Writable({ write: (c, _e, cb) => (logs.push(String(c)), cb()) }) });
    const config = loadHostConfig({
      env: { ERPC_PLUGIN_DIRS: await folderOf(fixture, 'MOCK'), ERPC_SCHEMA_CACHE_DIR: 'off', ERPC_DATA_DIR: dataDir, ERPC_PLUGIN_IMPORT_TIMEOUT_MS: '5000', ERPC_SANDBOX_MEMORY_MB: '64', ...env },
    });
    host = await openHost(config, { db: t.db, keyring: keyringFromEnv({ ENCRYPTION_MASTER_KEY: MASTER_KEY }), logger });
    expect(host.pluginReport.failed).toEqual([]);
    expect(host.registry.plugin('MOCK').isolation).toBe('process');
    app = await buildApp(host);
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address() as { port: number };
    probe = setInterval(() => {
      void fetch(`http://127.0.0.1:${address.port}/healthz`, { signal: AbortSignal.timeout(1_000) }).then(
        (r) => health.push(r.status),
        () => health.push(0),
      );
    }, 100);
    runtime = host.createPushRuntime({
      pollIntervalMs: 50,
      pushTimeoutMs: 1_500,
      leaseMs: 20_000,
      concurrency: 8,
      retryPolicy: new RetryPolicy({ baseMs: 50, capMs: 100, jitter: 0, maxAttempts: 4 }),
    });
    await runtime.start();
    const org = async (name: string) => (await host!.services.organizations.create(name)).org.id;
    const hostileOrg = await org('hostile');
    const innocentOrg = await org('innocent');
    const controlOrg = await org('control');
    const type = host.registry.types().find((ty) => ty !== 'MOCK')!;
    await host.services.connections.create(hostileOrg, { connectorType: type, name: 'h', config: { apiKey: CANARY }, activate: true });
    await host.services.connections.create(innocentOrg, { connectorType: type, name: 'i', config: {}, activate: true });
    await host.services.connections.create(controlOrg, { connectorType: 'MOCK', name: 'c', config: { apiKey: CANARY }, activate: true });
    return { hostileOrg, innocentOrg, controlOrg };
  }

  async function settle(orgs: { hostileOrg: string; innocentOrg: string; controlOrg: string }) {
    const { pushes } = host!.services;
    const poison = (await pushes.accept(orgs.hostileOrg, { documentType: 'invoice', documentId: 'POISON', payload: { poison: true } })).push.id;
    const innocent = await Promise.all([1, 2, 3].map(async (i) => (await pushes.accept(orgs.innocentOrg, { documentType: 'invoice', documentId: `I-${i}`, payload: { n: i } })).push.id));
    const control = await Promise.all([1, 2, 3, 4, 5].map(async (i) => (await pushes.accept(orgs.controlOrg, { documentType: 'invoice', documentId: `C-${i}`, payload: { n: i } })).push.id));
    const deadline = Date.now() + 40_000;
    for (;;) {
      const rows = await t.db('push').whereIn('id', [poison, ...innocent, ...control]).select('id', 'status');
      const done = rows.every((r) => r.status === 'DELIVERED' || r.status === 'DEAD');
      if (done || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const view = (orgId: string, id: string) => pushes.get(orgId, id);
    return {
      poison: await view(orgs.hostileOrg, poison),
      innocent: await Promise.all(innocent.map((id) => view(orgs.innocentOrg, id))),
      control: await Promise.all(control.map((id) => view(orgs.controlOrg, id))),
    };
  }

  const expectContained = (r: Awaited<ReturnType<typeof settle>>) => {
    if (process.env.DEBUG_SANDBOX_TEST) console.log(JSON.stringify({ poison: [r.poison.status, r.poison.attempts, r.poison.lastError], innocent: r.innocent.map((p) => [p.status, p.attempts, p.lastError, (p as { lastFailure?: unknown }).lastFailure]), control: r.control.map((p) => [p.status, p.attempts, p.lastError]) }), logs.filter((l) => /sandbox|warn|error/.test(l)).slice(0, 30).join(''));
    for (const p of r.control) expect(p).toMatchObject({ status: 'DELIVERED', attempts: 1 });
    for (const p of r.innocent) expect(p).toMatchObject({ status: 'DELIVERED', attempts: 1 });
    expect(health.length).toBeGreaterThan(5);
    expect(health.every((s) => s === 200)).toBe(true);
    expect(logs.join('\n')).not.toContain(CANARY);
  };

  for (const [fixture, code] of [
    ['push-exits', 'PLUGIN_CRASHED'],
    ['push-allocates', 'PLUGIN_CRASHED'],
    ['push-timer-throws', 'PLUGIN_CRASHED'],
    ['push-unhandled-rejection', 'PLUGIN_CRASHED'],
    // Bytes on the channel that are no message (they threw inside the host with Node's IPC), and a forged message: the sandbox is killed.
    ['push-channel-garbage', 'PLUGIN_CRASHED'],
    ['push-channel-forgery', 'PLUGIN_CRASHED'],
    // A busy loop freezes its sandbox: killed as unresponsive, found alone, a crash like the others.
    ['push-busy-loop', 'PLUGIN_CRASHED'],
    ['push-never-settles', 'PUSH_TIMEOUT'],
  ] as const) {
    // The two that wait out deadlines (10-16 s each) run on the embedded database only; the sandbox does not depend on it.
    const slow = fixture === 'push-busy-loop' || fixture === 'push-never-settles';
    it.skipIf(slow && backend.name === 'postgres')(`${fixture}: only the poisoned push fails (${code}); innocent and control pushes are delivered with attempts 1`, { timeout: 90_000 }, async () => {
      const r = await settle(await start(fixture));
      expectContained(r);
      expect(r.poison.status).toBe('DEAD');
      expect(r.poison.lastError?.code).toBe(code);
      if (code === 'PLUGIN_CRASHED') expect(r.poison.attempts).toBe(2);
    });
  }

  it('memory outside the V8 heap is bounded by the OS: buffers are refused near 2 x ERPC_SANDBOX_MEMORY_MB + 1 GiB, the host unaffected', { timeout: 60_000 }, async () => {
    const r = await settle(await start('push-buffers'));
    // The host keeps answering afterwards too (and the probe gets its samples).
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expectContained(r);
    expect(r.poison.status).toBe('DEAD');
    expect(r.poison.lastError?.code).toBe('HOSTILE_MEMORY_REFUSED');
    // ERPC_SANDBOX_MEMORY_MB=64 here: a data-segment limit of 1,152 MiB, part of it V8's own.
    const mib = Number(/after (\d+) MiB/.exec(r.poison.lastError?.message ?? '')?.[1]);
    expect(mib).toBeGreaterThan(0);
    expect(mib).toBeLessThanOrEqual(1_152);
  });

  it('output floods are cut and rate-limited: an 8 MiB line, 5,000 stderr lines and 5,000 log lines leave the host answering and its log bounded', { timeout: 60_000 }, async () => {
    const r = await settle(await start('push-floods-output'));
    // The count of dropped lines is logged when their second is over.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expectContained(r);
    expect(r.poison).toMatchObject({ status: 'DELIVERED', attempts: 1 });
    const flood = logs.filter((l) => l.includes('flood l') || l.includes('xxxxxxxx'));
    // 200 lines a second at most are logged: the flood lasts a second or two.
    expect(flood.length).toBeGreaterThan(0);
    expect(flood.length).toBeLessThan(1_000);
    expect(Math.max(...logs.map((l) => l.length))).toBeLessThan(16 * 1024);
    expect(logs.some((l) => l.includes('were not logged'))).toBe(true);
  });

  it('a spy finds no environment, no key file, no other package, no database, no pg, no child process, no signal, no V8 flag, no inspector', { timeout: 60_000 }, async () => {
    const keyFile = path.join(dataDir, 'spy-key');
    await import('node:fs/promises').then((fs) => fs.writeFile(keyFile, MASTER_KEY, { mode: 0o600 }));
    // A thread-pool size set: the one variable a sandbox starts with is gone before plugin code runs.
    const orgs = await start('spy', { ERPC_SANDBOX_THREADPOOL_SIZE: '8' });
    const conn = (await host!.services.connections.create(orgs.hostileOrg, {
      connectorType: 'HOSTILE_SPY_V1',
      name: 'spy',
      config: { apiKey: CANARY, keyFile, otherPackage: path.join(MOCK, 'package.json'), dbPort: String(new URL(process.env.TEST_DATABASE_URL ?? 'postgres://x@127.0.0.1:5432/x').port || 5432) },
      activate: true,
    })).id;
    expect(conn).toBeDefined();
    const id = (await host!.services.pushes.accept(orgs.hostileOrg, { documentType: 'invoice', documentId: 'SPY', payload: {} })).push.id;
    let push = await host!.services.pushes.get(orgs.hostileOrg, id);
    for (let i = 0; i < 100 && push.status !== 'DELIVERED'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      push = await host!.services.pushes.get(orgs.hostileOrg, id);
    }
    expect(push.status).toBe('DELIVERED');
    const found = push.receiptDetails as Record<string, string>;
    expect(found.env).toBe('{}');
    // Also at import, though the host sends the load before the sandbox's hello (ADR 0052).
    expect(found.envAtImport).toBe('{}');
    for (const probe of ['keyFile', 'otherPackage', 'etcPasswd', 'database', 'childProcess', 'inspector', 'binding', 'cwdWrite', 'tmpWrite']) expect(found[probe], probe).toMatch(/^denied/);
    // Refused by the sandbox itself (ERR_ACCESS_DENIED), before the OS would (EPERM for another user's process).
    for (const probe of ['signalHost', 'rawSignal', 'v8Flags', 'v8FlagsNamed']) expect(found[probe], probe).toBe('denied: ERR_ACCESS_DENIED');
    expect(found.pg).toMatch(/^denied/);
    const everything = [logs.join('\n'), JSON.stringify(push), JSON.stringify(await t.db('push').select('receipt_details'))].join('\n');
    expect(everything).not.toContain(MASTER_KEY);
    expect(everything).not.toContain(CANARY);
  });

  it('a plugin cannot write outside its granted root: the file is never created, the push is a visible failure', { timeout: 60_000 }, async () => {
    const outside = await mkdtemp(path.join(tmpdir(), 'erpc-outside-'));
    try {
      const orgs = await start('writes-outside');
      await host!.services.connections.create(orgs.hostileOrg, { connectorType: 'HOSTILE_WRITER_V1', name: 'w', config: { target: path.join(outside, 'x.txt') }, activate: true });
      const id = (await host!.services.pushes.accept(orgs.hostileOrg, { documentType: 'invoice', documentId: 'W', payload: {} })).push.id;
      let push = await host!.services.pushes.get(orgs.hostileOrg, id);
      for (let i = 0; i < 150 && push.status !== 'DEAD'; i++) {
        await new Promise((r) => setTimeout(r, 100));
        push = await host!.services.pushes.get(orgs.hostileOrg, id);
      }
      expect(push.status).toBe('DEAD');
      expect(push.lastError?.message).toMatch(/ERR_ACCESS_DENIED|Access to this API has been restricted|permission/i);
      expect(existsSync(path.join(outside, 'x.txt'))).toBe(false);
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });
});

describe('plugin sandbox: entries whose top level hangs or exits', () => {
  it('are reported with their code and the other plugins load, in well under the import timeout per plugin', { timeout: 60_000 }, async () => {
    const config = loadHostConfig({
      env: {
        ERPC_PLUGIN_DIRS: await folderOf('entry-busy-loop', 'entry-channel-garbage', 'entry-exits', 'MOCK'),
        ERPC_SCHEMA_CACHE_DIR: 'off',
        ERPC_PLUGIN_IMPORT_TIMEOUT_MS: '1500',
      },
    });
    const started = performance.now();
    const plugins = await openPluginHost(config, createLogger({ level: 'silent' }));
    const took = performance.now() - started;
    await plugins.close();
    expect(plugins.report.loaded.map((p) => p.connectorType)).toEqual(['MOCK']);
    const codes = Object.fromEntries(plugins.report.failed.map((f) => [f.connectorType, f.error.code]));
    expect(codes).toEqual({ HOSTILE_ENTRY_LOOP_V1: 'ERPC_ERR_PLUGIN_IMPORT_TIMEOUT', HOSTILE_ENTRY_EXIT_V1: 'ERPC_ERR_PLUGIN_IMPORT_CRASHED', HOSTILE_ENTRY_GARBAGE_V1: 'ERPC_ERR_PLUGIN_IMPORT_CRASHED' });
    expect(took).toBeLessThan(15_000);
  });

  it('`erpc plugins list` reports them and exits by itself', { timeout: 60_000 }, async () => {
    const { execFile } = await import('node:child_process');
    const main = path.join(repoRoot, 'core/dist/cli/main.js');
    const hostile = await folderOf('entry-busy-loop', 'entry-exits', 'MOCK');
    const out = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      execFile(
        process.execPath,
        [main, 'plugins', 'list', '--json', '--plugins-dir', hostile],
        { env: { ...process.env, ERPC_PLUGIN_IMPORT_TIMEOUT_MS: '1500', ERPC_SCHEMA_CACHE_DIR: 'off' }, timeout: 50_000 },
        (err, stdout) => resolve({ code: err === null ? 0 : ((err as { code?: number }).code ?? null), stdout: String(stdout) }),
      );
    });
    expect(out.code).toBe(0);
    const rows = JSON.parse(out.stdout).plugins as { connectorType: string; status: string; error?: { code: string } }[];
    expect(rows.find((r) => r.connectorType === 'MOCK')?.status).toBe('loaded');
    expect(rows.find((r) => r.connectorType === 'HOSTILE_ENTRY_LOOP_V1')?.error?.code).toBe('ERPC_ERR_PLUGIN_IMPORT_TIMEOUT');
    expect(rows.find((r) => r.connectorType === 'HOSTILE_ENTRY_EXIT_V1')?.error?.code).toBe('ERPC_ERR_PLUGIN_IMPORT_CRASHED');
  });
});

describe('plugin sandbox: grants of file connectors', () => {
  it("refuses a drop folder outside the organisation's granted root (another organisation's included), and a connection that lost its grant dead-letters its pushes", { timeout: 60_000 }, async () => {
    const t = await backend.open();
    const dataDir = await mkdtemp(path.join(tmpdir(), 'erpc-grants-'));
    const dropzone = await mkdtemp(path.join(tmpdir(), 'erpc-grants-plugins-'));
    await chmod(dropzone, 0o755);
    await symlink(path.join(repoRoot, 'plugins/connector-dropzone-json-v1'), path.join(dropzone, 'connector-dropzone-json-v1'));
    const open = (env: Record<string, string> = {}) =>
      openHost(loadHostConfig({ env: { ERPC_PLUGIN_DIRS: dropzone, ERPC_SCHEMA_CACHE_DIR: 'off', ERPC_DATA_DIR: dataDir, ...env } }), {
        db: t.db,
        keyring: keyringFromEnv({ ENCRYPTION_MASTER_KEY: MASTER_KEY }),
        logger: createLogger({ level: 'silent' }),
      });
    let h = await open();
    try {
      const a = (await h.services.organizations.create('a')).org.id;
      const b = (await h.services.organizations.create('b')).org.id;
      const create = (org: string, rootPath: string) => h.services.connections.create(org, { connectorType: 'DROPZONE_JSON_V1', name: 'd', config: { rootPath }, activate: true });
      for (const rootPath of ['/etc', path.join(dataDir, 'drops', b), path.join(dataDir, 'drops', `${a}-x`), path.join(dataDir, 'drops', a, '..', b)]) {
        await expect(create(a, rootPath), rootPath).rejects.toMatchObject({ code: 'ERPC_ERR_CONFIG_PATH_NOT_GRANTED', status: 422, details: [{ path: '/rootPath' }] });
      }
      expect(() => h.services.connections.validateConfig('DROPZONE_JSON_V1', { rootPath: '/etc' }, a)).toThrow(/ERPC_PLUGIN_GRANTS/);
      await create(a, path.join(dataDir, 'drops', a, 'invoices'));
      // The operator grants another root: the stored connection no longer lies inside a granted one.
      await h.close();
      h = await open({ ERPC_PLUGIN_GRANTS: JSON.stringify({ DROPZONE_JSON_V1: { fsWrite: ['/srv/nowhere/{orgId}'] } }) });
      const runtime = h.createPushRuntime({ pollIntervalMs: 50 });
      await runtime.start();
      try {
        const id = (await h.services.pushes.accept(a, { documentType: 'invoice', documentId: 'G-1', payload: {} })).push.id;
        let push = await h.services.pushes.get(a, id);
        for (let i = 0; i < 100 && push.status !== 'DEAD'; i++) {
          await new Promise((r) => setTimeout(r, 100));
          push = await h.services.pushes.get(a, id);
        }
        expect(push).toMatchObject({ status: 'DEAD', attempts: 1, lastError: { code: 'ERPC_ERR_CONFIG_PATH_NOT_GRANTED' } });
      } finally {
        await runtime.stop();
      }
    } finally {
      await h.close();
      await t.close();
      await rm(dataDir, { recursive: true, force: true });
      await rm(dropzone, { recursive: true, force: true });
    }
  });
});

describe("plugin sandbox: the host's fsync broker", () => {
  it('flushes only paths whose real path lies below a granted root: a path outside, a link out of the root and a relative path are refused', { timeout: 60_000 }, async () => {
    const t = await backend.open();
    const dataDir = await mkdtemp(path.join(tmpdir(), 'erpc-syncs-'));
    const outside = await mkdtemp(path.join(tmpdir(), 'erpc-outside-'));
    const h = await openHost(loadHostConfig({ env: { ERPC_PLUGIN_DIRS: await folderOf('syncs-outside'), ERPC_SCHEMA_CACHE_DIR: 'off', ERPC_DATA_DIR: dataDir } }), {
      db: t.db,
      keyring: keyringFromEnv({ ENCRYPTION_MASTER_KEY: MASTER_KEY }),
      logger: createLogger({ level: 'silent' }),
    });
    const runtime = h.createPushRuntime({ pollIntervalMs: 50 });
    try {
      expect(h.registry.plugin('HOSTILE_SYNCER_V1').isolation).toBe('process');
      const org = (await h.services.organizations.create('s')).org.id;
      const root = path.join(dataDir, 'drops', org);
      const secret = path.join(outside, 'secret.txt');
      await writeFile(secret, 'not the plugin’s');
      const link = path.join(root, 'link-out');
      const paths = [secret, outside, link, 'relative/own.txt'];
      await h.services.connections.create(org, { connectorType: 'HOSTILE_SYNCER_V1', name: 's', config: { root, paths }, activate: true });
      // The default root exists once the connection does; the link out of it is the host's doing (a plugin cannot make one).
      await mkdir(root, { recursive: true });
      await symlink(secret, link);
      await runtime.start();
      const id = (await h.services.pushes.accept(org, { documentType: 'invoice', documentId: 'S-1', payload: {} })).push.id;
      let push = await h.services.pushes.get(org, id);
      for (let i = 0; i < 100 && push.status !== 'DELIVERED' && push.status !== 'DEAD'; i++) {
        await new Promise((r) => setTimeout(r, 100));
        push = await h.services.pushes.get(org, id);
      }
      expect(push.status).toBe('DELIVERED');
      const [row] = await t.db('push').where({ id }).select('receipt_details');
      const details = (typeof row.receipt_details === 'string' ? JSON.parse(row.receipt_details) : row.receipt_details) as { answers: Record<string, string> };
      expect(details.answers).toEqual({
        [path.join(root, 'own.txt')]: 'synced',
        [root]: 'synced',
        [secret]: 'refused: EACCES',
        [outside]: 'refused: EACCES',
        [link]: 'refused: EACCES',
        'relative/own.txt': 'refused: EINVAL',
      });
    } finally {
      await runtime.stop();
      await h.close();
      await t.close();
      await rm(dataDir, { recursive: true, force: true });
      await rm(outside, { recursive: true, force: true });
    }
  });
});
