import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Logger } from '../../core/src/logging/logger.js';
import { openHost, type Host } from '../../core/src/container.js';
import { keyringFromEnv } from '../../core/src/crypto/index.js';
import { loadHostConfig } from '../../core/src/settings/index.js';
import type { TestBackend } from '../../core/test/support/db.js';

/** Waits up to `timeoutMs` until every push is DELIVERED (or the time is up), then returns their views. */
export async function untilDelivered(host: Host, orgId: string, ids: readonly string[], timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const views = await Promise.all(ids.map((id) => host.services.pushes.get(orgId, id)));
    if (views.every((v) => v.status === 'DELIVERED') || Date.now() > deadline) return views;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * A host on a fresh database of `backend` whose only plugin folder holds `pluginDir` (linked in
 * under its own name), with a data directory of its own, no schema cache and `env` on top.
 * `close` closes the host and the database and removes both folders (stop a runtime first).
 */
export async function openHostWithPlugin(backend: TestBackend, pluginDir: string, env: Record<string, string>, logger: Logger): Promise<{ host: Host; close(): Promise<void> }> {
  const t = await backend.open();
  const plugins = await mkdtemp(path.join(tmpdir(), 'erpc-plugins-'));
  await chmod(plugins, 0o755);
  await symlink(pluginDir, path.join(plugins, path.basename(pluginDir)));
  const dataDir = await mkdtemp(path.join(tmpdir(), 'erpc-data-'));
  const config = loadHostConfig({ env: { ERPC_PLUGIN_DIRS: plugins, ERPC_SCHEMA_CACHE_DIR: 'off', ERPC_DATA_DIR: dataDir, ...env } });
  const host = await openHost(config, { db: t.db, keyring: keyringFromEnv({ ENCRYPTION_MASTER_KEY: randomBytes(32).toString('hex') }), logger });
  return {
    host,
    async close() {
      await host.close();
      await t.close();
      for (const d of [plugins, dataDir]) await rm(d, { recursive: true, force: true });
    },
  };
}
