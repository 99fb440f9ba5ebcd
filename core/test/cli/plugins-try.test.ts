import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const CLI = path.join(root, 'core/dist/cli/main.js');
const MOCK = path.join(root, 'plugins/connector-mock');

describe('erpc plugins try', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'erpc-try-test-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const tryIt = async (config: unknown, extra: string[] = []) => {
    const file = path.join(dir, `c-${Math.random()}.json`);
    await writeFile(file, JSON.stringify(config));
    return run(process.execPath, [CLI, 'plugins', 'try', MOCK, '--config', file, '--json', ...extra], { cwd: dir, env: { PATH: process.env.PATH ?? '', NODE_NO_WARNINGS: '1' } }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );
  };

  it('runs the connection test and one push through the host and prints what the connector returned; secrets never printed', async () => {
    const doc = path.join(dir, 'd.json');
    await writeFile(doc, JSON.stringify({ documentType: 'invoice', documentId: 'D-9', payload: { total: '12.50' } }));
    const r = await tryIt({ behavior: 'ok', apiKey: 'CANARY-try-secret' }, ['--document', doc]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toEqual({
      test: { ok: true, latencyMs: expect.any(Number), message: 'Mock ERP reachable.' },
      push: { status: 'DELIVERED', externalRef: expect.stringMatching(/^mock:/), receiptDetails: expect.objectContaining({ attempt: 1 }) },
    });
    expect(r.stdout + r.stderr).not.toContain('CANARY-try-secret');
  }, 60_000);

  it('exits 1 with the connector error when the connector rejects', async () => {
    const r = await tryIt({ behavior: 'fail-permanent' });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ test: { ok: false }, push: { status: 'DEAD', lastError: { code: 'MOCK_REJECTED' } } });
  }, 60_000);

  it('an invalid config is refused with the schema issue, exit 3', async () => {
    const r = await tryIt({ behavior: 'nope' });
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout).error.code).toMatch(/^ERPC_ERR_/);
  }, 60_000);
});
