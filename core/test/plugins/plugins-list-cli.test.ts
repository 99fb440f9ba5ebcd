import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// These tests run the built CLI (`pnpm test` builds first), exactly as `pnpm erpc` does.
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const MAIN = path.join(ROOT, 'core/dist/cli/main.js');
const FIXTURES = path.join(ROOT, 'test/fixtures/plugins');

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function erpc(args: string[], env: Record<string, string | undefined> = {}, killAfterMs = 30_000): Promise<Run> {
  const childEnv: Record<string, string | undefined> = { ...process.env, ERPC_PLUGIN_DIRS: undefined, ERPC_PLUGIN_IMPORT_TIMEOUT_MS: undefined, ...env };
  for (const k of Object.keys(childEnv)) if (childEnv[k] === undefined) delete childEnv[k];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { cwd: ROOT, env: childEnv as NodeJS.ProcessEnv });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // The bound: the CLI must end by itself within 30 s, even with a hanging plugin.
    const killer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

type Row = { dir: string; name: string | null; version: string | null; connectorType: string | null; status: string; error?: { code: string; message: string } };
const parse = (run: Run): Row[] => (JSON.parse(run.stdout) as { plugins: Row[] }).plugins;

/** The README's example plugin, extracted from the README itself, written outside the repository. */
function writeReadmePlugin(parent: string): string {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const dir = path.join(parent, 'acme-hello');
  mkdirSync(dir, { recursive: true });
  const blocks = [...readme.matchAll(/<!-- example-plugin: ([\w.]+) -->\n```\w*\n([\s\S]*?)\n```/g)];
  expect(blocks.map((b) => b[1]).sort()).toEqual(['config.schema.json', 'index.js', 'package.json']);
  for (const [, file, body] of blocks) writeFileSync(path.join(dir, file as string), `${body}\n`);
  return dir;
}

const temps: string[] = [];
afterAll(() => {
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});

describe('erpc plugins list', () => {
  it('lists MOCK and DROPZONE_JSON_V1 as loaded from the default ./plugins', async () => {
    const run = await erpc(['plugins', 'list', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const rows = parse(run);
    const byType = Object.fromEntries(rows.map((r) => [r.connectorType, r]));
    expect(byType.MOCK).toMatchObject({ status: 'loaded', name: '@erpc/connector-mock', dir: path.join(ROOT, 'plugins/connector-mock') });
    expect(byType.DROPZONE_JSON_V1).toMatchObject({ status: 'loaded', name: '@erpc/connector-dropzone-json-v1' });
    expect(rows.every((r) => r.status === 'loaded')).toBe(true);
  });

  it('loads the README plugin from outside the repo beside the broken fixtures, reports each failure and exits by itself', async () => {
    const outside = mkdtempSync(path.join(os.tmpdir(), 'erpc-third-party-'));
    temps.push(outside);
    const readmePlugin = writeReadmePlugin(outside);
    // Default import timeout (10 s): the hanging fixture must not hold the CLI.
    const run = await erpc(['plugins', 'list', '--plugins-dir', FIXTURES, '--plugins-dir', outside, '--json']);
    expect(run.signal, 'the CLI had to be killed').toBeNull();
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim().split('\n')).toHaveLength(1); // exactly one JSON document
    const rows = parse(run);
    expect(rows.find((r) => r.dir === readmePlugin)).toEqual({
      dir: readmePlugin,
      name: '@acme/erpc-connector-hello',
      version: '1.0.0',
      connectorType: 'ACME_HELLO_V1',
      status: 'loaded',
      // Sandboxed (the default); the README plugin declares nothing and gets nothing.
      isolation: 'process',
      capabilities: { declared: { network: false, fsWrite: [] }, granted: { network: false, fsWrite: [] } },
    });
    const failed = rows.filter((r) => r.status === 'failed');
    expect(failed.length).toBe(21);
    for (const r of failed) expect(r.error?.code).toMatch(/^ERPC_ERR_[A-Z_]+$/);
    expect(rows.find((r) => r.connectorType === 'FIXTURE_HANGS')?.error).toEqual({
      code: 'ERPC_ERR_PLUGIN_IMPORT_TIMEOUT',
      message: `Importing the entry module of the plugin in ${path.join(FIXTURES, 'import-never-finishes')} did not finish within 10000 ms.`,
    });
    expect(rows.filter((r) => r.status === 'loaded').map((r) => r.connectorType).sort()).toEqual([
      'ACME_HELLO_V1',
      'FIXTURE_DUPLICATE',
      'FIXTURE_GOOD_ALPHA',
      'FIXTURE_GOOD_SCOPED',
    ]);
  });

  it('exits 1 with --strict when a plugin failed, 0 when none did', async () => {
    const strictBroken = await erpc(['plugins', 'list', '--plugins-dir', FIXTURES, '--strict'], { ERPC_PLUGIN_IMPORT_TIMEOUT_MS: '500' });
    expect(strictBroken.code).toBe(1);
    expect(strictBroken.stdout).toMatch(/^STATUS\s+TYPE\s+NAME\s+VERSION\s+RUNS\s+GRANTED\s+DIR/);
    expect(strictBroken.stdout).toContain('ERPC_ERR_PLUGIN_IMPORT_TIMEOUT: Importing the entry module');
    expect(strictBroken.stdout).toContain('3 loaded, 21 failed');
    const strictGood = await erpc(['plugins', 'list', '--strict'], { ERPC_PLUGIN_DIRS: path.join(ROOT, 'plugins') });
    expect(strictGood.code, strictGood.stderr).toBe(0);
  });

  it('takes the folders from ERPC_PLUGIN_DIRS and reports a folder that cannot be read', async () => {
    const missing = path.join(os.tmpdir(), `erpc-no-such-dir-${process.pid}`);
    const run = await erpc(['plugins', 'list', '--json'], { ERPC_PLUGIN_DIRS: `${missing}:plugins` });
    expect(run.code).toBe(0);
    const rows = parse(run);
    expect(rows.find((r) => r.dir === missing)).toEqual({
      dir: missing,
      name: null,
      version: null,
      connectorType: null,
      status: 'failed',
      error: { code: 'ERPC_ERR_PLUGIN_DIR_UNREADABLE', message: `The plugin folder ${missing} cannot be read: it does not exist` },
    });
    expect(rows.some((r) => r.connectorType === 'MOCK' && r.status === 'loaded')).toBe(true);
  });

  it('rejects an unusable import timeout with ERPC_ERR_SETTING_INVALID (exit 3)', async () => {
    const run = await erpc(['plugins', 'list'], { ERPC_PLUGIN_IMPORT_TIMEOUT_MS: 'soon' });
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('error ERPC_ERR_SETTING_INVALID: The setting ERPC_PLUGIN_IMPORT_TIMEOUT_MS is invalid');
  });
});
