#!/usr/bin/env node
// pnpm bench:dropzone — pushes per second through the built DROPZONE_JSON_V1 connector (dist,
// fsync on) beside a bare loop doing the physical minimum for a durable atomic drop of the same
// bytes: open + write + fsync + close + rename + directory fsync. Same disk, same run.
// Reported: sequential (one push at a time, the ratio we hold to >= 0.8) and concurrent (8 in
// flight, how workers sharing a folder behave).
// Env: BENCH_N (pushes per side), BENCH_BATCH, BENCH_CONCURRENCY, BENCH_DIR (default os.tmpdir()).
import { mkdirSync, mkdtempSync, rmSync, constants } from 'node:fs';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const entry = join(here, '../../plugins/connector-dropzone-json-v1/dist/index.js');
const { default: definition } = await import(pathToFileURL(entry).href);

const N = Number(process.env.BENCH_N ?? 800);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const BATCH = Number(process.env.BENCH_BATCH ?? 16);
const payload = { number: 'INV-1', currency: 'EUR', total: 1234.5, lines: Array.from({ length: 20 }, (_, i) => ({ sku: `SKU-${i}`, qty: i + 1, price: 9.99 })) };
const logger = { debug() {}, info() {}, warn() {}, error() {} };
const connection = { id: 'bench-conn', orgId: 'bench-org', connectorType: 'DROPZONE_JSON_V1' };
const base = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'erpc-bench-dropzone-'));

function doc(i, run) {
  return { pushId: `p-${run}-${i}`, documentType: 'invoice', documentId: `INV-${i}`, idempotencyKey: `${run}-${i}`, payload, createdAt: '2025-01-31T12:00:00.000Z' };
}

// Both sides run in small interleaved batches (bare, connector, bare, …) and their times are
// summed: the disk is shared and its speed drifts by 3x within seconds, so long back-to-back
// runs would compare different disks.
function connectorSide(concurrency) {
  const root = join(base, `conn-${concurrency}`);
  mkdirSync(root);
  const connector = definition.create({ logger, clock: { now: () => new Date() } });
  const ctx = { config: { rootPath: root, layout: 'flat', fsync: true }, signal: new AbortController().signal, logger, connection };
  let seq = 0;
  return async (count) => {
    let left = count;
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (left > 0) { left--; await connector.push(doc(seq++, `c${concurrency}`), ctx); }
    }));
  };
}

function bareSide(concurrency, bytes) {
  const dir = join(base, `bare-${concurrency}`);
  mkdirSync(dir);
  const flags = constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW | constants.O_WRONLY;
  let seq = 0;
  return async (count) => {
    let left = count;
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (left > 0) {
        left--;
        const i = seq++;
        const tmp = join(dir, `.f${i}.tmp`);
        const fh = await fsp.open(tmp, flags, 0o640);
        await fh.write(bytes, 0, bytes.length);
        await fh.sync();
        await fh.close();
        await fsp.rename(tmp, join(dir, `f${i}.json`));
        const d = await fsp.open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
        await d.sync();
        await d.close();
      }
    }));
  };
}

async function measure(concurrency, bytes) {
  const bare = bareSide(concurrency, bytes);
  const conn = connectorSide(concurrency);
  await bare(BATCH);
  await conn(BATCH); // warm-up
  let bareMs = 0, connMs = 0;
  for (let done = 0; done < N; done += BATCH) {
    let t = performance.now();
    await bare(BATCH);
    bareMs += performance.now() - t;
    t = performance.now();
    await conn(BATCH);
    connMs += performance.now() - t;
  }
  return { bare: N / (bareMs / 1000), connector: N / (connMs / 1000) };
}

// The envelope the connector writes, byte for byte (read back from one real push).
const probe = definition.create({ logger, clock: { now: () => new Date() } });
const probeRoot = join(base, 'probe');
mkdirSync(probeRoot);
const receipt = await probe.push(doc(0, 'probe'), { config: { rootPath: probeRoot, layout: 'flat' }, signal: new AbortController().signal, logger, connection });
const bytes = await fsp.readFile(join(probeRoot, receipt.externalRef));

const results = {};
results.sequential = await measure(1, bytes);
results[`concurrent (${CONCURRENCY} in flight)`] = await measure(CONCURRENCY, bytes);
rmSync(base, { recursive: true, force: true });

console.log(`dropzone bench: ${N} pushes per run, envelope ${bytes.length} bytes, fsync on, Node ${process.version}, interleaved batches of ${BATCH}`);
for (const [label, { bare, connector }] of Object.entries(results)) {
  console.log(`${label.padEnd(28)} connector ${connector.toFixed(0).padStart(6)} pushes/s   bare loop ${bare.toFixed(0).padStart(6)} files/s   ratio ${(connector / bare).toFixed(2)}`);
}
const seq = results.sequential;
console.log(`reported ratio (sequential): ${(seq.connector / seq.bare).toFixed(2)} (target >= 0.80)`);
