import { chmod, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseExactJson } from '@erpc/sdk';
import { testBackends } from '../../core/test/support/db.js';
import { createLogger } from '../../core/src/logging/logger.js';
import { openHostWithPlugin, untilDelivered } from './support.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DROPZONE = path.join(repoRoot, 'plugins/connector-dropzone-json-v1');
const backend = testBackends()[0]!;
const EXACT = '{"net":118.00,"rate":0.1,"big":123456789012345678901234567890,"tiny":-0.000000000000000001,"huge":1e400,"neg0":-0,"lines":[{"qty":2,"price":59.00}]}';
const PLAIN = '{"net":118,"rate":0.1,"qty":2,"note":"Grüße \\u2713 \\"quoted\\"","nested":{"a":[1,2.5,-3]}}';

/**
 * The document crosses into the sandbox as JSON text. The sandbox skips the exact-number reviver
 * when a plain parse prints back to the same text (ADR 0046 addendum): a document with numbers
 * JavaScript does not carry exactly must still reach the ERP with their digits, and one without
 * them exactly as sent.
 */
describe(`plugin sandbox: exact numbers cross into the sandbox, on ${backend.name}`, () => {
  it('a sandboxed DROPZONE_JSON_V1 writes 118.00, a 30-digit integer, 1e400 and -0 with their digits, and a plain document as sent', { timeout: 60_000 }, async () => {
    const drops = await mkdtemp(path.join(tmpdir(), 'erpc-exact-drops-'));
    await chmod(drops, 0o777);
    const logger = createLogger({ level: 'warn', destination: new Writable({ write: (_c, _e, cb) => cb() }) });
    const { host, close } = await openHostWithPlugin(backend, DROPZONE, { ERPC_PLUGIN_GRANTS: JSON.stringify({ DROPZONE_JSON_V1: { fsWrite: [drops] } }) }, logger);
    const runtime = host.createPushRuntime({ pollIntervalMs: 50 });
    try {
      expect(host.registry.plugin('DROPZONE_JSON_V1').isolation).toBe('process');
      await runtime.start();
      const org = (await host.services.organizations.create('exact')).org.id;
      await host.services.connections.create(org, { connectorType: 'DROPZONE_JSON_V1', name: 'd', config: { rootPath: drops, layout: 'flat' }, activate: true });
      const ids: string[] = [];
      for (const [documentId, text] of [['EXACT-1', EXACT], ['PLAIN-1', PLAIN]] as const) {
        ids.push((await host.services.pushes.accept(org, { documentType: 'invoice', documentId, payload: parseExactJson(text) as Record<string, unknown> })).push.id);
      }
      for (const view of await untilDelivered(host, org, ids)) expect(view).toMatchObject({ status: 'DELIVERED', attempts: 1 });
      const files = (await readdir(drops)).filter((f) => f.endsWith('.json'));
      expect(files).toHaveLength(2);
      const texts = await Promise.all(files.map((f) => readFile(path.join(drops, f), 'utf8')));
      const exact = texts.find((x) => x.includes('EXACT-1'))!;
      const plain = texts.find((x) => x.includes('PLAIN-1'))!;
      for (const digits of ['"net":118.00', '"rate":0.1', '"big":123456789012345678901234567890', '"tiny":-0.000000000000000001', '"huge":1e400', '"neg0":-0', '"price":59.00']) {
        expect(exact, digits).toContain(digits);
      }
      // The envelope orders the payload's keys (its canonical form); the values are as sent.
      expect((JSON.parse(plain) as { payload: unknown }).payload).toEqual(JSON.parse(PLAIN));
    } finally {
      await runtime.stop();
      await close();
      await rm(drops, { recursive: true, force: true });
    }
  });
});
