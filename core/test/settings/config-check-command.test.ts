import { execFile } from 'node:child_process';
import { mkdtemp, readdir, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SETTINGS } from '../../src/settings/index.js';

const run = promisify(execFile);
const main = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const CANARY = 'canary-metrics-token-4f1d2a';
const DB_CANARY = 'postgres://erpc:canary-db-password@127.0.0.1:1/erpc';

// `erpc config check` as an operator runs it: the built CLI in a process of its own, with only
// the variables given here (no settings inherited from the test run).
describe('erpc config check', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await realpath(await mkdtemp(path.join(tmpdir(), 'erpc-config-check-')));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  const check = (args: string[], settings: Record<string, string>) =>
    run(process.execPath, [main, 'config', 'check', ...args], { cwd: dir, env: { PATH: process.env.PATH, ...settings }, timeout: 60_000 }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );

  it('prints every effective setting with its source, secrets as set/unset, and warns about look-alikes', async () => {
    const result = await check([], { PORT: '8080', ERPC_METRICS_TOKEN: CANARY, DATABASE_URL: DB_CANARY, LOG_LEVEL: 'debug', ERPC_PLUGIN_DIR: './p' });
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+VALUE\s+SOURCE$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual(SETTINGS.map((s) => s.name));
    expect(result.stdout).toMatch(/^PORT\s+8080\s+env$/m);
    expect(result.stdout).toMatch(/^HOST\s+127\.0\.0\.1\s+default$/m);
    expect(result.stdout).toMatch(/^ERPC_METRICS_TOKEN\s+set\s+env$/m);
    expect(result.stdout).toMatch(/^DATABASE_URL\s+set\s+env$/m);
    expect(result.stdout).toMatch(/^ENCRYPTION_MASTER_KEY\s+unset\s+default$/m);
    const dataDir = lines.find((l) => l.startsWith('ERPC_DATA_DIR '))!.split(/\s+/);
    expect(dataDir.slice(1)).toEqual([path.join(dir, '.erpc/data'), 'default']);
    expect(result.stderr).toContain('warning: LOG_LEVEL is not an erpc setting; did you mean ERPC_LOG_LEVEL?');
    expect(result.stderr).toContain('warning: ERPC_PLUGIN_DIR is not an erpc setting; did you mean ERPC_PLUGIN_DIRS?');
    expect(result.stdout + result.stderr).not.toContain('canary');
    // It checks settings only: no database opened, no data directory made (DATABASE_URL points nowhere).
    expect(await readdir(dir)).toEqual([]);
  }, 90_000);

  it('--json prints the settings and warnings as one document', async () => {
    const result = await check(['--json'], { ERPC_WORKER_CONCURRENCY: '4', ERPC_METRICS_TOKEN: CANARY, ERPC_LOGLEVEL: 'debug' });
    expect(result.code).toBe(0);
    const body = JSON.parse(result.stdout) as { settings: { name: string; value: unknown; source: string; secret: boolean }[]; warnings: { setting: string; suggestion: string; message: string }[] };
    expect(body.settings.map((s) => s.name)).toEqual(SETTINGS.map((s) => s.name));
    expect(body.settings.find((s) => s.name === 'ERPC_WORKER_CONCURRENCY')).toEqual({ name: 'ERPC_WORKER_CONCURRENCY', value: 4, source: 'env', secret: false });
    expect(body.settings.find((s) => s.name === 'ERPC_METRICS_TOKEN')).toEqual({ name: 'ERPC_METRICS_TOKEN', value: 'set', source: 'env', secret: true });
    expect(body.settings.find((s) => s.name === 'ERPC_PLUGIN_DIRS')?.value).toEqual([path.join(dir, 'plugins')]);
    expect(body.warnings).toEqual([
      { setting: 'ERPC_LOGLEVEL', suggestion: 'ERPC_LOG_LEVEL', message: 'ERPC_LOGLEVEL is not an erpc setting; did you mean ERPC_LOG_LEVEL?' },
    ]);
    expect(result.stdout + result.stderr).not.toContain('canary');
  }, 90_000);

  it.each([[[]], [['--json']]])('exits 3 naming an invalid setting (args %j), never echoing a secret', async (args) => {
    const result = await check(args, { ERPC_WORKER_CONCURRENCY: 'lots', ERPC_METRICS_TOKEN: CANARY });
    expect(result.code).toBe(3);
    if (args.includes('--json')) {
      // Under --json the error is one JSON document on stdout (docs/cli.md).
      const { error } = JSON.parse(result.stdout) as { error: { code: string; message: string } };
      expect(error.code).toBe('ERPC_ERR_SETTING_INVALID');
      expect(error.message).toContain('The setting ERPC_WORKER_CONCURRENCY is invalid');
    } else {
      expect(result.stderr).toContain('error ERPC_ERR_SETTING_INVALID: The setting ERPC_WORKER_CONCURRENCY is invalid');
      expect(result.stdout).toBe('');
    }
    expect(result.stdout + result.stderr).not.toContain('canary');
  }, 90_000);

  it('exits 3 for a bad secret without printing it', async () => {
    const result = await check([], { ERPC_METRICS_TOKEN: 'canary short' });
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/ERPC_ERR_SETTING_INVALID: The setting ERPC_METRICS_TOKEN is invalid/);
    expect(result.stderr).not.toContain('canary');
  }, 90_000);
});
