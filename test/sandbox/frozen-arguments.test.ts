import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { testBackends } from '../../core/test/support/db.js';
import { createLogger } from '../../core/src/logging/logger.js';
import { openHostWithPlugin, untilDelivered } from './support.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const FIXTURE = path.join(repoRoot, 'test/fixtures/sandbox/reports-frozen');
const backend = testBackends()[0]!;

/**
 * A plugin sees the same arguments in a sandbox as in the host: the document frozen (its fields,
 * as the host's toDocument freezes it), its payload not, the config deep-frozen, the context
 * frozen. The sandbox used to deep-freeze each document's payload as well, about a tenth of its
 * CPU per push (ADR 0048).
 */
describe(`plugin sandbox: what a push is handed is frozen as in the host, on ${backend.name}`, () => {
  it('document frozen, payload not, config deep-frozen, ctx frozen: in-process and sandboxed alike', { timeout: 60_000 }, async () => {
    const seen: Record<string, unknown> = {};
    for (const isolation of ['in-process', 'process'] as const) {
      const logger = createLogger({ level: 'warn', destination: new Writable({ write: (_c, _e, cb) => cb() }) });
      const { host, close } = await openHostWithPlugin(backend, FIXTURE, { ERPC_PLUGIN_ISOLATION: isolation }, logger);
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
        await close();
      }
    }
    const expected = { document: true, payload: false, line: false, config: true, configNested: true, ctx: true };
    expect(seen['in-process']).toEqual(expected);
    expect(seen.process).toEqual(expected);
  });
});
