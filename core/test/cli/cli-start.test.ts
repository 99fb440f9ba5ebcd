import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const main = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const hook = fileURLToPath(new URL('../fixtures/loaded-modules-hook.mjs', import.meta.url));

/** The module URLs `erpc …args` resolved, and its output. */
async function loadedBy(...args: string[]): Promise<{ modules: string[]; stdout: string }> {
  const { stdout, stderr } = await run(process.execPath, ['--import', hook, main, ...args], { env: { ...process.env, DATABASE_URL: '' }, timeout: 60_000 });
  const line = stderr.split('\n').find((l) => l.startsWith('LOADED_MODULES '));
  if (line === undefined) throw new Error(`no module list in: ${stderr}`);
  return { modules: JSON.parse(line.slice('LOADED_MODULES '.length)) as string[], stdout };
}

// What a command that opens no database and no host must not load (ADR 0055): each of these
// takes tens of milliseconds to import.
const HEAVY = [/\/dist\/container\.js$/, /\/dist\/api\/app\.js$/, /\/knex\//, /\/pg\/lib\//, /\/@electric-sql\/pglite\//, /\/fastify\//, /\/@erpc\/conformance\/|\/packages\/conformance\//];

describe('erpc start-up', () => {
  it('--help lists every command without loading the container, the database drivers, the API or the conformance kit', async () => {
    const { modules, stdout } = await loadedBy('--help');
    expect(stdout).toContain('serve');
    expect(stdout).toContain('conformance');
    // The control: the hook sees what the CLI does load.
    expect(modules.some((m) => m.endsWith('/dist/cli/commands/index.js'))).toBe(true);
    for (const heavy of HEAVY) expect(modules.filter((m) => heavy.test(m))).toEqual([]);
  });

  it('keys generate loads none of them either', async () => {
    const { modules, stdout } = await loadedBy('keys', 'generate');
    expect(stdout).toMatch(/^[0-9a-f]{64}/);
    for (const heavy of HEAVY) expect(modules.filter((m) => heavy.test(m))).toEqual([]);
  });

  it('a command that opens a host loads the container', async () => {
    const { modules } = await loadedBy('plugins', 'list', '--json');
    expect(modules.some((m) => m.endsWith('/dist/container.js'))).toBe(true);
  });

  it('leaves no sandbox working folder behind: plugins list ends with process.exit while its check sandboxes stop', async () => {
    // The CLI's temporary folder (os.tmpdir() follows TMPDIR), so only its own folders are in it.
    const tmp = await mkdtemp(path.join(tmpdir(), 'erpc-cli-tmp-'));
    try {
      const plugins = fileURLToPath(new URL('../../../plugins', import.meta.url));
      const { stdout } = await run(process.execPath, [main, 'plugins', 'list', '--json'], { env: { ...process.env, TMPDIR: tmp, ERPC_PLUGIN_DIRS: plugins, DATABASE_URL: '' }, timeout: 60_000 });
      // The control: the plugins were checked in sandboxes (each with a folder in TMPDIR).
      expect(JSON.parse(stdout).plugins.filter((p: { status: string }) => p.status === 'loaded').length).toBeGreaterThan(0);
      expect((await readdir(tmp)).filter((f) => f.startsWith('erpc-sandbox-'))).toEqual([]);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });
});
