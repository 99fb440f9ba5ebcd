import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { testBackends } from '../../core/test/support/db.js';
import { createLogger } from '../../core/src/logging/logger.js';
import { leastLoggedLevel } from '../../core/src/plugins/sandbox/sandbox-supervisor.js';
import { openHostWithPlugin, untilDelivered } from './support.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const FIXTURE = path.join(repoRoot, 'test/fixtures/sandbox/logs-debug-chatter');
const backend = testBackends()[0]!;

/**
 * A sandboxed plugin's log lines below the host's level never cross the channel (ADR 0046): they
 * cost the sandbox nothing to write, and a chatty plugin's debug lines no longer use up the 200
 * printed lines a second, which used to drop its warnings.
 */
describe(`plugin sandbox: log levels, on ${backend.name}`, () => {
  it('the least severe level a logger writes', () => {
    const sink = new Writable({ write: (_c, _e, cb) => cb() });
    expect(leastLoggedLevel(createLogger({ level: 'debug', destination: sink }))).toBe('debug');
    expect(leastLoggedLevel(createLogger({ level: 'info', destination: sink }))).toBe('info');
    expect(leastLoggedLevel(createLogger({ level: 'error', destination: sink }))).toBe('error');
  });

  for (const level of ['info', 'debug'] as const) {
    it(`host at ${level}: a plugin's 1,000 debug lines per push ${level === 'info' ? 'never reach the log, and each push\'s warning does' : 'reach the log up to the printed-lines limit'}`, { timeout: 60_000 }, async () => {
      const logs: string[] = [];
      const logger = createLogger({ level, destination: new Writable({ write: (c, _e, cb) => (logs.push(String(c)), cb()) }) });
      const { host, close } = await openHostWithPlugin(backend, FIXTURE, {}, logger);
      const runtime = host.createPushRuntime({ pollIntervalMs: 50, concurrency: 1 });
      try {
        expect(host.registry.plugin('CHATTY_DEBUG_V1').isolation).toBe('process');
        await runtime.start();
        const org = (await host.services.organizations.create('chatty')).org.id;
        await host.services.connections.create(org, { connectorType: 'CHATTY_DEBUG_V1', name: 'c', config: {}, activate: true });
        const ids: string[] = [];
        for (let i = 1; i <= 3; i++) ids.push((await host.services.pushes.accept(org, { documentType: 'invoice', documentId: `C-${i}`, payload: { i } })).push.id);
        for (const view of await untilDelivered(host, org, ids)) expect(view).toMatchObject({ status: 'DELIVERED', attempts: 1 });
        // A dropped-lines warning is logged when its second is over.
        await new Promise((r) => setTimeout(r, 1_200));
        const debugLines = logs.filter((l) => l.includes('chatter debug'));
        const warnings = logs.filter((l) => l.includes('chatter warning'));
        const dropped = logs.filter((l) => l.includes('were not logged'));
        if (level === 'info') {
          expect(debugLines).toEqual([]);
          expect(warnings).toHaveLength(3);
          expect(dropped).toEqual([]);
        } else {
          expect(debugLines.length).toBeGreaterThan(0);
          expect(debugLines.length).toBeLessThanOrEqual(1_000);
          expect(dropped.length).toBeGreaterThan(0);
        }
      } finally {
        await runtime.stop();
        await close();
      }
    });
  }
});
