import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { createDropzoneConnector } from '../src/index.js';
import { cleanSandboxes, ctxFor, doc, hookedTransport, listTree, makeSandbox, readEnvelope } from './helpers.js';

afterEach(cleanSandboxes);

/**
 * A reader on its own thread (true parallelism with the writer's fs calls), doing what an ERP
 * import job does: list the folder and parse every *.json it sees. Reports every parse failure.
 */
const READER = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
let stop = false, listings = 0;
const seen = new Set(), failures = [];
parentPort.on('message', () => { stop = true; });
function pass() {
  listings++;
  for (const name of fs.readdirSync(workerData.dir)) {
    // The moment a name first appears is when a non-atomic writer would show a partial file.
    if (!name.endsWith('.json') || seen.has(name)) continue;
    const text = fs.readFileSync(workerData.dir + '/' + name, 'utf8');
    try { JSON.parse(text); seen.add(name); } catch (e) { failures.push(name + ': ' + e.message + ' (' + text.length + ' bytes)'); seen.add(name); }
  }
}
function loop() {
  for (let i = 0; i < 20 && !stop; i++) pass();
  if (stop) { pass(); parentPort.postMessage({ parsed: seen.size, listings, failures }); }
  else setImmediate(loop);
}
loop();
`;

describe('DROPZONE_JSON_V1 under concurrency', () => {
  it('a reader listing the folder during 1,000 writes never parses a partial .json', async () => {
    const { root } = makeSandbox();
    const worker = new Worker(READER, { eval: true, workerData: { dir: root } });
    const connector = createDropzoneConnector();
    // Payloads of ~64 KiB so a write spans several syscalls and a torn read would be visible.
    const big = 'x'.repeat(64 * 1024);
    for (let i = 0; i < 1000; i++) {
      await connector.push(doc({ payload: { i, big } }), ctxFor({ rootPath: root, layout: 'flat' }));
    }
    const report = await new Promise<{ parsed: number; listings: number; failures: string[] }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.postMessage('stop');
    });
    await worker.terminate();
    expect(report.failures).toEqual([]);
    expect(report.listings).toBeGreaterThan(1000); // the reader really ran alongside the writes
    expect(report.parsed).toBe(1000);
    expect(readdirSync(root).filter((n) => n.endsWith('.json'))).toHaveLength(1000);
    expect(readdirSync(root).filter((n) => !n.endsWith('.json'))).toEqual([]);
  }, 120_000);

  it('the same key pushed concurrently by two callers (two connector instances) yields one file', async () => {
    const { root } = makeSandbox();
    // A barrier at create: both callers pass the "already there?" check before either publishes,
    // so the race is really exercised, every run.
    let arrived = 0;
    let open!: () => void;
    const bothHere = new Promise<void>((r) => (open = r));
    const barrier = async () => {
      arrived += 1;
      if (arrived === 2) open();
      await bothHere;
    };
    const a = hookedTransport({ beforeCreate: barrier });
    const b = hookedTransport({ beforeCreate: barrier });
    const d = doc();
    const [ra, rb] = await Promise.all([
      createDropzoneConnector({ transport: a }).push(d, ctxFor({ rootPath: root })),
      createDropzoneConnector({ transport: b }).push({ ...d, pushId: 'other-worker' }, ctxFor({ rootPath: root })),
    ]);
    expect(ra.externalRef).toBe(rb.externalRef);
    expect(listTree(root)).toEqual(['invoice', ra.externalRef]);
    // Exactly one caller published; the other found the winner's file.
    expect([ra.details?.alreadyDelivered, rb.details?.alreadyDelivered].filter(Boolean)).toHaveLength(1);
    readEnvelope(join(root, ra.externalRef));
  });

  it('many callers racing on a handful of keys: one file per key', async () => {
    const { root } = makeSandbox();
    const docs = [doc(), doc(), doc()];
    const callers = Array.from({ length: 4 }, () => createDropzoneConnector());
    const receipts = await Promise.all(
      callers.flatMap((c) => docs.map((d) => c.push(d, ctxFor({ rootPath: root, layout: 'flat' })))),
    );
    const refs = new Set(receipts.map((r) => r.externalRef));
    expect(refs.size).toBe(3);
    expect(readdirSync(root).sort()).toEqual([...refs].sort());
  });
});
