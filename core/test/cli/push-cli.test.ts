// Issue I: `erpc push` with a malformed or unknown organisation, `--file -`, refusals per line,
// and `erpc pushes retry`. The built CLI on a fresh embedded database.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const main = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

describe('erpc push / pushes retry', () => {
  let dir: string;
  const env = () => ({ ...process.env, ERPC_DATA_DIR: path.join(dir, 'data'), DATABASE_URL: '', ENCRYPTION_MASTER_KEY: '' });
  const erpc = (args: string[], stdin?: string) => {
    const p = run(process.execPath, [main, ...args], { env: env(), timeout: 120_000 });
    p.child.stdin?.end(stdin ?? '');
    return p.catch((e: { code: number; stdout: string; stderr: string }) => e);
  };
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'erpc-push-cli-'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('finding: --org nope printed raw SQL and an unknown org said "no ACTIVE connection"; now ERPC_ERR_ORG_NOT_FOUND', async () => {
    const line = '{"documentType":"invoice","documentId":"A","payload":{"net":118.00}}\n';
    for (const org of ['nope', '00000000-0000-4000-8000-000000000000']) {
      const r = await erpc(['push', '--org', org, '--file', '-'], line);
      expect(r).toMatchObject({ code: 3, stderr: expect.stringContaining('ERPC_ERR_ORG_NOT_FOUND') });
      expect(r.stderr).not.toMatch(/invalid input syntax|uuid|SELECT|select /);
      expect(r.stderr).not.toContain('ACTIVE');
    }
    const created = JSON.parse((await run(process.execPath, [main, 'orgs', 'create', 'Acme', '--json'], { env: env() })).stdout) as { org: { id: string } };
    // --file - reads standard input: the line is read, the org exists, it has no connection yet.
    const noConn = await erpc(['push', '--org', created.org.id, '--file', '-'], line);
    expect(noConn).toMatchObject({ code: 3, stderr: expect.stringContaining('ERPC_ERR_NO_ACTIVE_CONNECTION') });
    // A line refused at the door is reported with its number, never its value.
    const refused = await erpc(['push', '--org', created.org.id, '--file', '-', '--json'], '{"documentType":"invoice","documentId":"B\\u0000SECRET","payload":{}}\n');
    expect(refused).toMatchObject({ code: 1 });
    const summary = JSON.parse(refused.stdout) as { failed: number; errors: { line: number; code: string; message: string }[] };
    expect(summary.errors).toEqual([{ line: 1, code: 'ERPC_ERR_INPUT_REFUSED', message: expect.stringContaining('/documentId') }]);
    expect(refused.stdout).not.toContain('SECRET');
    const retry = await erpc(['pushes', 'retry', '--org', created.org.id, '--code', 'DROPZONE_DISK_FULL', '--dry-run', '--json']);
    expect(JSON.parse((retry as { stdout: string }).stdout)).toEqual({ requeued: 0, matched: 0, dryRun: true });
    const badOrg = await erpc(['pushes', 'retry', '--org', 'nope']);
    expect(badOrg).toMatchObject({ code: 3, stderr: expect.stringContaining('ERPC_ERR_ORG_NOT_FOUND') });
  }, 300_000);
});
