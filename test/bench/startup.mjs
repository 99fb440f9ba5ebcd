#!/usr/bin/env node
// pnpm bench:startup [--n 200] [--rounds 7]   (run `pnpm build` first)
//
// Plugin start-up cost of the host (discover + validate manifests + compile config schemas +
// import entries + create + register, through the built core dist) beside a bare import() of the
// same N entry modules.
//
// Fairness: every measurement runs in a fresh Node process, so neither side finds the modules in
// the ESM cache; both read the same generated files, so the OS page cache is equally warm (a
// warm-up round of each is run first and discarded). Rounds alternate which side runs first, and
// the medians are reported. The host's own modules (core, Ajv, pino, tsyringe) are imported before
// its timer starts, like the bare side's Node bootstrap: both time only the per-plugin work.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
};
const n = Number(opt('n', '200'));
const entryOf = (dir, i) => path.join(dir, `bench-plugin-${String(i).padStart(5, '0')}`, 'index.js');

// CPU time of this process (user + system, all its threads): unlike wall time, hardly affected by
// other processes competing for the shared cores, so the CPU ratio is the steadier comparison.
const cpuMs = (u) => (u.user + u.system) / 1000;

const child = opt('child', undefined);
if (child !== undefined) {
  const dir = opt('dir', '');
  if (child === 'bare') {
    const urls = Array.from({ length: n }, (_, i) => pathToFileURL(entryOf(dir, i)).href);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const mods = await Promise.all(urls.map((u) => import(u)));
    const ms = performance.now() - t0;
    const cpu = cpuMs(process.cpuUsage(c0));
    if (mods.length !== n || mods.some((m) => m.default?.$$type !== 'erpc.connector')) throw new Error('bare import went wrong');
    process.stdout.write(JSON.stringify({ ms, cpu }));
  } else {
    const dist = (m) => import(pathToFileURL(path.join(root, 'core/dist', m)).href);
    const core = { ...(await dist('settings/index.js')), ...(await dist('container.js')), ...(await dist('logging/logger.js')) };
    const cache = opt('cache', 'off');
    // host: every entry imported and checked in a sandbox process (the default, ADR 0033); host-in-process: in the host itself.
    const config = core.loadHostConfig({ env: { ERPC_SCHEMA_CACHE_DIR: cache, ERPC_PLUGIN_DIRS: dir, ERPC_PLUGIN_ISOLATION: child === 'host-in-process' ? 'in-process' : 'process' } });
    const logger = core.createLogger({ level: 'silent' });
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const { report } = await core.openPluginHost(config, logger);
    const ms = performance.now() - t0;
    const cpu = cpuMs(process.cpuUsage(c0));
    if (report.loaded.length !== n || report.failed.length !== 0) throw new Error(`host loaded ${report.loaded.length}, failed ${report.failed.length}`);
    // Cached validators are built from the cache on first use (start-up validates no config):
    // the first validation pays for reading the bundle, so it is timed and printed too.
    const v0 = performance.now();
    if (report.loaded[0].validateConfig({ endpoint0: 'https://erp.example' }) !== true) throw new Error('validator went wrong');
    const firstValidationMs = performance.now() - v0;
    process.stdout.write(JSON.stringify({ ms, cpu, firstValidationMs }));
    // Like a server that keeps running: let the cache write V8's code cache of the bundle.
    await new Promise((r) => setTimeout(r, 300));
  }
  process.exit(0);
}

