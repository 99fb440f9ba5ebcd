#!/usr/bin/env node
// pnpm bench:push — the push pipeline end to end on real PostgreSQL (built dist): documents
// accepted through PushService.acceptMany (the library call `erpc push` uses; batches of 500, one
// transaction each), claimed by in-process PushWorkers (FOR UPDATE SKIP LOCKED, LISTEN/NOTIFY
// wake-up), delivered by DROPZONE_JSON_V1 with fsync on, outcomes recorded in batches.
//
// 1. Throughput: BENCH_N pushes accepted as fast as possible; accepted → all DELIVERED.
// 2. Latency at a fixed offered rate: BENCH_RATE pushes/s (default 200), each accepted on its own
//    (like one HTTP request per document), for BENCH_SECONDS; p50/p99 of accept → delivered.
// 3. The limit: a bare loop writing the same bytes the connector writes (open O_EXCL, write,
//    fsync, close, rename, fsync dir) with the same number of writers in flight.
//
// Env: BENCH_DATABASE_URL (a server to create a scratch database on; default
// postgres://postgres@127.0.0.1:5432/postgres), BENCH_N (10000), BENCH_RATE (200),
// BENCH_SECONDS (10), BENCH_ROUNDS (1: each phase once; more: interleaved rounds, order rotated), BENCH_WORKERS (in-process workers, 2), BENCH_CONCURRENCY (per worker, 16),
// BENCH_DIR (default os.tmpdir()), BENCH_CONNECTOR=MOCK (the queue alone, no disk), BENCH_FSYNC=0,
// BENCH_MODE (both: in-process workers, with webhooks, sandboxed, then `erpc worker` child
// processes; in-process or processes alone; webhooks or sandboxed with the in-process phase they
// are compared with; or a comma-separated list, e.g. webhooks,sandboxed), BENCH_WORKER_NODE_ARGS (node options of the `erpc worker`
// children, e.g. to profile them), BENCH_KEEP=1 (leave the drop folders in place: no mass deletion
// to slow down the next run, see below).
//
// Webhooks (issue L): the in-process phases run a second time with one webhook endpoint per
// organisation subscribed to push.delivered, the events written in the outcomes' transaction and
// sent by a WebhookDispatcher beside each worker, to a receiver in a child process that answers
// 204 at once and records, per event, received − the push's delivered_at. Printed: pushes/s with
// and without the endpoint, their ratio (target >= 0.8), and the p99 delivered → webhook received
// at BENCH_RATE offered (target < 250 ms). BENCH_MODE=webhooks runs only these two. The
// dispatchers give way to their worker's backlog as `erpc serve`/`erpc worker` do (ADR 0050):
// BENCH_WEBHOOK_YIELD_MS (default ERPC_WEBHOOK_YIELD_MS's, 10000; 0: sent alongside the pushes).
// Printed too: every webhook received per second, and its ratio to pushes/s without the endpoint.
import { randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, constants, promises as fsp, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus, loadavg } from 'node:os';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { createRequire } from 'node:module';

// fsync blocks a libuv thread-pool thread; the default 4 threads cap concurrent drops for both
// sides alike, so both run with 16 (an explicit UV_THREADPOOL_SIZE is kept). libuv reads it once,
// when the pool starts, and the ESM loader starts the pool before this module's first line runs:
// setting process.env here would be silently ignored, so re-run this script with it set.
if (process.env.UV_THREADPOOL_SIZE === undefined) {
  const { spawnSync } = await import('node:child_process');
  const run = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, UV_THREADPOOL_SIZE: '16' },
  });
  process.exit(run.status ?? 1);
}
const here = fileURLToPath(new URL('.', import.meta.url));
const dist = (p) => import(pathToFileURL(join(here, '../../core/dist', p)).href);
const { PushListener, Repositories, createDatabase, migrateLatest } = await dist('storage/index.js');
const { loadHostConfig } = await dist('settings/index.js');
const { GrantPolicy } = await dist('plugins/sandbox/grants.js');
const { SandboxSupervisor } = await dist('plugins/sandbox/sandbox-supervisor.js');
const { ConfigCipher, keyringFromEnv } = await dist('crypto/index.js');
const { ConnectorRegistry } = await dist('plugins/connector-registry.js');
const { loadPlugins } = await dist('plugins/plugin-loader.js');
const { createLogger } = await dist('logging/logger.js');
const { PushService } = await dist('push/push-service.js');
const { PushSignal } = await dist('push/push-signal.js');
const { PushWorker } = await dist('push/worker.js');
const { WebhookDispatcher } = await dist('webhooks/webhook-dispatcher.js');
const { WebhookHttpClient } = await dist('webhooks/webhook-http.js');
const { AddressPolicy } = await dist('webhooks/address-policy.js');
const { WebhookRetrySchedule } = await dist('webhooks/retry-schedule.js');
const { encryptSecrets, generateWebhookSecret } = await dist('webhooks/webhook-secret.js');
const { DirectorySync } = await import(pathToFileURL(join(here, '../../plugins/connector-dropzone-json-v1/dist/directory-sync.js')).href);
// pg is core's dependency; resolve it from there.
const pg = createRequire(join(here, '../../core/package.json'))('pg');

const BASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const N = Number(process.env.BENCH_N ?? 10_000);
const RATE = Number(process.env.BENCH_RATE ?? 200);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 2);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const WEBHOOK_YIELD_MS = Number(process.env.BENCH_WEBHOOK_YIELD_MS ?? 10_000);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 1));
// both (default: in-process, sandboxed, processes) | in-process | sandboxed | processes
const MODE = process.env.BENCH_MODE ?? 'both';
// Extra node options for the `erpc worker` children, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
const workerNodeArgs = (process.env.BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean);
// A comma-separated list runs those modes together (e.g. `webhooks,sandboxed`: in-process, with webhooks, sandboxed).
const MODES = MODE.split(',').map((m) => m.trim());
for (const m of MODES) if (!['both', 'in-process', 'sandboxed', 'processes', 'webhooks'].includes(m)) throw new Error(`BENCH_MODE must be both, in-process, sandboxed, processes or webhooks (or a comma-separated list of them), not ${m}`);
const mode = (...names) => MODES.some((m) => names.includes(m));
const payload = { number: 'INV-1', currency: 'EUR', total: 1234.5, lines: Array.from({ length: 20 }, (_, i) => ({ sku: `SKU-${i}`, qty: i + 1, price: 9.99 })) };

const dbName = `erpc_bench_push_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: BASE_URL });
await admin.connect();
await admin.query(`CREATE DATABASE ${dbName}`);
const url = new URL(BASE_URL);
url.pathname = `/${dbName}`;
const benchDir = process.env.BENCH_DIR ?? tmpdir();
const dropRoot = mkdtempSync(join(benchDir, 'erpc-bench-push-'));
// Sandboxes run as `nobody` when the bench runs as root: the drop folders are theirs to write.
chmodSync(dropRoot, 0o777);
// Each run removes its files at the end (some 45,000 with the defaults). On ext4 without a
// journal (as on the 2-core VM of BENCHMARKS.md), the inode allocator then skips every inode freed
// in the last 5 minutes and reads its inode-table block to find that out (fs/ext4/ialloc.c,
// recently_deleted()), so creating files costs several times more kernel CPU for 5 minutes: the bare
// loop and the pipeline alike, run after run. The bench notes when the previous run cleaned up
// less than 5 minutes ago, so that such figures are not mistaken for the pipeline's own.
const cleanupMark = join(benchDir, 'erpc-bench-push.last-cleanup.json');
let recentCleanup;
try {
  const mark = JSON.parse(readFileSync(cleanupMark, 'utf8'));
  const secondsAgo = Math.round((Date.now() - mark.at) / 1000);
  if (secondsAgo >= 0 && secondsAgo < 300) recentCleanup = { secondsAgo, files: mark.files };
} catch {
  // no earlier run here
}
const logger = createLogger({ level: 'warn' });
const db = await createDatabase({ databaseUrl: url.toString() });
let workers = [];
let sandboxesToStop;
let listeners = [];
let children = [];
let dispatchers = [];
let receiver;
// Set while the webhook phase runs: each new organisation gets an endpoint subscribed to push.delivered.
let webhookUrl;

try {
  await migrateLatest(db);
  const clock = { now: () => new Date() };
  const ports = new Map();
  const registry = new ConnectorRegistry({ bind: (t, p) => void ports.set(t, p), resolve: (t) => ports.get(t) });
  await loadPlugins({ dirs: [join(here, '../../plugins')], importTimeoutMs: 10_000, hostServices: { logger: { debug() {}, info() {}, warn() {}, error() {} }, clock }, registry, logger });
  const masterKey = randomBytes(32).toString('hex');
  const cipher = new ConfigCipher(keyringFromEnv({ ENCRYPTION_MASTER_KEY: masterKey }));
  const service = new PushService(new Repositories(db), registry, clock, new PushSignal(), { databaseKind: 'postgres' });

  async function newOrg(folder) {
    const orgId = randomUUID();
    const connectionId = randomUUID();
    const now = new Date();
    await db('organization').insert({ id: orgId, name: folder, created_at: now, updated_at: now });
    const rootPath = join(dropRoot, folder);
    await fsp.mkdir(rootPath);
    await fsp.chmod(rootPath, 0o777);
    const type = process.env.BENCH_CONNECTOR ?? 'DROPZONE_JSON_V1';
    // MOCK: its receipts say no acknowledgement will come, like DROPZONE's (acknowledgements off).
    const config = type === 'MOCK' ? { ack: 'off' } : { rootPath, layout: 'flat', fsync: process.env.BENCH_FSYNC !== '0' };
    const { blob, keyId } = cipher.encrypt(config, { orgId, connectionId });
    await db('erp_connection').insert({ id: connectionId, org_id: orgId, connector_type: type, name: folder, status: 'ACTIVE', config_encrypted: blob, config_key_id: keyId, created_at: now, updated_at: now });
    if (webhookUrl !== undefined) {
      const endpointId = randomUUID();
      const secret = encryptSecrets(cipher, orgId, endpointId, { current: generateWebhookSecret() });
      await db('webhook_endpoint').insert({
        id: endpointId, org_id: orgId, url: `${webhookUrl}/${orgId}`, description: 'bench', events: ['push.delivered'], enabled: true,
        secret_encrypted: secret.blob, secret_key_id: secret.keyId, created_at: now, updated_at: now,
      });
    }
    return { orgId, rootPath };
  }

  // Sandboxed: the same in-process workers, the connector in sandbox processes (ADR 0033), granted the drop folders.
  // The settings an `erpc worker` started with this environment would read: the thread pool
  // (UV_THREADPOOL_SIZE, which sizes the sandboxes' pools too, ADR 0041) and the sandbox's V8 and pool settings.
  const passed = ['UV_THREADPOOL_SIZE', 'ERPC_SANDBOX_JIT', 'ERPC_SANDBOX_THREADPOOL_SIZE'].filter((name) => process.env[name]);
  const sandboxConfig = loadHostConfig({ env: { DATABASE_URL: url.toString(), ERPC_PLUGIN_GRANTS: JSON.stringify({ DROPZONE_JSON_V1: { fsWrite: [dropRoot] } }), ...Object.fromEntries(passed.map((name) => [name, process.env[name]])) } });
  const grants = new GrantPolicy(sandboxConfig);
  const sandboxes = new SandboxSupervisor(sandboxConfig.sandbox, grants, logger);
  sandboxesToStop = sandboxes;
  const sandboxPorts = new Map();
  const sandboxRegistry = new ConnectorRegistry({ bind: (t, p) => void sandboxPorts.set(t, p), resolve: (t) => sandboxPorts.get(t) });
  await loadPlugins({
    dirs: [join(here, '../../plugins')], importTimeoutMs: 10_000, hostServices: { logger: { debug() {}, info() {}, warn() {}, error() {} }, clock }, registry: sandboxRegistry, logger,
    sandbox: { isolated: () => true, memoryMb: sandboxConfig.sandbox.memoryMb, identity: sandboxes.identity },
  });
  const startInProcess = async (sandboxed = false, webhooks = false) => {
    for (let i = 0; i < WORKERS; i++) {
      const deps = sandboxed ? { storage: new Repositories(db), registry: sandboxRegistry, cipher, clock, logger, sandboxes, grants } : { storage: new Repositories(db), registry, cipher, clock, logger };
      let dispatcher;
      let worker;
      if (webhooks) {
        // As createPushRuntime wires it: events in the outcome transaction, a dispatcher beside the worker.
        const http = new WebhookHttpClient(new AddressPolicy({ allowLoopback: true, allowedNetworks: [] }), { maxSockets: 32 });
        dispatcher = new WebhookDispatcher(
          // Push deliveries first, as createPushRuntime wires it (ADR 0050; BENCH_WEBHOOK_YIELD_MS, default ERPC_WEBHOOK_YIELD_MS's).
          { store: new Repositories(db).webhooks, cipher, clock, logger, http, schedule: new WebhookRetrySchedule(), pushBacklog: () => worker.backlogged },
          { concurrency: 32, timeoutMs: 10_000, pollIntervalMs: 1_000, yieldMs: WEBHOOK_YIELD_MS },
        );
        dispatcher.http = http;
        deps.events = { storage: new Repositories(db), onQueued: (type, n, unclaimed = n) => { if (unclaimed > 0) dispatcher.wake(); }, handoff: dispatcher };
      }
      worker = new PushWorker(deps, { concurrency: CONCURRENCY, pollIntervalMs: 1_000 });
      const listener = new PushListener({ connectionString: url.toString(), onWake: () => worker.wake(), ...(dispatcher ? { onWebhook: () => dispatcher.wake() } : {}), logger });
      await listener.start();
      worker.start();
      dispatcher?.start();
      if (dispatcher) dispatchers.push(dispatcher);
      workers.push(worker);
      listeners.push(listener);
    }
  };
  const stopInProcess = async () => {
    for (const l of listeners) await l.stop();
    for (const w of workers) await w.stop();
    for (const d of dispatchers) {
      await d.stop();
      d.http.close();
    }
    listeners = [];
    workers = [];
    dispatchers = [];
  };
  // The webhook receiver: a child process answering 204 at once; per path (organisation) it keeps
  // received − data.deliveredAt of each event (same machine, same clock).
  const startReceiver = async () => {
    const code = `
      const http = require('node:http');
      const seen = new Map();
      const server = http.createServer((req, res) => {
        if (req.method === 'GET') {
          const list = seen.get(req.url.slice('/stats'.length)) ?? [];
          res.writeHead(200, { 'content-type': 'application/json' });
          return res.end(JSON.stringify(list));
        }
        const chunks = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', () => {
          const at = Date.now();
          res.writeHead(204);
          res.end();
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          let list = seen.get(req.url);
          if (list === undefined) seen.set(req.url, (list = []));
          list.push([req.headers['webhook-id'], at - Date.parse(body.data.deliveredAt)]);
        });
      });
      server.keepAliveTimeout = 60_000;
      server.listen(0, '127.0.0.1', () => console.log(server.address().port));`;
    const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    const port = await new Promise((resolve, reject) => {
      child.stdout.once('data', (d) => resolve(Number(String(d).trim())));
      child.once('exit', (c) => reject(new Error(`webhook receiver exited (${c})`)));
    });
    receiver = child;
    return `http://127.0.0.1:${port}`;
  };
  const receivedBy = async (orgId) => (await (await fetch(`${webhookUrl}/stats/${orgId}`)).json());
  // Waits until every push of the organisation has its webhook (exactly once per event).
  const waitWebhooks = async (orgId, n) => {
    let got = [];
    for (let i = 0; i < 3000; i++) {
      got = await receivedBy(orgId);
      if (got.length >= n) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    if (new Set(got.map(([id]) => id)).size !== n) throw new Error(`expected ${n} distinct webhooks for ${orgId}, got ${got.length} (${new Set(got.map(([id]) => id)).size} distinct)`);
    return got.map(([, ms]) => ms).sort((a, b) => a - b);
  };
  // `erpc worker` processes (how erpc scales out): accept stays in this process, delivery moves
  // to WORKERS child processes sharing the scratch database.
  const startProcesses = async () => {
    const env = {
      ...process.env,
      DATABASE_URL: url.toString(),
      ENCRYPTION_MASTER_KEY: masterKey,
      ERPC_PLUGIN_DIRS: join(here, '../../plugins'),
      ERPC_PLUGIN_GRANTS: JSON.stringify({ DROPZONE_JSON_V1: { fsWrite: [dropRoot] } }),
      ERPC_LOG_LEVEL: 'warn',
      UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE,
    };
    for (let i = 0; i < WORKERS; i++) {
      const child = spawn(process.execPath, [...workerNodeArgs, join(here, '../../core/dist/cli/main.js'), 'worker', '--concurrency', String(CONCURRENCY)], { env, stdio: ['ignore', 'pipe', 'inherit'] });
      children.push(child);
      await new Promise((resolve, reject) => {
        child.stdout.on('data', (d) => String(d).includes('running') && resolve());
        child.once('exit', (code) => reject(new Error(`erpc worker exited early (${code})`)));
      });
    }
  };
  const stopProcesses = async () => {
    await Promise.all(children.map((c) => new Promise((resolve) => {
      if (c.exitCode !== null || c.signalCode !== null) return resolve();
      c.once('exit', resolve);
      c.kill('SIGTERM');
    })));
    children = [];
  };
  // This run's sandbox processes: children of this process (not another erpc's on the machine) running sandbox-main.js.
  const isOwnSandbox = (pid, ppid) => {
    if (ppid !== process.pid) return false;
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('sandbox-main.js');
    } catch {
      return false; // gone
    }
  };
  // Resident memory of the live sandbox processes, in MB.
  const sandboxRss = () => {
    const out = [];
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        const ppid = Number(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[1]);
        if (!isOwnSandbox(pid, ppid)) continue;
        const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
        if (rss) out.push(Math.round(Number(rss[1]) / 1024));
      } catch {
        // gone
      }
    }
    return out;
  };
  const countDelivered = async (orgId) => Number((await db('push').where({ org_id: orgId, status: 'DELIVERED' }).count({ n: '*' }).first()).n);
  // Polled every 20 ms while the workers run: it must not load PostgreSQL itself. Counting the
  // delivered rows scans up to N rows per poll; asking whether any PENDING or PROCESSING row is
  // left uses the small partial indexes. Called once every accept has returned; the delivered
  // count is checked once at the end. `(org_id = ?) IS TRUE` keeps the planner on those partial
  // indexes: with plain `org_id = ?` it walked the organisation's whole (org_id, created_at)
  // index instead, about 17,000 index entries a poll by the end of a phase.
  const anyLeft = async (orgId) =>
    (await db.raw(
      `SELECT EXISTS (SELECT 1 FROM push WHERE status = 'PENDING' AND (org_id = ?) IS TRUE) OR EXISTS (SELECT 1 FROM push WHERE status = 'PROCESSING' AND (org_id = ?) IS TRUE) AS left`,
      [orgId, orgId],
    )).rows[0].left;
  const waitDelivered = async (orgId, n) => {
    while (await anyLeft(orgId)) await new Promise((r) => setTimeout(r, 20));
    const delivered = await countDelivered(orgId);
    if (delivered !== n) throw new Error(`expected ${n} pushes DELIVERED, found ${delivered}`);
  };

  // Machine-wide CPU time and context switches (Linux /proc/stat): what a push costs all
  // processes together (workers, PostgreSQL, kernel), steadier than throughput on a shared disk.
  // Also split by process: this bench (accept; and delivery in-process), the `erpc worker`
  // children, PostgreSQL's processes, everything else (kernel threads: block I/O, journal).
  const processTicks = () => {
    const by = { bench: 0, workers: 0, postgres: 0, sandboxes: 0 };
    const workerPids = new Set(children.map((c) => c.pid));
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      let stat;
      try {
        stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      } catch {
        continue; // gone
      }
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ticks = Number(f[11]) + Number(f[12]);
      if (Number(pid) === process.pid) by.bench += ticks;
      else if (workerPids.has(Number(pid))) by.workers += ticks;
      else if (comm === 'postgres') by.postgres += ticks;
      // The connector's side of a sandboxed push (ADR 0033).
      else if (isOwnSandbox(pid, Number(f[1]))) by.sandboxes += ticks;
    }
    return by;
  };
  const cpuStat = () => {
    try {
      const text = readFileSync('/proc/stat', 'utf8');
      const cpu = text.split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
      const busy = cpu[0] + cpu[1] + cpu[2] + cpu[5] + cpu[6] + (cpu[7] ?? 0); // user nice system irq softirq steal
      const ctxt = Number(/^ctxt (\d+)/m.exec(text)?.[1]);
      return { busyMs: (busy * 1000) / 100, ctxt, by: processTicks() }; // USER_HZ = 100
    } catch {
      return undefined;
    }
  };

  let tRoot;
  // Samples every 10 ms whether a dispatcher gives way to its worker's backlog (ADR 0050), and
  // the most webhooks held in memory at once.
  const yieldingSampler = () => {
    let samples = 0;
    let yielding = 0;
    let maxHeld = 0;
    const timer = setInterval(() => {
      samples++;
      if (dispatchers.some((d) => d.yielding)) yielding++;
      maxHeld = Math.max(maxHeld, dispatchers.reduce((n, d) => n + d.heldCount, 0));
    }, 10);
    return { stop: () => clearInterval(timer), share: () => +(yielding / Math.max(1, samples)).toFixed(3), maxHeld: () => maxHeld };
  };
  const runPhases = async (label) => {
    // Warm-up (JIT, connections, plugin code paths).
    {
      const { orgId } = await newOrg(`warmup-${label}`);
      await service.acceptMany(orgId, Array.from({ length: 300 }, (_, i) => ({ documentType: 'invoice', documentId: `W-${i}`, payload })));
      await waitDelivered(orgId, 300);
    }

    // 1. Throughput.
    const { orgId: tOrg, rootPath } = await newOrg(`throughput-${label}`);
    tRoot = rootPath;
    const burstHeld = webhookUrl === undefined ? undefined : yieldingSampler();
    const s0 = cpuStat();
    const t0 = performance.now();
    for (let start = 0; start < N; start += 500) {
      const batch = Array.from({ length: Math.min(500, N - start) }, (_, i) => ({ documentType: 'invoice', documentId: `T-${start + i}`, payload }));
      const results = await service.acceptMany(tOrg, batch);
      if (!results.every((r) => r.ok)) throw new Error('an accept failed');
    }
    const acceptedMs = performance.now() - t0;
    await waitDelivered(tOrg, N);
    const throughputMs = performance.now() - t0;
    burstHeld?.stop();
    // With webhooks: until the last push's webhook arrived too (the dispatchers may trail the workers).
    const webhookThroughput = webhookUrl === undefined ? undefined : await waitWebhooks(tOrg, N).then(() => ({ allWebhooksReceivedPerSecond: Math.round(N / ((performance.now() - t0) / 1000)) }));
    const s1 = cpuStat();
    const perPush = (a, b) => +(((b - a) * 10) / N).toFixed(3); // ticks (10 ms) → ms per push
    const cost =
      s0 === undefined || s1 === undefined
        ? undefined
        : {
            cpuMsPerPush: +((s1.busyMs - s0.busyMs) / N).toFixed(3),
            contextSwitchesPerPush: +((s1.ctxt - s0.ctxt) / N).toFixed(1),
            cpuMsPerPushBy: {
              bench: perPush(s0.by.bench, s1.by.bench),
              workers: perPush(s0.by.workers, s1.by.workers),
              postgres: perPush(s0.by.postgres, s1.by.postgres),
              sandboxes: perPush(s0.by.sandboxes, s1.by.sandboxes),
            },
          };
    const files = readdirSync(tRoot).filter((f) => f.endsWith('.json')).length;
    if (process.env.BENCH_CONNECTOR !== 'MOCK' && files !== N) throw new Error(`expected ${N} files, found ${files}`);

    // 2. Latency at a fixed offered rate.
    const { orgId: lOrg } = await newOrg(`latency-${label}`);
    const total = RATE * SECONDS;
    // This process's event-loop delay while the accepts are offered: a stall here (a GC pause, a
    // CPU taken by another VM) shows in every part of the latency below at once.
    const loopDelay = monitorEventLoopDelay({ resolution: 5 });
    loopDelay.enable();
    // How much of this phase the dispatchers spent giving way to a push backlog (ADR 0050): none is expected at this rate.
    const held = yieldingSampler();
    const l0 = performance.now();
    const pending = [];
    for (let i = 0; i < total; i++) {
      const due = l0 + (i * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      const a0 = performance.now();
      pending.push(service.accept(lOrg, { documentType: 'invoice', documentId: `L-${i}`, payload }).then(() => performance.now() - a0));
    }
    // How long each accept (its INSERT and COMMIT) took: part of "waiting to be claimed" below.
    const acceptMs = (await Promise.all(pending)).sort((a, b) => a - b);
    const offeredSeconds = (performance.now() - l0) / 1000;
    loopDelay.disable();
    await waitDelivered(lOrg, total);
    const webhookLatency = webhookUrl === undefined ? undefined : await waitWebhooks(lOrg, total);
    held.stop();
    // Accepted → delivered, split at the claim (last_attempt_at): waiting to be claimed (from
    // created_at, taken before the accept's INSERT, so its COMMIT is in there), then claimed →
    // delivered (a prefetched push's wait for a free slot, then the connector's push() with its
    // file write and fsyncs). The accepts' own duration is timed separately, in this process.
    const rows = (await db.raw(
      `SELECT EXTRACT(EPOCH FROM (delivered_at - created_at)) * 1000 AS ms,
              EXTRACT(EPOCH FROM (last_attempt_at - created_at)) * 1000 AS queued_ms,
              EXTRACT(EPOCH FROM (delivered_at - last_attempt_at)) * 1000 AS delivery_ms
         FROM push WHERE org_id = ?`,
      [lOrg],
    )).rows;
    const sorted = (key) => rows.map((r) => Number(r[key])).sort((a, b) => a - b);
    const lat = sorted('ms');
    const at = (list, p) => list[Math.min(list.length - 1, Math.floor((p / 100) * list.length))];
    const pct = (p) => at(lat, p);
    const queued = sorted('queued_ms');
    const delivery = sorted('delivery_ms');
    return {
      throughput: { pushes: N, acceptOnlyPerSecond: Math.round(N / (acceptedMs / 1000)), acceptedToDeliveredPerSecond: Math.round(N / (throughputMs / 1000)), seconds: +(throughputMs / 1000).toFixed(2), ...(cost ?? {}), ...(webhookThroughput ?? {}), ...(burstHeld === undefined ? {} : { yieldingShare: burstHeld.share(), maxWebhooksHeld: burstHeld.maxHeld() }) },
      ...(webhookLatency === undefined ? {} : { deliveredToWebhookReceived: { events: webhookLatency.length, p50Ms: +at(webhookLatency, 50).toFixed(1), p99Ms: +at(webhookLatency, 99).toFixed(1), maxMs: +webhookLatency[webhookLatency.length - 1].toFixed(1), yieldingShare: held.share() } }),
      latencyAtFixedRate: { offeredPerSecond: RATE, achievedOfferedPerSecond: Math.round(total / offeredSeconds), pushes: total, p50Ms: +pct(50).toFixed(1), p99Ms: +pct(99).toFixed(1), maxMs: +lat[lat.length - 1].toFixed(1), queuedP99Ms: +at(queued, 99).toFixed(1), acceptP99Ms: +at(acceptMs, 99).toFixed(1), deliveryP99Ms: +at(delivery, 99).toFixed(1), eventLoopDelayP99Ms: +(loopDelay.percentile(99) / 1e6).toFixed(1), eventLoopDelayMaxMs: +(loopDelay.max / 1e6).toFixed(1) },
    };
  };

  // The phases of this mode; with BENCH_ROUNDS > 1 they run that many times, interleaved, the
  // order rotated each round (a later phase runs on a larger database and a fuller disk), and the
  // ratios are printed per round.
  let currentRound = 0;
  const tag = (label) => (ROUNDS > 1 ? `${label}-r${currentRound}` : label);
  const phases = [];
  if (mode('both', 'in-process', 'webhooks', 'sandboxed')) {
    phases.push(['inProcess', async () => {
      await startInProcess();
      const r = await runPhases(tag('in-process'));
      await stopInProcess();
      return r;
    }]);
  }
  if (mode('both', 'webhooks')) {
    phases.push(['inProcessWebhooks', async () => {
      webhookUrl = await startReceiver();
      await startInProcess(false, true);
      const r = await runPhases(tag('webhooks'));
      await stopInProcess();
      webhookUrl = undefined;
      receiver.kill('SIGTERM');
      return r;
    }]);
  }
  if (mode('both', 'sandboxed')) {
    phases.push(['sandboxed', async () => {
      await startInProcess(true);
      const r = await runPhases(tag('sandboxed'));
      r.sandboxRssMb = sandboxRss();
      await stopInProcess();
      return r;
    }]);
  }
  if (mode('both', 'processes')) {
    phases.push(['workerProcesses', async () => {
      await startProcesses();
      const r = await runPhases(tag('processes'));
      await stopProcesses();
      return r;
    }]);
  }
  const perRound = Object.fromEntries(phases.map(([key]) => [key, []]));
  for (let round = 0; round < ROUNDS; round++) {
    currentRound = round;
    const order = phases.slice(round % phases.length).concat(phases.slice(0, round % phases.length));
    for (const [key, run] of order) perRound[key].push(await run());
  }
  // Each phase's figures are those of its median round by throughput (all rounds are printed too).
  const results = {};
  for (const [key, list] of Object.entries(perRound)) {
    const sortedRounds = [...list].sort((a, b) => a.throughput.acceptedToDeliveredPerSecond - b.throughput.acceptedToDeliveredPerSecond);
    results[key] = { ...sortedRounds[Math.floor((sortedRounds.length - 1) / 2)], ...(ROUNDS > 1 ? { rounds: list.map((r) => r.throughput.acceptedToDeliveredPerSecond) } : {}) };
  }
  const roundRatios = (key) => perRound[key].map((r, i) => +(r.throughput.acceptedToDeliveredPerSecond / perRound.inProcess[i].throughput.acceptedToDeliveredPerSecond).toFixed(2));
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

  // 3. The bare loops: the same envelope bytes, same writers in flight, no database. The first
  //    fsyncs the folder after every file; the second shares folder fsyncs the way the connector
  //    does (ADR 0017: a file's name is durable once a folder fsync that started after its rename
  //    has finished; callers arriving during one wait for the next, which serves them all).
  const sample = readdirSync(tRoot).find((f) => f.endsWith('.json'));
  const bytes = sample === undefined ? Buffer.from(JSON.stringify({ format: 'erpc.dropzone.v1', payload })) : await fsp.readFile(join(tRoot, sample));
  const flags = constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW | constants.O_WRONLY;
  const fsyncDir = async (dir) => {
    const dh = await fsp.open(dir, constants.O_RDONLY);
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  };
  // The connector's own group commit (ADR 0017) over the bare loop's folder fsync.
  const groupedFsync = (dir) => {
    const sync = new DirectorySync({ syncDirectory: fsyncDir });
    return () => sync.sync(dir);
  };
  const bareCost = {};
  const bareLoopRun = async (name, grouped) => {
    const bareDir = join(dropRoot, name);
    await fsp.mkdir(bareDir);
    const syncDir = grouped ? groupedFsync(bareDir) : () => fsyncDir(bareDir);
    let seq = 0;
    const c0 = cpuStat();
    const b0 = performance.now();
    await Promise.all(Array.from({ length: WORKERS * CONCURRENCY }, async () => {
      while (seq < N) {
        const i = seq++;
        const tmp = join(bareDir, `.f${i}.tmp`);
        const fh = await fsp.open(tmp, flags, 0o640);
        await fh.write(bytes, 0, bytes.length);
        await fh.sync();
        await fh.close();
        await fsp.rename(tmp, join(bareDir, `f${i}.json`));
        await syncDir();
      }
    }));
    const ms = performance.now() - b0;
    const c1 = cpuStat();
    if (c0 !== undefined && c1 !== undefined) bareCost[name] = +((c1.busyMs - c0.busyMs) / N).toFixed(3);
    return ms;
  };
  const bareMs = await bareLoopRun('bare', false);
  const bareGroupedMs = await bareLoopRun('bare-grouped', true);
  const bareRate = N / (bareMs / 1000);
  const bareLoop = { files: N, perSecond: Math.round(bareRate), seconds: +(bareMs / 1000).toFixed(2), ...(bareCost.bare === undefined ? {} : { cpuMsPerFile: bareCost.bare }) };
  const bareGroupedRate = N / (bareGroupedMs / 1000);
  const bareLoopSharedFolderFsync = { files: N, perSecond: Math.round(bareGroupedRate), seconds: +(bareGroupedMs / 1000).toFixed(2), ...(bareCost['bare-grouped'] === undefined ? {} : { cpuMsPerFile: bareCost['bare-grouped'] }) };
  const out = {
    date: new Date().toISOString(),
    machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, PostgreSQL (${url.host})`,
    loadAverage: loadavg().map((x) => +x.toFixed(2)),
    setup: { workers: WORKERS, concurrencyPerWorker: CONCURRENCY, uvThreadpoolSize: Number(process.env.UV_THREADPOOL_SIZE), sandboxThreadpoolSize: sandboxConfig.sandbox.threadPoolSize, acceptBatch: 500, payloadBytes: bytes.length, fsync: process.env.BENCH_FSYNC !== '0' },
    bareLoop,
    bareLoopSharedFolderFsync,
    ...(recentCleanup === undefined ? {} : { recentCleanup }),
  };
  // Where each round's latency went (p99 of the whole and of its parts), for every phase.
  if (ROUNDS > 1) {
    out.latencyPartsPerRound = Object.fromEntries(Object.entries(perRound).filter(([, list]) => list[0]?.latencyAtFixedRate !== undefined).map(([key, list]) => [key, list.map((r) => {
      const l = r.latencyAtFixedRate;
      return { p99Ms: l.p99Ms, maxMs: l.maxMs, queuedP99Ms: l.queuedP99Ms, acceptP99Ms: l.acceptP99Ms, deliveryP99Ms: l.deliveryP99Ms, eventLoopDelayP99Ms: l.eventLoopDelayP99Ms, eventLoopDelayMaxMs: l.eventLoopDelayMaxMs };
    })]));
  }
  const labels = {
    inProcess: `${WORKERS} in-process PushWorkers x ${CONCURRENCY} (accept and delivery in one process, the connector trusted in-process)`,
    inProcessWebhooks: `the same, with one webhook endpoint per organisation subscribed to push.delivered (a WebhookDispatcher beside each worker, the receiver in a child process answering 204 at once)`,
    sandboxed: `${WORKERS} in-process PushWorkers x ${CONCURRENCY}, the connector in its sandbox process (ADR 0033)`,
    workerProcesses: `${WORKERS} \`erpc worker --concurrency ${CONCURRENCY}\` processes (accept in the bench process)` };
  console.log(`push pipeline (PostgreSQL, ${process.env.BENCH_CONNECTOR ?? 'DROPZONE_JSON_V1'}${process.env.BENCH_FSYNC === '0' ? ' without' : ' with'} fsync)`);
  console.log(`  bare loop (same bytes, ${WORKERS * CONCURRENCY} writers): ${bareLoop.perSecond} files/s with a folder fsync per file, ${bareLoopSharedFolderFsync.perSecond} files/s with folder fsyncs shared as the connector does${bareLoop.cpuMsPerFile === undefined ? '' : ` (whole-machine CPU per file: ${bareLoop.cpuMsPerFile} / ${bareLoopSharedFolderFsync.cpuMsPerFile} ms)`}`);
  for (const [key, r] of Object.entries(results)) {
    r.ratioPipelineToBare = +(r.throughput.acceptedToDeliveredPerSecond / bareRate).toFixed(2);
    r.ratioPipelineToBareSharedFolderFsync = +(r.throughput.acceptedToDeliveredPerSecond / bareGroupedRate).toFixed(2);
    out[key] = r;
    console.log(`  ${labels[key]}:`);
    console.log(`    throughput: ${r.throughput.acceptedToDeliveredPerSecond} pushes/s accepted→delivered (${N} pushes in ${r.throughput.seconds} s; accept alone ${r.throughput.acceptOnlyPerSecond}/s) → ratio to bare ${r.ratioPipelineToBare} (per-file folder fsync) / ${r.ratioPipelineToBareSharedFolderFsync} (shared)`);
    if (r.throughput.cpuMsPerPush !== undefined) {
      const by = r.throughput.cpuMsPerPushBy;
      console.log(`    cost per push, whole machine (accept + delivery + PostgreSQL + kernel): ${r.throughput.cpuMsPerPush} ms CPU (this process ${by.bench}, worker processes ${by.workers}, PostgreSQL ${by.postgres}, sandboxes ${by.sandboxes}, the rest kernel threads), ${r.throughput.contextSwitchesPerPush} context switches`);
    }
    console.log(`    latency at ${RATE}/s offered (${r.latencyAtFixedRate.pushes} single accepts, achieved ${r.latencyAtFixedRate.achievedOfferedPerSecond}/s): p50 ${r.latencyAtFixedRate.p50Ms} ms, p99 ${r.latencyAtFixedRate.p99Ms} ms, max ${r.latencyAtFixedRate.maxMs} ms (p99 of the parts: waiting to be claimed ${r.latencyAtFixedRate.queuedP99Ms} ms, claimed → delivered ${r.latencyAtFixedRate.deliveryP99Ms} ms; p99 of the accept calls alone, which the first part includes: ${r.latencyAtFixedRate.acceptP99Ms} ms)`);
  }
  if (results.inProcessWebhooks !== undefined && results.inProcess !== undefined) {
    const w = results.inProcessWebhooks;
    const ratios = roundRatios('inProcessWebhooks');
    const ratio = median(ratios);
    out.webhooksToWithout = ratio;
    if (ROUNDS > 1) {
      out.webhooksToWithoutPerRound = ratios;
      out.deliveredToWebhookReceivedP99PerRound = perRound.inProcessWebhooks.map((r) => r.deliveredToWebhookReceived.p99Ms);
      console.log(`  webhooks / without, per round: ${ratios.join(' / ')} (median ${ratio}); delivered → webhook received p99 per round: ${out.deliveredToWebhookReceivedP99PerRound.join(' / ')} ms`);
    }
    // Until the last webhook arrived, against pushes/s without the endpoint: the whole job's cost, however it is scheduled.
    const allRatios = perRound.inProcessWebhooks.map((r, i) => +(r.throughput.allWebhooksReceivedPerSecond / perRound.inProcess[i].throughput.acceptedToDeliveredPerSecond).toFixed(2));
    out.allWebhooksReceivedToWithoutPerRound = allRatios;
    console.log(`  every webhook received / pushes without, per round: ${allRatios.join(' / ')} (webhooks yield to a push backlog for up to ${WEBHOOK_YIELD_MS} ms, ADR 0050; share of the burst yielding per round: ${perRound.inProcessWebhooks.map((r) => r.throughput.yieldingShare).join(' / ')}, most held in memory: ${perRound.inProcessWebhooks.map((r) => r.throughput.maxWebhooksHeld).join(' / ')})`);
    console.log(`  webhooks: ${w.throughput.acceptedToDeliveredPerSecond} pushes/s with the endpoint vs ${results.inProcess.throughput.acceptedToDeliveredPerSecond} without → ratio ${ratio} (target >= 0.8); every webhook received at ${w.throughput.allWebhooksReceivedPerSecond}/s; delivered → webhook received at ${RATE}/s offered: p50 ${w.deliveredToWebhookReceived.p50Ms} ms, p99 ${w.deliveredToWebhookReceived.p99Ms} ms (target < 250), max ${w.deliveredToWebhookReceived.maxMs} ms (${w.deliveredToWebhookReceived.events} events, each received once; dispatchers yielding to a push backlog ${(w.deliveredToWebhookReceived.yieldingShare * 100).toFixed(1)} % of that phase)`);
  }
  if (results.sandboxed !== undefined && results.inProcess !== undefined) {
    const ratios = roundRatios('sandboxed');
    const ratio = median(ratios);
    out.sandboxedToInProcess = ratio;
    if (ROUNDS > 1) {
      out.sandboxedToInProcessPerRound = ratios;
      out.sandboxedP99PerRound = perRound.sandboxed.map((r) => r.latencyAtFixedRate.p99Ms);
      out.sandboxRssMbPerRound = perRound.sandboxed.map((r) => r.sandboxRssMb);
      console.log(`  sandboxed / in-process, per round: ${ratios.join(' / ')} (median ${ratio}); sandboxed p99 at ${RATE}/s per round: ${out.sandboxedP99PerRound.join(' / ')} ms (in-process: ${perRound.inProcess.map((r) => r.latencyAtFixedRate.p99Ms).join(' / ')} ms); RSS per round: ${out.sandboxRssMbPerRound.map((x) => x.join('+')).join(' / ')} MB`);
    }
    console.log(`  sandboxed / in-process pushes/s: ${ratio} (target >= 0.8); sandboxed p99 accept→delivered at ${RATE}/s: ${results.sandboxed.latencyAtFixedRate.p99Ms} ms (target < 50); RSS per sandbox process: ${results.sandboxed.sandboxRssMb.join(', ')} MB (target <= 80)`);
  }
  console.log(`  load average (1/5/15 min): ${out.loadAverage.join(' ')}`);
  if (recentCleanup !== undefined) {
    console.log(
      `  note: the previous run removed ${recentCleanup.files} files in ${benchDir} ${recentCleanup.secondsAgo} s before this one started. On ext4 without a journal, creating files costs several times more kernel CPU for 5 minutes after a mass deletion (the bare loop too): wait 5 minutes between runs, or run with BENCH_KEEP=1 (BENCHMARKS.md).`,
    );
  }
  console.log(JSON.stringify(out));
} finally {
  await sandboxesToStop?.stop();
  for (const l of listeners) await l.stop();
  for (const w of workers) await w.stop();
  for (const d of dispatchers) await d.stop(0);
  receiver?.kill('SIGKILL');
  for (const c of children) c.kill('SIGKILL');
  // Each step on its own: a failing one must neither skip the others nor hide the run's error.
  const step = async (fn) => {
    try {
      await fn();
    } catch (err) {
      console.error(`clean-up step failed: ${err?.message ?? err}`);
    }
  };
  await step(() => db.destroy());
  await step(() => admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`));
  await step(() => admin.end());
  // BENCH_KEEP=1 keeps the drop folders (to inspect them, or to run again at once: see above).
  if (process.env.BENCH_KEEP === '1') console.error(`kept the drop folders in ${dropRoot}`);
  else {
    let entries = 0;
    await step(() => {
      entries = readdirSync(dropRoot, { recursive: true }).length;
    });
    await step(() => rmSync(dropRoot, { recursive: true, force: true }));
    // Only a hint for the next run.
    await step(() => writeFileSync(cleanupMark, JSON.stringify({ at: Date.now(), files: entries })));
  }
}
