import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { testBackends } from '../../core/test/support/db.js';
import { openHost } from '../../core/src/container.js';
import { keyringFromEnv } from '../../core/src/crypto/index.js';
import { createLogger } from '../../core/src/logging/logger.js';
import { loadHostConfig } from '../../core/src/settings/index.js';
import { untilDelivered } from './support.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const FIXTURE = path.join(repoRoot, 'test/fixtures/sandbox/reports-frozen');
const backend = testBackends()[0]!;

/**
 * A plugin sees the same arguments in a sandbox as in the host: the document frozen (its fields,
 * as the host's toDocument freezes it), its payload not, the config deep-frozen, the context
 * frozen. The sandbox used to deep-freeze each document's payload as well, about a tenth of its
 * CPU per push (ADR 0047, addendum).
 */
describe(`plugin sandbox: what a push is handed is frozen as in the host, on ${backend.name}`, () => {
  it('document frozen, payload not, config deep-frozen, ctx frozen: in-process and sandboxed alike', { timeout: 60_000 }, async () => {
    const seen: Record<string, unknown> = {};
    for (const isolation of ['in-process', 'process'] as const) {
      const t = await backend.open();
      const plugins = await mkdtemp(path.join(tmpdir(), 'erpc-frozen-'));
      await chmod(plugins, 0o755);
      await symlink(FIXTURE, path.join(plugins, 'reports-frozen'));
      const dataDir = await mkdtemp(path.join(tmpdir(), 'erpc-frozen-data-'));
      const logger = createLogger({ level: 'warn', destination: new Writable({ write: (_c, _e, cb) => cb() }) });
      const config = loadHostConfig({ env: { ERPC_PLUGIN_DIRS: plugins, ERPC_SCHEMA_CACHE_DIR: 'off', ERPC_DATA_DIR: dataDir, ERPC_PLUGIN_ISOLATION: isolation } });
      const host = await openHost(config, { db: t.db, keyring: keyringFromEnv({ ENCRYPTION_MASTER_KEY: randomBytes(32).toString('hex') }), logger });
      const runtime = host.createPushRuntime({ pollIntervalMs: 50 });
      try {
        expect(host.registry.plugin('REPORTS_FROZEN_V1').isolation ?? 'in-process').toBe(isolation);
        await runtime.start();
        const org = (await host.services.organizations.create('frozen')).org.id;
        await host.services.connections.create(org, { connectorType: 'REPORTS_FROZEN_V1', name: 'f', config: { nested: { a: 1 } }, activate: true });
        const { push } = await host.services.pushes.accept(org, { documentType: 'invoice', documentId: 'F-1', payload: { lines: [{ qty: 2 }] } });
        const [view] = await untilDelivered(host, org, [push.id]);
        expect(view).toMatchObject({ status: 'DELIVERED', attempts: 1 });
        seen[isolation] = (view as { receiptDetails?: unknown }).receiptDetails;
      } finally {
        await runtime.stop();
        await host.close();
        await t.close();
        await rm(plugins, { recursive: true, force: true });
        await rm(dataDir, { recursive: true, force: true });
      }
    }
    const expected = { document: true, payload: false, line: false, config: true, configNested: true, ctx: true };
    expect(seen['in-process']).toEqual(expected);
    expect(seen.process).toEqual(expected);
  });
});
