import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(root, 'core/dist/cli/main.js');

/**
 * A plugin author's loop outside this repository, with nothing of erpc published (issue J):
 * `erpc plugins new <folder outside the repo> --type X_V1`, then exactly the steps it prints
 * (npm install, build, test: the scaffold's conformance suite), then the host loads the built
 * plugin with `--plugins-dir` pointing at the plugin folder itself.
 */
describe('erpc plugins new, outside the repository', () => {
  let base: string;
  afterAll(async () => {
    if (base !== undefined) await rm(base, { recursive: true, force: true });
  });

  it('the printed next steps pass, and the host loads the plugin from its own folder', async () => {
    base = await mkdtemp(path.join(tmpdir(), 'erpc-author-'));
    const dir = path.join(base, 'x');
    const { stdout } = await run(process.execPath, [CLI, 'plugins', 'new', dir, '--type', 'X_V1'], { cwd: base });
    const next = /^next: (.+)$/m.exec(stdout)?.[1];
    expect(next).toBe(`cd ${dir} && npm install && npm run build && npm test`);
    const pkg = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8'));
    expect(pkg.dependencies['@erpc/sdk']).toMatch(/^file:\.\/vendor\/erpc-sdk-.*\.tgz$/);
    expect(pkg.devDependencies['@erpc/conformance']).toMatch(/^file:\.\/vendor\/erpc-conformance-.*\.tgz$/);
    expect(pkg.scripts.dev).toContain('--watch');

    // Exactly what it printed, in a shell, outside the repository (nothing resolves from the workspace).
    const steps = await run('bash', ['-c', `set -euo pipefail; ${next!.replace('npm install', 'npm install --no-audit --no-fund')}`], {
      cwd: base,
      timeout: 240_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    expect(steps.stdout).toMatch(/Tests\s+.*\d+ passed/);

    const listed = await run(process.execPath, [CLI, 'plugins', 'list', '--plugins-dir', dir, '--json'], { cwd: base });
    expect(JSON.parse(listed.stdout).plugins).toEqual([expect.objectContaining({ connectorType: 'X_V1', status: 'loaded' })]);
  }, 300_000);
});
