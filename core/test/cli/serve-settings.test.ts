import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const main = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

// Settings are checked before any listener opens: a bad worker setting used to be found only after
// `erpc serve` printed "erpc listening", leaving the admin socket behind.
describe('erpc serve with an invalid worker setting', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'erpc-serve-settings-'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('exits 3 with ERPC_ERR_SETTING_INVALID before listening', async () => {
    const env = { ...process.env, ERPC_DATA_DIR: path.join(dir, 'data'), DATABASE_URL: '', ENCRYPTION_MASTER_KEY: '', ERPC_WORKER_CONCURRENCY: 'lots' };
    const result = await run(process.execPath, [main, 'serve', '--port', '0'], { env, timeout: 120_000 }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('ERPC_ERR_SETTING_INVALID');
    expect(result.stdout).not.toContain('erpc listening');
    expect(await readdir(path.join(dir, 'data')).catch(() => [])).not.toContain('admin.sock');
  }, 180_000);

  it('erpc worker without DATABASE_URL exits 3 with ERPC_ERR_SETTING_INVALID naming it', async () => {
    const env = { ...process.env, ERPC_DATA_DIR: path.join(dir, 'data-worker'), DATABASE_URL: '' };
    const result = await run(process.execPath, [main, 'worker'], { env, timeout: 60_000 }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/ERPC_ERR_SETTING_INVALID.*DATABASE_URL/);
  }, 90_000);
});
