import { execFile } from 'node:child_process';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECKS } from '@erpc/conformance';
import { fixtureDir, invalidConfigs, unreachableConfig, validConfig } from './fixture-configs.js';

// The built CLI (`pnpm build` first), run with plain node on plugins copied outside the repository.
const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const run = promisify(execFile);

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { cwd: tmpdir(), timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('erpc-conformance CLI on a plain-JS plugin outside the repository', () => {
  let root: string;
  const args = (plugin: string) => [
    path.join(root, plugin),
    '--config', path.join(root, 'valid.json'),
    '--invalid-config', path.join(root, 'bad-0.json'),
    '--invalid-config', path.join(root, 'bad-1.json'),
    '--unreachable-config', path.join(root, 'unreachable.json'),
  ];

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'erpc-conformance-cli-'));
    expect(path.relative(fileURLToPath(new URL('../../..', import.meta.url)), root).startsWith('..')).toBe(true);
    // The fixtures share one base module, so copy it along with them, keeping the layout.
    for (const name of ['_shared', 'clean', 'unstable-external-ref']) await cp(fixtureDir(name), path.join(root, name), { recursive: true });
    await writeFile(path.join(root, 'valid.json'), JSON.stringify(validConfig));
    await writeFile(path.join(root, 'unreachable.json'), JSON.stringify(unreachableConfig));
    for (const [i, c] of invalidConfigs.slice(0, 2).entries()) await writeFile(path.join(root, `bad-${i}.json`), JSON.stringify(c));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('a conforming plugin: one line per check, exit 0', async () => {
    const { code, stdout } = await cli(args('clean'));
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(CHECKS.length + 1);
    for (const [i, check] of CHECKS.entries()) expect(lines[i]).toMatch(new RegExp(`^pass\\s+${check.id.replace('.', '\\.')}\\b`));
    expect(lines.at(-1)).toMatch(/@fixtures\/clean@1\.0\.0: conforms \(27 passed, 0 failed, 0 skipped\)/);
  });

  it('a faulty plugin: the failing check is named with its reason, exit 1', async () => {
    const { code, stdout } = await cli(args('unstable-external-ref'));
    expect(code).toBe(1);
    expect(stdout).toMatch(/^FAIL\s+push\.idempotent\s+the same idempotencyKey twice gave two externalRefs/m);
    expect(stdout).toMatch(/does NOT conform \(26 passed, 1 failed, 0 skipped\)/);
  });

  it('--json prints one parseable document', async () => {
    const { code, stdout } = await cli([...args('unstable-external-ref'), '--json']);
    expect(code).toBe(1);
    const doc = JSON.parse(stdout) as { plugin: string; passed: boolean; checks: { id: string; status: string; message?: string }[] };
    expect(doc.plugin).toBe('@fixtures/unstable-external-ref@1.0.0');
    expect(doc.passed).toBe(false);
    expect(doc.checks.map((c) => c.id)).toEqual(CHECKS.map((c) => c.id));
    expect(doc.checks.filter((c) => c.status === 'fail').map((c) => c.id)).toEqual(['push.idempotent']);
  });

  it('without the optional configs, their checks are skipped with the reason', async () => {
    const { code, stdout } = await cli([path.join(root, 'clean'), '--config', path.join(root, 'valid.json')]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^skipped\s+test-connection\.unreachable\s+no unreachable config given/m);
    expect(stdout).toMatch(/^skipped\s+config-schema\.invalid-configs\s+no invalid configs given/m);
  });

  it('bad usage exits 2 with a message; a config file is never quoted', async () => {
    expect((await cli([path.join(root, 'clean')])).code).toBe(2);
    await writeFile(path.join(root, 'broken.json'), '{"password": "hunter2-canary-broken"');
    const broken = await cli([path.join(root, 'clean'), '--config', path.join(root, 'broken.json')]);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(/is not valid JSON/);
    expect(broken.stderr + broken.stdout).not.toContain('hunter2-canary-broken');
  });
});
