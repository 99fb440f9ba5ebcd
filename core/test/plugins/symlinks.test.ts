import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadHostConfig, openPluginHost, type ConnectorRegistry, type PluginLoadReport } from '../../src/index.js';
import { createLogger } from '../../src/logging/logger.js';

// Real symlinks in a temp folder: the containment check must hold after resolving them, whichever
// path component is the link (the plugin directory itself, a folder inside it, or the file).
const here = path.dirname(fileURLToPath(import.meta.url));
const GOOD = path.resolve(here, '../../../test/fixtures/plugins/good-alpha');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'erpc-symlinks-'));
const folder = path.join(tmp, 'plugins');
const outside = path.join(tmp, 'outside');

function plugin(name: string, type: string, manifest: Record<string, unknown> = {}): string {
  const dir = path.join(folder, name);
  cpSync(GOOD, dir, { recursive: true });
  const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { erpc: Record<string, unknown> };
  pkg.erpc = { ...pkg.erpc, connectorType: type, ...manifest };
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify(pkg));
  writeFileSync(path.join(dir, 'index.js'), readFileSync(path.join(GOOD, 'index.js'), 'utf8').replaceAll('FIXTURE_GOOD_ALPHA', type));
  return dir;
}

let report: PluginLoadReport;
let registry: ConnectorRegistry;

beforeAll(async () => {
  mkdirSync(folder, { recursive: true });
  mkdirSync(outside, { recursive: true });
  // The plugin directory is a link to a real package elsewhere (as in a pnpm node_modules).
  const real = path.join(tmp, 'store', 'linked');
  mkdirSync(path.dirname(real), { recursive: true });
  cpSync(plugin('linked-src', 'SYM_LINKED_DIR'), real, { recursive: true });
  rmSync(path.join(folder, 'linked-src'), { recursive: true });
  symlinkSync(real, path.join(folder, 'linked'), 'dir');
  // A folder inside the plugin linking to another folder inside it: allowed.
  const inner = plugin('inner-link', 'SYM_INNER_LINK', { entry: './lib/index.js' });
  mkdirSync(path.join(inner, 'real-lib'));
  cpSync(path.join(inner, 'index.js'), path.join(inner, 'real-lib', 'index.js'));
  symlinkSync(path.join(inner, 'real-lib'), path.join(inner, 'lib'), 'dir');
  // The entry file links outside the plugin: refused.
  const fileOut = plugin('entry-link-out', 'SYM_ENTRY_OUT');
  cpSync(path.join(fileOut, 'index.js'), path.join(outside, 'index.js'));
  rmSync(path.join(fileOut, 'index.js'));
  symlinkSync(path.join(outside, 'index.js'), path.join(fileOut, 'index.js'));
  // A folder on the way to the config schema links outside: refused.
  const dirOut = plugin('schema-dir-link-out', 'SYM_SCHEMA_OUT', { configSchema: './schemas/config.schema.json' });
  cpSync(path.join(dirOut, 'config.schema.json'), path.join(outside, 'config.schema.json'));
  symlinkSync(outside, path.join(dirOut, 'schemas'), 'dir');
  // A scope folder that is a link (its packages are found through it, checked against their real
  // paths): one package inside its real folder, one whose schema links out of it.
  const scopeReal = path.join(tmp, 'store', '@linked-scope');
  for (const [name, type] of [['ok', 'SYM_SCOPE_OK'], ['schema-out', 'SYM_SCOPE_SCHEMA_OUT']] as const) {
    const dir = plugin(`scope-${name}`, type);
    cpSync(dir, path.join(scopeReal, name), { recursive: true });
    rmSync(dir, { recursive: true });
  }
  rmSync(path.join(scopeReal, 'schema-out', 'config.schema.json'));
  symlinkSync(path.join(outside, 'config.schema.json'), path.join(scopeReal, 'schema-out', 'config.schema.json'));
  symlinkSync(scopeReal, path.join(folder, '@linked-scope'), 'dir');

  const config = loadHostConfig({ env: { ERPC_SCHEMA_CACHE_DIR: 'off', ERPC_PLUGIN_DIRS: folder, ERPC_PLUGIN_IMPORT_TIMEOUT_MS: '5000' } });
  const plugins = await openPluginHost(config, createLogger({ level: 'silent' }));
  report = plugins.report;
  registry = plugins.registry;
});

afterAll(async () => {
  await registry?.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

describe('plugin paths after resolving symlinks', () => {
  it('loads a linked plugin directory and a link that stays inside the plugin', () => {
    expect(report.loaded.map((p) => p.connectorType).sort()).toEqual(['SYM_INNER_LINK', 'SYM_LINKED_DIR', 'SYM_SCOPE_OK']);
  });

  it('refuses an entry file or a schema folder that links outside the plugin', () => {
    const failed = Object.fromEntries(report.failed.map((f) => [path.basename(f.dir), f.error.code]));
    expect(failed).toEqual({
      'entry-link-out': 'ERPC_ERR_PLUGIN_PATH_ESCAPE',
      'schema-dir-link-out': 'ERPC_ERR_PLUGIN_PATH_ESCAPE',
      'schema-out': 'ERPC_ERR_PLUGIN_PATH_ESCAPE',
    });
  });
});
