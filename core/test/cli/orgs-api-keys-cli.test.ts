import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openHost } from '../../src/container.js';
import { createLogger } from '../../src/logging/logger.js';
import { loadHostConfig } from '../../src/settings/index.js';

const run = promisify(execFile);
const main = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const repoPlugins = fileURLToPath(new URL('../../../plugins', import.meta.url));

/** The built CLI on a fresh embedded database (no server running: the commands open it themselves). */
describe('erpc orgs / api-keys', () => {
  let dir: string;
  const env = () => ({ ...process.env, ERPC_DATA_DIR: path.join(dir, 'data'), DATABASE_URL: '', ENCRYPTION_MASTER_KEY: '' });
  const erpc = (...args: string[]) => run(process.execPath, [main, ...args], { env: env(), timeout: 120_000 });
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'erpc-cli-'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('creates an organisation with a key shown once, adds, lists and revokes keys', async () => {
    const created = JSON.parse((await erpc('orgs', 'create', 'Acme', '--json')).stdout);
    expect(created).toEqual({ org: { id: expect.stringMatching(/^[0-9a-f-]{36}$/), name: 'Acme' }, apiKey: expect.stringMatching(/^erpc_[0-9a-f]{16}_/) });
    const orgs = JSON.parse((await erpc('orgs', 'list', '--json')).stdout);
    expect(orgs.items).toEqual([expect.objectContaining({ id: created.org.id, name: 'Acme' })]);

    const extra = JSON.parse((await erpc('api-keys', 'create', '--org', created.org.id, '--json')).stdout);
    expect(extra).toEqual({ id: expect.stringMatching(/^[0-9a-f]{16}$/), apiKey: expect.stringContaining(`erpc_${extra.id}_`) });
    await erpc('api-keys', 'revoke', extra.id);
    const listed = (await erpc('api-keys', 'list', '--org', created.org.id, '--json')).stdout;
    const keys = JSON.parse(listed).items;
    expect(keys).toHaveLength(2);
    expect(keys.find((k: { id: string }) => k.id === extra.id).revokedAt).not.toBeNull();
    // Listings never show a secret.
    for (const key of [created.apiKey, extra.apiKey]) expect(listed).not.toContain(key.split('_').slice(2).join('_'));

    const missing = await erpc('api-keys', 'create', '--org', '00000000-0000-0000-0000-000000000000').catch((e: { code: number; stderr: string }) => e);
    expect(missing).toMatchObject({ code: 3, stderr: expect.stringContaining('ERPC_ERR_ORG_NOT_FOUND') });
  }, 300_000);

  it('loads no plugin for commands that never call a connector: no sandbox, no plugin warning', async () => {
    // A plugin folder that cannot be read: loading plugins warns ERPC_ERR_PLUGIN_DIR_UNREADABLE.
    const broken = { ...env(), ERPC_PLUGIN_DIRS: path.join(dir, 'no-such-plugins') };
    const erpcWith = (...args: string[]) => run(process.execPath, [main, ...args], { env: broken, timeout: 120_000 });
    // The control: a command that loads plugins reports the folder.
    const plugins = await erpcWith('plugins', 'list', '--json').catch((e: { stdout: string }) => e);
    expect(plugins.stdout).toContain('ERPC_ERR_PLUGIN_DIR_UNREADABLE');

    const created = await erpcWith('orgs', 'create', 'Quiet', '--json');
    const orgId = JSON.parse(created.stdout).org.id as string;
    for (const out of [created, await erpcWith('orgs', 'list', '--json'), await erpcWith('api-keys', 'list', '--org', orgId, '--json'), await erpcWith('pushes', 'list', '--org', orgId, '--json')]) {
      expect(out.stderr).not.toContain('ERPC_ERR_PLUGIN');
    }
  }, 300_000);

  it('connections list still shows each connection through its connector: non-secret config, secretFields, no secret', async () => {
    const dataDir = path.join(dir, 'connections-data');
    const canary = `canary-${Date.now()}`;
    // Stored through the library on the same embedded database (and its local key) the CLI opens next.
    const host = await openHost(loadHostConfig({ env: { ERPC_DATA_DIR: dataDir, ERPC_PLUGIN_DIRS: repoPlugins } }), { logger: createLogger({ level: 'silent' }) });
    let orgId: string;
    try {
      orgId = (await host.services.organizations.create('Connections')).org.id;
      await host.services.connections.create(orgId, { connectorType: 'MOCK', name: 'Mock ERP', config: { behavior: 'ok', apiKey: canary } });
    } finally {
      await host.close();
    }
    const out = await run(process.execPath, [main, 'connections', 'list', '--org', orgId, '--json'], {
      env: { ...process.env, ERPC_DATA_DIR: dataDir, ERPC_PLUGIN_DIRS: repoPlugins, DATABASE_URL: '', ENCRYPTION_MASTER_KEY: '' },
      timeout: 120_000,
    });
    const items = JSON.parse(out.stdout).items as Record<string, unknown>[];
    expect(items).toEqual([expect.objectContaining({ connectorType: 'MOCK', name: 'Mock ERP', config: { behavior: 'ok' }, secretFields: ['/apiKey'] })]);
    expect(out.stdout).not.toContain(canary);
  }, 300_000);
});
