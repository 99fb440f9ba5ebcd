#!/usr/bin/env node
// pnpm bench:queue — erpc's push queue beside graphile-worker and pg-boss (devDependencies of
// this package, pinned) on the same PostgreSQL, each on its own fresh database per round,
// interleaved rounds with the order rotated, no-op jobs against the MOCK connector with
// `ack: "off"` (built dist). Per system and round:
//
// 1. one-by-one enqueue: QUEUE_ONE jobs, each awaited before the next (erpc: PushService.accept,
//    the library call; graphile-worker: addJob; pg-boss: send); jobs/s and whole-machine CPU per
//    1,000 (/proc/stat), measured on the QUEUE_ONE calls that follow 100 + QUEUE_ONE calls after
//    start (the "cold" rows: those QUEUE_ONE calls before). erpc also through `POST /v1/pushes` on one keep-alive connection to an
//    `erpc serve --no-worker` process.
// 2. batch enqueue: QUEUE_BATCH_N jobs in batches of 500 through the library (acceptMany,
//    addJobs, insert); erpc also through `erpc push --file` (the rate with its process start,
//    timed on a one-line file, taken out).
// 3. drain with 1 and with 2 worker processes at concurrency 16 (erpc: `erpc worker`; the peers:
//    queue-worker.mjs): QUEUE_DRAIN jobs inserted in one batch while the workers wait; from that
//    commit until none is left. WAL bytes per drained job (pg_current_wal_lsn() difference: the
//    server's whole WAL, so other databases' writes on a shared server count too) and
//    statements per job (sent by the worker processes, counted in pg's Client#query).
// 4. enqueue → start p50/p99 at QUEUE_RATE/s offered (one-by-one, not awaited) for
//    QUEUE_SECONDS, 1 worker process (erpc: last_attempt_at − created_at; the peers: the
//    handler's Date.now() − the payload's enqueue time).
//
// Env: BENCH_DATABASE_URL (server to create the scratch databases on), QUEUE_ROUNDS (3),
// QUEUE_ONE (2000), QUEUE_BATCH_N (20000), QUEUE_DRAIN (20000), QUEUE_RATE (200),
// QUEUE_SECONDS (10), QUEUE_SYSTEMS (erpc,graphile-worker,pg-boss), QUEUE_DB_PREFIX (erpc_m_q),
// QUEUE_PGBOSS_BATCH (100), QUEUE_SANDBOX=1 (MOCK in its sandbox process, the default isolation;
// otherwise it is trusted, in the worker process like the peers' handlers), QUEUE_ERPC_NODE_ARGS (node options of the erpc processes, e.g. to
// profile them), QUEUE_JSON=1 (print the raw figures as JSON too), QUEUE_WAL_DETAIL=1 (each measured
// span's WAL by pg_waldump record kind, on stderr).
import { randomBytes, randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { walReader } from './wal.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const requireHere = createRequire(join(here, '../package.json'));
const dist = (p) => import(pathToFileURL(join(here, '../../core/dist', p)).href);
const { Repositories, createDatabase, migrateLatest, closeDatabase } = await dist('storage/index.js');
const { ConfigCipher, keyringFromEnv } = await dist('crypto/index.js');
const { ConnectorRegistry } = await dist('plugins/connector-registry.js');
const { loadPlugins } = await dist('plugins/plugin-loader.js');
const { createLogger } = await dist('logging/logger.js');
const { PushService } = await dist('push/push-service.js');
const { PushSignal } = await dist('push/push-signal.js');
const pg = createRequire(join(here, '../../core/package.json'))('pg');
const { makeWorkerUtils } = requireHere('graphile-worker');
const PgBoss = requireHere('pg-boss');
const gwVersion = requireHere('graphile-worker/package.json').version;
const bossVersion = requireHere('pg-boss/package.json').version;

const BASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const ROUNDS = Number(process.env.QUEUE_ROUNDS ?? 3);
const ONE = Number(process.env.QUEUE_ONE ?? 2000);
const BATCH_N = Number(process.env.QUEUE_BATCH_N ?? 20_000);
const DRAIN = Number(process.env.QUEUE_DRAIN ?? 20_000);
const RATE = Number(process.env.QUEUE_RATE ?? 200);
const SECONDS = Number(process.env.QUEUE_SECONDS ?? 10);
const CONCURRENCY = 16;
const SYSTEMS = (process.env.QUEUE_SYSTEMS ?? 'erpc,graphile-worker,pg-boss').split(',');
const PREFIX = process.env.QUEUE_DB_PREFIX ?? 'erpc_m_q';
const erpcNodeArgs = (process.env.QUEUE_ERPC_NODE_ARGS ?? '').split(' ').filter(Boolean);
const MAIN = join(here, '../../core/dist/cli/main.js');
const masterKey = randomBytes(32).toString('hex');
const scratch = mkdtempSync(join(tmpdir(), 'erpc-bench-queue-'));
const payloadOf = (i) => ({ t: Date.now(), i, number: `INV-${i}`, total: 12.5 });

// Statements this process sends (pg's Client#query; knex and both peers go through it).
let statements = 0;
{
  const query = pg.Client.prototype.query;
  pg.Client.prototype.query = function countedQuery(...args) {
    statements++;
    return query.apply(this, args);
  };
}

const admin = new pg.Client({ connectionString: BASE_URL });
await admin.connect();
// WAL of one database (wal.mjs): pg_waldump's records of its relations when this process can
// read the server's pg_wal, else the plain LSN difference.
// QUEUE_WAL_DETAIL=1 prints each measured span's WAL by record kind on stderr.
const WAL_DETAIL = process.env.QUEUE_WAL_DETAIL === '1';
const wal = await walReader(admin);
const walByDump = wal.byDump;
const walLsn = wal.lsn;
let walDb;
const walBytes = async (from, to) => {
  const { total, detail } = await wal.bytes(walDb, from, to);
  if (WAL_DETAIL && detail.size > 0) {
    const rows = [...detail].sort((a, b) => b[1].bytes - a[1].bytes).map(([k, d]) => `    ${k.padEnd(34)} ${String(d.n).padStart(8)} records ${String(d.bytes).padStart(11)} B`);
    process.stderr.write(`  WAL of ${walDb} ${from}..${to} (${total} B):\n${rows.join('\n')}\n`);
  }
  return total;
};
const dbUrl = (name) => {
  const u = new URL(BASE_URL);
  u.pathname = `/${name}`;
  return u.toString();
};
const created = [];
async function freshDatabase(system) {
  const name = `${PREFIX}_${system.replace(/-/g, '_')}_${randomBytes(3).toString('hex')}`;
  await admin.query(`CREATE DATABASE ${name}`);
  created.push(name);
  return { name, url: dbUrl(name) };
}
async function dropDatabase(name) {
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
}

const cpuBusyMs = () => {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return ((cpu[0] + cpu[1] + cpu[2] + cpu[5] + cpu[6] + (cpu[7] ?? 0)) * 1000) / 100;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

function spawnReady(args, env, marker, nodeArgs = []) {
  const child = spawn(process.execPath, [...nodeArgs, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes(marker)) resolve({ child, out: () => out });
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited early (${code}): ${err.slice(-2000)}`)));
  });
}
async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise((resolve) => {
    child.once('exit', resolve);
    child.kill('SIGTERM');
  });
}
function runCli(args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...erpcNodeArgs, MAIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`erpc ${args.join(' ')}: exit ${code}: ${err.slice(-2000)}`))));
  });
}

/** Counts statements of worker processes: each writes its count to a file on SIGUSR2. */
async function childStatements(children) {
  let n = 0;
  for (const c of children) {
    try {
      rmSync(c.countFile, { force: true });
    } catch {}
    c.child.kill('SIGUSR2');
  }
  for (const c of children) {
    for (let i = 0; i < 100 && !existsSync(c.countFile); i++) await sleep(10);
    await sleep(5);
    n += Number(readFileSync(c.countFile, 'utf8'));
  }
  return n;
}

// --- The three systems behind one interface -------------------------------------------------

async function erpcSystem(url) {
  // MOCK runs in the worker process (trusted), as the peers' no-op handlers do: this bench measures
  // the queue; the sandbox's IPC per push is bench:push's subject (QUEUE_SANDBOX=1 keeps it here).
  const env = {
    DATABASE_URL: url, ENCRYPTION_MASTER_KEY: masterKey, ERPC_PLUGIN_DIRS: join(here, '../../plugins'), ERPC_LOG_LEVEL: 'warn',
    ...(process.env.QUEUE_SANDBOX === '1' ? {} : { ERPC_PLUGIN_TRUSTED: 'MOCK' }),
  };
  const db = await createDatabase({ databaseUrl: url });
  await migrateLatest(db);
  const clock = { now: () => new Date() };
  const ports = new Map();
  const registry = new ConnectorRegistry({ bind: (t, p) => void ports.set(t, p), resolve: (t) => ports.get(t) });
  const logger = createLogger({ level: 'warn' });
  await loadPlugins({ dirs: [join(here, '../../plugins')], importTimeoutMs: 10_000, hostServices: { logger: { debug() {}, info() {}, warn() {}, error() {} }, clock }, registry, logger });
  const cipher = new ConfigCipher(keyringFromEnv({ ENCRYPTION_MASTER_KEY: masterKey }));
  const service = new PushService(new Repositories(db), registry, clock, new PushSignal(), { databaseKind: 'postgres' });
  // The organisation and its API key through the CLI (the key is hashed as the server expects).
  const org = JSON.parse(await runCli(['orgs', 'create', 'bench', '--json'], env));
  const orgId = org.org.id;
  const connectionId = randomUUID();
  const now = new Date();
  const { blob, keyId } = cipher.encrypt({ ack: 'off' }, { orgId, connectionId });
  await db('erp_connection').insert({ id: connectionId, org_id: orgId, connector_type: 'MOCK', name: 'mock', status: 'ACTIVE', config_encrypted: blob, config_key_id: keyId, created_at: now, updated_at: now });
  let seq = 0;
  const doc = (prefix) => ({ documentType: 'invoice', documentId: `${prefix}-${seq++}`, payload: payloadOf(seq) });
  let server;
  let agent;
  let port;
  return {
    name: 'erpc',
    enqueueOne: async () => {
      await service.accept(orgId, doc('O'));
    },
    enqueueBatch: async (n) => {
      const results = await service.acceptMany(orgId, Array.from({ length: n }, () => doc('B')));
      if (!results.every((r) => r.ok && r.created)) throw new Error('a batch accept failed');
    },
    http: {
      start: async () => {
        const started = await spawnReady([MAIN, 'serve', '--no-worker', '--port', '0'], env, 'erpc listening on', erpcNodeArgs);
        server = started.child;
        port = Number(/127\.0\.0\.1:(\d+)/.exec(started.out())[1]);
        agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      },
      enqueueOne: () =>
        new Promise((resolve, reject) => {
          const body = JSON.stringify(doc('H'));
          const req = http.request({ host: '127.0.0.1', port, path: '/v1/pushes', method: 'POST', agent, headers: { 'content-type': 'application/json', authorization: `Bearer ${org.apiKey}`, 'content-length': Buffer.byteLength(body) } }, (res) => {
            let text = '';
            res.on('data', (d) => (text += d));
            res.on('end', () => (res.statusCode === 202 ? resolve() : reject(new Error(`POST /v1/pushes: ${res.statusCode} ${text}`))));
          });
          req.on('error', reject);
          req.end(body);
        }),
      stop: async () => {
        agent.destroy();
        await stopChild(server);
      },
    },
    pushFile: async (n) => {
      const file = join(scratch, `push-${n}.jsonl`);
      writeFileSync(file, Array.from({ length: n }, () => JSON.stringify(doc('F'))).join('\n') + '\n');
      const t0 = performance.now();
      const out = JSON.parse(await runCli(['push', '--org', orgId, '--file', file, '--json'], env));
      const ms = performance.now() - t0;
      if (out.created !== n) throw new Error(`erpc push --file: ${JSON.stringify(out).slice(0, 500)}`);
      rmSync(file);
      return ms;
    },
    startWorker: async (i) => {
      const countFile = join(scratch, `count-erpc-${i}-${randomBytes(3).toString('hex')}`);
      const { child } = await spawnReady([MAIN, 'worker', '--concurrency', String(CONCURRENCY)], { ...env, QUEUE_COUNT_FILE: countFile }, 'running', ['--import', join(here, 'queue-count.mjs'), ...erpcNodeArgs]);
      return { child, countFile };
    },
    stopWorker: async (w) => stopChild(w.child),
    remaining: async () =>
      (await db.raw(`SELECT EXISTS (SELECT 1 FROM push WHERE status = 'PENDING') OR EXISTS (SELECT 1 FROM push WHERE status = 'PROCESSING') AS left`)).rows[0].left,
    latencies: async () =>
      (await db.raw(`SELECT EXTRACT(EPOCH FROM (last_attempt_at - created_at)) * 1000 AS ms FROM push WHERE document_id LIKE 'L-%'`)).rows.map((r) => Number(r.ms)),
    latencyDoc: () => service.accept(orgId, doc('L')),
    indexes: async () => (await db.raw(`SELECT count(*) AS n, pg_size_pretty(pg_indexes_size('push')) AS size FROM pg_indexes WHERE tablename = 'push'`)).rows[0],
    close: () => closeDatabase(db),
  };
}

async function peerWorker(system, url, i) {
  const countFile = join(scratch, `count-${system}-${i}-${randomBytes(3).toString('hex')}`);
  const latencyFile = join(scratch, `lat-${system}-${i}-${randomBytes(3).toString('hex')}`);
  const { child } = await spawnReady([join(here, 'queue-worker.mjs'), system, url], { QUEUE_COUNT_FILE: countFile, QUEUE_LATENCY_FILE: latencyFile, QUEUE_CONCURRENCY: String(CONCURRENCY) }, 'ready', ['--import', join(here, 'queue-count.mjs')]);
  return { child, countFile, latencyFile };
}

async function graphileSystem(url) {
  // Its own pool (graphile-worker's default size, 10), so that the scratch database's drop at the end cannot reach an unhandled pool error.
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  pool.on('error', () => undefined);
  const utils = await makeWorkerUtils({ pgPool: pool });
  await utils.migrate();
  let seq = 0;
  let lastLatencies = [];
  return {
    name: 'graphile-worker',
    enqueueOne: async () => {
      await utils.addJob('noop', payloadOf(seq++));
    },
    enqueueBatch: async (n) => {
      await utils.addJobs(Array.from({ length: n }, () => ({ identifier: 'noop', payload: payloadOf(seq++) })));
    },
    startWorker: (i) => peerWorker('graphile-worker', url, i),
    stopWorker: async (w) => {
      await stopChild(w.child);
      if (existsSync(w.latencyFile)) lastLatencies = JSON.parse(readFileSync(w.latencyFile, 'utf8'));
    },
    remaining: async () => (await pool.query('SELECT EXISTS (SELECT 1 FROM graphile_worker._private_jobs) AS left')).rows[0].left,
    latencies: async () => lastLatencies,
    latencyDoc: () => utils.addJob('noop', payloadOf(seq++)),
    indexes: async () => (await pool.query(`SELECT count(*) AS n, pg_size_pretty(pg_indexes_size('graphile_worker._private_jobs')) AS size FROM pg_indexes WHERE schemaname = 'graphile_worker' AND tablename = '_private_jobs'`)).rows[0],
    close: async () => {
      await utils.release();
      await pool.end();
    },
  };
}

async function bossSystem(url) {
  const boss = new PgBoss({ connectionString: url });
  boss.on('error', (err) => process.stderr.write(`pg-boss: ${err.message}\n`));
  await boss.start();
  await boss.createQueue('noop');
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  pool.on('error', () => undefined);
  let seq = 0;
  let lastLatencies = [];
  return {
    name: 'pg-boss',
    enqueueOne: async () => {
      await boss.send('noop', payloadOf(seq++));
    },
    enqueueBatch: async (n) => {
      await boss.insert(Array.from({ length: n }, () => ({ name: 'noop', data: payloadOf(seq++) })));
    },
    startWorker: (i) => peerWorker('pg-boss', url, i),
    stopWorker: async (w) => {
      await stopChild(w.child);
      if (existsSync(w.latencyFile)) lastLatencies = JSON.parse(readFileSync(w.latencyFile, 'utf8'));
    },
    remaining: async () => (await pool.query(`SELECT EXISTS (SELECT 1 FROM pgboss.job WHERE name = 'noop' AND state < 'completed') AS left`)).rows[0].left,
    latencies: async () => lastLatencies,
    latencyDoc: () => boss.send('noop', payloadOf(seq++)),
    // pg-boss 10 keeps each queue in its own partition of pgboss.job.
    indexes: async () =>
      (await pool.query(`SELECT count(*) AS n, pg_size_pretty(sum(pg_relation_size(i.indexrelid))) AS size
                           FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace s ON s.oid = c.relnamespace
                          WHERE s.nspname = 'pgboss' AND c.relname = (SELECT partition_name FROM pgboss.queue WHERE name = 'noop')`)).rows[0],
    close: async () => {
      await boss.stop({ graceful: false, wait: true });
      await pool.end();
    },
  };
}

const factories = { erpc: erpcSystem, 'graphile-worker': graphileSystem, 'pg-boss': bossSystem };

// --- Phases -----------------------------------------------------------------------------------

// One-by-one enqueues are measured twice, in two windows of ONE calls each after 100 warm-up
// calls: right after start (cold: calls 101..ONE+100, V8 still optimising the path) and then
// (warm: the next ONE calls), the figures that are compared. Every system and path is measured
// the same way; a freshly started HTTP server warms up for longer than a library call (seen
// here: 427/s for its calls 101..1,100, 615/s for 4,101..5,100), so one window hid the steady rate.
async function oneByOne(enqueue) {
  for (let i = 0; i < 100; i++) await enqueue(); // warm-up
  const cold = await oneByOneWindow(enqueue);
  return { ...(await oneByOneWindow(enqueue)), coldPerSecond: cold.perSecond };
}

async function oneByOneWindow(enqueue) {
  const s0 = statements;
  const w0 = await walLsn();
  const c0 = cpuBusyMs();
  const t0 = performance.now();
  for (let i = 0; i < ONE; i++) await enqueue();
  const ms = performance.now() - t0;
  const c1 = cpuBusyMs();
  const w1 = await walLsn();
  return { perSecond: Math.round(ONE / (ms / 1000)), cpuSecondsPer1k: +(((c1 - c0) / ONE) * 1000 / 1000).toFixed(2), walBytesPerJob: Math.round((await walBytes(w0, w1)) / ONE), statementsPerJob: +((statements - s0 - 1) / ONE).toFixed(2) };
}

async function waitEmpty(sys, timeoutMs = 300_000) {
  const end = performance.now() + timeoutMs;
  while (await sys.remaining()) {
    if (performance.now() > end) throw new Error(`${sys.name}: the queue did not drain in ${timeoutMs} ms`);
    await sleep(10);
  }
}

async function drain(sys, processes) {
  const workers = [];
  for (let i = 0; i < processes; i++) workers.push(await sys.startWorker(i));
  await waitEmpty(sys); // what earlier phases left (a warm-up)
  await sleep(300);
  await sys.enqueueBatch(DRAIN);
  const w0 = await walLsn();
  const st0 = await childStatements(workers);
  const t0 = performance.now();
  await waitEmpty(sys);
  const ms = performance.now() - t0;
  const w1 = await walLsn();
  const wal = await walBytes(w0, w1);
  const st1 = await childStatements(workers);
  for (const w of workers) await sys.stopWorker(w);
  return { perSecond: Math.round(DRAIN / (ms / 1000)), walBytesPerJob: Math.round(wal / DRAIN), statementsPerJob: +((st1 - st0) / DRAIN).toFixed(2) };
}

async function latency(sys) {
  const worker = await sys.startWorker(0);
  await waitEmpty(sys);
  await sleep(500);
  const total = RATE * SECONDS;
  const l0 = performance.now();
  const pending = [];
  for (let i = 0; i < total; i++) {
    const wait = l0 + (i * 1000) / RATE - performance.now();
    if (wait > 1) await sleep(wait);
    const a0 = performance.now();
    pending.push(sys.latencyDoc().then(() => performance.now() - a0));
  }
  // How long each enqueue call took (its INSERT and synchronous COMMIT): the floor under enqueue → start.
  const enqueueMs = (await Promise.all(pending)).sort((a, b) => a - b);
  await waitEmpty(sys);
  await sleep(200);
  await sys.stopWorker(worker);
  const lat = (await sys.latencies()).sort((a, b) => a - b);
  if (lat.length < total) throw new Error(`${sys.name}: ${lat.length} latencies for ${total} jobs`);
  return { p50Ms: +pct(lat, 50).toFixed(1), p99Ms: +pct(lat, 99).toFixed(1), maxMs: +lat[lat.length - 1].toFixed(1), enqueueCallP99Ms: +pct(enqueueMs, 99).toFixed(1) };
}

async function runSystem(name) {
  const { name: db, url } = await freshDatabase(name);
  walDb = db;
  const sys = await factories[name](url);
  const out = { system: name };
  try {
    out.oneByOne = await oneByOne(sys.enqueueOne);
    if (sys.http !== undefined) {
      await sys.http.start();
      out.oneByOneHttp = await oneByOne(sys.http.enqueueOne);
      await sys.http.stop();
    }
    {
      const s0 = statements;
      const w0 = await walLsn();
      const t0 = performance.now();
      for (let done = 0; done < BATCH_N; done += 500) await sys.enqueueBatch(Math.min(500, BATCH_N - done));
      const ms = performance.now() - t0;
      const w1 = await walLsn();
      out.batch = { perSecond: Math.round(BATCH_N / (ms / 1000)), walBytesPerJob: Math.round((await walBytes(w0, w1)) / BATCH_N), statementsPerBatch: +((statements - s0 - 1) / (BATCH_N / 500)).toFixed(1) };
    }
    if (sys.pushFile !== undefined) {
      const startMs = await sys.pushFile(1);
      const ms = await sys.pushFile(BATCH_N);
      out.pushFile = { perSecondWithoutStart: Math.round(BATCH_N / ((ms - startMs) / 1000)), perSecondWithStart: Math.round(BATCH_N / (ms / 1000)), startMs: Math.round(startMs) };
    }
    out.drain1 = await drain(sys, 1);
    out.drain2 = await drain(sys, 2);
    out.latency = await latency(sys);
    out.indexes = await sys.indexes();
  } finally {
    await sys.close();
    await dropDatabase(db);
  }
  return out;
}

// --- Rounds and the report ---------------------------------------------------------------------

const rounds = [];
try {
  for (let r = 0; r < ROUNDS; r++) {
    const order = SYSTEMS.map((_, i) => SYSTEMS[(i + r) % SYSTEMS.length]);
    const round = {};
    for (const name of order) {
      process.stderr.write(`round ${r + 1}/${ROUNDS}: ${name}…\n`);
      round[name] = await runSystem(name);
    }
    rounds.push({ order, results: round });
  }
} finally {
  for (const name of created) await dropDatabase(name).catch(() => undefined);
  await admin.end();
  rmSync(scratch, { recursive: true, force: true });
}

const figures = [
  ['one-by-one enqueue, library, jobs/s', (r) => r.oneByOne.perSecond, 'higher'],
  ['one-by-one enqueue, POST /v1/pushes, jobs/s', (r) => r.oneByOneHttp?.perSecond, 'higher', (r) => r.oneByOne.perSecond],
  [`one-by-one enqueue, library, jobs/s, cold (calls 101–${ONE + 100} after start)`, (r) => r.oneByOne.coldPerSecond, 'higher'],
  [`one-by-one enqueue, POST /v1/pushes, jobs/s, cold (requests 101–${ONE + 100})`, (r) => r.oneByOneHttp?.coldPerSecond, 'higher', (r) => r.oneByOne.coldPerSecond],
  ['one-by-one enqueue, machine CPU s per 1k (library)', (r) => r.oneByOne.cpuSecondsPer1k, 'lower'],
  ['one-by-one enqueue, machine CPU s per 1k (HTTP)', (r) => r.oneByOneHttp?.cpuSecondsPer1k, 'lower', (r) => r.oneByOne.cpuSecondsPer1k],
  ['one-by-one enqueue, statements per job', (r) => r.oneByOne.statementsPerJob, 'lower'],
  ['one-by-one enqueue, WAL bytes per job', (r) => r.oneByOne.walBytesPerJob, 'lower'],
  ['batch enqueue (500), library, jobs/s', (r) => r.batch.perSecond, 'higher'],
  ['batch enqueue, erpc push --file, jobs/s (start aside)', (r) => r.pushFile?.perSecondWithoutStart, 'higher', (r) => r.batch.perSecond],
  ['batch enqueue, statements per batch', (r) => r.batch.statementsPerBatch, 'lower'],
  ['batch enqueue, WAL bytes per job', (r) => r.batch.walBytesPerJob, 'lower'],
  ['drain, 1 process × 16, jobs/s', (r) => r.drain1.perSecond, 'higher'],
  ['drain, 2 processes × 16, jobs/s', (r) => r.drain2.perSecond, 'higher'],
  ['drain, WAL bytes per job (1 process)', (r) => r.drain1.walBytesPerJob, 'lower'],
  ['drain, WAL bytes per job (2 processes)', (r) => r.drain2.walBytesPerJob, 'lower'],
  ['drain, statements per job (1 process)', (r) => r.drain1.statementsPerJob, 'lower'],
  ['drain, statements per job (2 processes)', (r) => r.drain2.statementsPerJob, 'lower'],
  [`enqueue→start p50 ms at ${RATE}/s`, (r) => r.latency.p50Ms, 'lower'],
  [`enqueue→start p99 ms at ${RATE}/s`, (r) => r.latency.p99Ms, 'lower'],
  [`enqueue call alone (INSERT + COMMIT) p99 ms at ${RATE}/s`, (r) => r.latency.enqueueCallP99Ms, 'lower'],
];
const peers = SYSTEMS.filter((s) => s !== 'erpc');
const lines = [];
lines.push(`bench:queue — ${rounds.length} rounds, Node ${process.version}, ${cpus().length} CPUs, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}; graphile-worker ${gwVersion}, pg-boss ${bossVersion}`);
lines.push(`WAL: ${walByDump ? "each database's own records (pg_waldump; commit records left out)" : 'pg_current_wal_lsn() differences (the whole server)'}`);
lines.push(`one-by-one ${ONE} (measured after ${ONE + 100} calls; the cold rows: the ${ONE} before), batch ${BATCH_N} (500 a batch), drain ${DRAIN}, latency ${RATE}/s × ${SECONDS} s; MOCK ack "off" vs no-op handlers; ratios are erpc / peer per round (for "lower" figures peer / erpc, so > 1 is erpc ahead)`);
lines.push('');
const header = ['figure', ...SYSTEMS.map((s) => `${s} (per round)`), ...peers.map((p) => `erpc vs ${p}`)];
lines.push(`| ${header.join(' | ')} |`);
lines.push(`|${header.map(() => '---').join('|')}|`);
for (const [label, get, better, peerGet] of figures) {
  const cells = SYSTEMS.map((s) => rounds.map((rd) => (s === 'erpc' ? get(rd.results[s]) : (peerGet ?? get)(rd.results[s]))).map((v) => (v === undefined ? '–' : v)).join(' / '));
  const ratios = peers.map((p) =>
    rounds
      .map((rd) => {
        const e = get(rd.results.erpc);
        const q = (peerGet ?? get)(rd.results[p]);
        if (e === undefined || q === undefined || e === 0 || q === 0) return '–';
        return (better === 'higher' ? e / q : q / e).toFixed(2);
      })
      .join(' / '),
  );
  lines.push(`| ${label} | ${cells.join(' | ')} | ${ratios.join(' | ')} |`);
}
lines.push('');
lines.push(`push-table indexes: ${SYSTEMS.map((s) => `${s} ${rounds[0].results[s].indexes.n} / ${rounds[0].results[s].indexes.size}`).join(', ')}`);
if (rounds[0].results.erpc?.pushFile) lines.push(`erpc push --file process start (one-line file): ${rounds.map((rd) => rd.results.erpc.pushFile.startMs).join(' / ')} ms`);
process.stdout.write(`${lines.join('\n')}\n`);
if (process.env.QUEUE_JSON === '1') process.stdout.write(`${JSON.stringify(rounds, null, 1)}\n`);