const rounds = Number(opt('rounds', '7'));
const dir = mkdtempSync(path.join(os.tmpdir(), 'erpc-bench-startup-'));
try {
  for (let i = 0; i < n; i++) {
    const type = `BENCH_${String(i).padStart(5, '0')}`;
    const pdir = path.dirname(entryOf(dir, i));
    mkdirSync(pdir, { recursive: true });
    writeFileSync(
      path.join(pdir, 'package.json'),
      JSON.stringify({
        name: `@bench/plugin-${i}`,
        version: '1.0.0',
        type: 'module',
        erpc: { manifestVersion: 1, connectorType: type, entry: './index.js', configSchema: './config.schema.json', sdk: '^1.0.0' },
      }),
    );
    // Each schema differs (its own property name), so no cache can share work between plugins.
    writeFileSync(
      path.join(pdir, 'config.schema.json'),
      JSON.stringify({
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        type: 'object',
        required: [`endpoint${i}`],
        additionalProperties: false,
        properties: { [`endpoint${i}`]: { type: 'string', format: 'uri' }, apiKey: { type: 'string', writeOnly: true } },
      }),
    );
    writeFileSync(
      path.join(pdir, 'index.js'),
      `export default { $$type: 'erpc.connector', apiVersion: 1, connectorType: '${type}', create() { return { async testConnection() { return { ok: true, latencyMs: 0 }; }, async push(d) { return { externalRef: d.pushId }; } }; } };\n`,
    );
  }
  const cacheDir = path.join(dir, '.schema-cache');
  const measure = (kind, cache = cacheDir) => {
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', kind, '--dir', dir, '--n', String(n), '--cache', cache], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${kind} child failed: ${r.stderr}`);
    return JSON.parse(r.stdout);
  };
  // Cold: no schema cache (every config schema compiled by Ajv), as on a first start or with
  // ERPC_SCHEMA_CACHE_DIR=off. The first cached run fills the cache; the rounds then measure the
  // steady state of every later start-up.
  const cold = [measure('host', 'off'), measure('host', 'off'), measure('host', 'off')].map((m) => m.ms);
  measure('host');
  measure('bare');
  const host = [];
  const hostIn = [];
  const hostInCpu = [];
  const bare = [];
  const firstValidation = [];
  const hostCpu = [];
  const bareCpu = [];
  const run = (kind, ms, cpu) => {
    const m = measure(kind);
    ms.push(m.ms);
    cpu.push(m.cpu);
    if (m.firstValidationMs !== undefined) firstValidation.push(m.firstValidationMs);
  };
  for (let r = 0; r < rounds; r++) {
    if (r % 2 === 0) {
      run('host', host, hostCpu);
      run('host-in-process', hostIn, hostInCpu);
      run('bare', bare, bareCpu);
    } else {
      run('bare', bare, bareCpu);
      run('host-in-process', hostIn, hostInCpu);
      run('host', host, hostCpu);
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const h = median(host);
  const b = median(bare);
  const fmt = (x) => `${x.toFixed(1)} ms`;
  console.log(`bench:startup  ${n} plugins, ${rounds} rounds (median), Node ${process.version}, ${os.cpus().length} cores`);
  console.log(`  host  discover+validate+import+register  ${fmt(h)}   (min ${fmt(Math.min(...host))}, max ${fmt(Math.max(...host))})`);
  console.log(`  bare  import() of the same ${n} entries   ${fmt(b)}   (min ${fmt(Math.min(...bare))}, max ${fmt(Math.max(...bare))})`);
  console.log(`  ratio host/bare  ${(h / b).toFixed(2)}   (sandboxed imports: target <= 2, host < 1500 ms)   [schema cache warm]`);
  console.log(`  host, imports in-process (ERPC_PLUGIN_ISOLATION=in-process)  ${fmt(median(hostIn))}   ratio ${(median(hostIn) / b).toFixed(2)}   cpu ${fmt(median(hostInCpu))} (ratio ${(median(hostInCpu) / median(bareCpu)).toFixed(2)})`);
  console.log(`  cpu time (this process only: a sandbox's own CPU is not counted)  host ${fmt(median(hostCpu))}  bare ${fmt(median(bareCpu))}  ratio ${(median(hostCpu) / median(bareCpu)).toFixed(2)}   (steadier when the cores are shared)`);
  console.log(`  host, no schema cache (first start)  ${fmt(median(cold))}   ratio ${(median(cold) / b).toFixed(2)}`);
  console.log(`  after start-up: first config validation (builds the cached validators)  ${fmt(median(firstValidation))}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
