import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECKS, scaffoldPlugin, ScaffoldError } from '@erpc/conformance';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const SDK_DIR = path.join(REPO, 'packages/sdk');

/**
 * The generated plugin lives outside the repository, where @erpc/sdk is not on any registry: link
 * it (and @types/node) into the plugin's node_modules, as `npm install` of a `link:` spec would,
 * and build with the repository's TypeScript.
 */
async function installAndBuild(dir: string): Promise<void> {
  await mkdir(path.join(dir, 'node_modules/@erpc'), { recursive: true });
  await mkdir(path.join(dir, 'node_modules/@types'), { recursive: true });
  await symlink(SDK_DIR, path.join(dir, 'node_modules/@erpc/sdk'), 'dir');
  await symlink(path.join(REPO, 'node_modules/@types/node'), path.join(dir, 'node_modules/@types/node'), 'dir');
  // For the generated suite: this kit (built) and the very vitest it was installed with.
  await symlink(path.join(REPO, 'packages/conformance'), path.join(dir, 'node_modules/@erpc/conformance'), 'dir');
  await symlink(await realpath(path.join(REPO, 'packages/conformance/node_modules/vitest')), path.join(dir, 'node_modules/vitest'), 'dir');
  await run(process.execPath, [path.join(REPO, 'node_modules/typescript/bin/tsc'), '-p', path.join(dir, 'tsconfig.json')], { timeout: 60_000 });
}

describe('plugin scaffolder', () => {
  let parent: string;
  let dir: string;

  beforeAll(async () => {
    parent = await mkdtemp(path.join(tmpdir(), 'erpc-scaffold-'));
    dir = path.join(parent, 'acme-thing');
    const result = await scaffoldPlugin(dir, { type: 'ACME_THING_V1', sdkDependency: `link:${SDK_DIR}` });
    expect(result.files.sort()).toEqual(
      ['.gitignore', 'README.md', 'config.schema.json', 'package.json', 'src/index.ts', 'test/conformance.test.ts', 'test/fake-erp.d.mts', 'test/fake-erp.mjs', 'tsconfig.json'].sort(),
    );
    await installAndBuild(dir);
  }, 90_000);
  afterAll(() => rm(parent, { recursive: true, force: true }));

  it('writes a manifest, a build script and the dependencies a plugin needs', async () => {
    const pkg = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8'));
    expect(pkg).toMatchObject({
      name: 'erpc-connector-acme-thing-v1',
      type: 'module',
      scripts: { build: 'tsc -p tsconfig.json', test: 'vitest run' },
      erpc: { manifestVersion: 1, connectorType: 'ACME_THING_V1', entry: './dist/index.js', configSchema: './config.schema.json', sdk: '^1.0.0' },
      dependencies: { '@erpc/sdk': `link:${SDK_DIR}` },
    });
    expect(Object.keys(pkg.devDependencies).sort()).toEqual(['@erpc/conformance', '@types/node', 'typescript', 'vitest']);
    const schema = JSON.parse(await readFile(path.join(dir, 'config.schema.json'), 'utf8'));
    expect(schema.properties.apiToken.writeOnly).toBe(true);
    expect(await readFile(path.join(dir, 'test/conformance.test.ts'), 'utf8')).toContain("from '@erpc/conformance/vitest'");
  });

  it('the generated plugin, built, passes every conformance check in its own test suite', async () => {
    // Its own `npm test`: test/conformance.test.ts starts the fake ERP and runs the kit through
    // the vitest adapter. A clean environment, so the outer vitest's variables don't leak in.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST') && k !== 'NODE_OPTIONS'));
    const out = path.join(parent, 'report.json');
    await run(process.execPath, [path.join(dir, 'node_modules/vitest/vitest.mjs'), 'run', '--reporter=json', `--outputFile=${out}`], { cwd: dir, env, timeout: 60_000 }).catch(
      (err: unknown) => err, // the report says what failed
    );
    const report = JSON.parse(await readFile(out, 'utf8')) as {
      numPassedTests: number;
      numFailedTests: number;
      numPendingTests: number;
      testResults: { assertionResults: { title: string; status: string; failureMessages: string[] }[] }[];
    };
    const notPassed = report.testResults.flatMap((f) => f.assertionResults).filter((a) => a.status !== 'passed');
    expect(notPassed).toEqual([]);
    expect(report.numPassedTests).toBe(CHECKS.length);
  });

  it('the host loads the generated plugin (erpc plugins list)', async () => {
    const { stdout } = await run(process.execPath, [path.join(REPO, 'core/dist/cli/main.js'), 'plugins', 'list', '--plugins-dir', parent, '--json'], {
      cwd: parent,
      timeout: 30_000,
      env: { ...process.env, ERPC_PLUGIN_DIRS: '' },
    });
    const { plugins } = JSON.parse(stdout) as { plugins: { connectorType: string | null; status: string; name: string | null; error?: unknown }[] };
    expect(plugins).toEqual([expect.objectContaining({ connectorType: 'ACME_THING_V1', status: 'loaded', name: 'erpc-connector-acme-thing-v1' })]);
  });

  it('refuses a bad type and a folder that is not empty', async () => {
    await expect(scaffoldPlugin(path.join(parent, 'x'), { type: 'acme' })).rejects.toBeInstanceOf(ScaffoldError);
    await expect(scaffoldPlugin(dir, { type: 'ACME_THING_V1' })).rejects.toThrow(/not empty/);
    await writeFile(path.join(parent, 'file'), '');
    await expect(scaffoldPlugin(path.join(parent, 'file'), { type: 'ACME_THING_V1' })).rejects.toBeInstanceOf(ScaffoldError);
  });
});
