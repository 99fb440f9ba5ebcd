import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// `pnpm erpc conformance` and `pnpm erpc plugins new`, through the built CLI (`pnpm build` first).
const MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../../../packages/conformance/test/fixtures/', import.meta.url));
const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../../../', import.meta.url));

async function erpc(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [MAIN, ...args], { cwd, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('erpc conformance / erpc plugins new', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'erpc-cli-conformance-'));
    for (const name of ['_shared', 'clean', 'unstable-external-ref']) await cp(path.join(FIXTURES, name), path.join(root, name), { recursive: true });
    await writeFile(path.join(root, 'valid.json'), JSON.stringify({ host: 'erp.example', username: 'alice', password: 'correct-horse-battery' }));
    await writeFile(path.join(root, 'unreachable.json'), JSON.stringify({ host: 'erp.invalid', username: 'alice', password: 'correct-horse-battery' }));
    await writeFile(path.join(root, 'bad.json'), JSON.stringify({ host: 'erp.example' }));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  // These fixtures share ../_shared, outside their own package: in-process, as the kit's own tests
  // run them. In the sandbox (the default) that import is refused, as the last test shows.
  const args = (plugin: string) => ['conformance', path.join(root, plugin), '--config', 'valid.json', '--invalid-config', 'bad.json', '--unreachable-config', 'unreachable.json', '--in-process'];

  it('reports one line per check and exits 0 for a conforming plugin outside the repository', async () => {
    const { code, stdout } = await erpc(args('clean'), root);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^pass\s+push\.idempotent$/m);
    expect(stdout).toMatch(/@fixtures\/clean@1\.0\.0: conforms/);
  });

  it('exits 1 and names the failing check; --json is one document', async () => {
    const { code, stdout } = await erpc([...args('unstable-external-ref'), '--json'], root);
    expect(code).toBe(1);
    const doc = JSON.parse(stdout) as { passed: boolean; checks: { id: string; status: string }[] };
    expect(doc.passed).toBe(false);
    expect(doc.checks.filter((c) => c.status === 'fail').map((c) => c.id)).toEqual(['push.idempotent']);
  });

  it('plugins new writes a plugin; a bad type is a usage error', async () => {
    const ok = await erpc(['plugins', 'new', 'acme', '--type', 'ACME_THING_V1'], root);
    expect(ok.code).toBe(0);
    expect((await readdir(path.join(root, 'acme'))).sort()).toEqual(['.gitignore', 'README.md', 'config.schema.json', 'package.json', 'src', 'test', 'tsconfig.json', 'vendor']);
    // This host's SDK and kit, vendored: nothing of erpc is fetched from the registry (docs/plugin-authoring.md).
    expect((await readdir(path.join(root, 'acme', 'vendor'))).sort()).toEqual([expect.stringMatching(/^erpc-conformance-.*\.tgz$/), expect.stringMatching(/^erpc-sdk-.*\.tgz$/)]);
    const bad = await erpc(['plugins', 'new', 'other', '--type', 'acme'], root);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error ERPC_ERR_USAGE: --type must be UPPER_SNAKE/m);
  });

  it('runs the plugin in the sandbox by default: reading outside its package is refused there, MOCK conforms', async () => {
    const outside = await erpc(args('clean').filter((a) => a !== '--in-process'), root);
    expect(outside.code).toBe(1);
    expect(outside.stdout).toMatch(/^FAIL\s+push\.receipts .*Access to this API has been restricted/m);
    await writeFile(path.join(root, 'mock.json'), '{}');
    const mock = await erpc(['conformance', path.join(REPO, 'plugins/connector-mock'), '--config', 'mock.json'], root);
    expect(mock.code).toBe(0);
    expect(mock.stdout).toMatch(/@erpc\/connector-mock@1\.0\.0: conforms/);
  });
});
