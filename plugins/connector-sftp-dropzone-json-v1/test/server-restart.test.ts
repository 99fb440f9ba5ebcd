import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isConnectorError, type PushDocument, type PushReceipt } from '@erpc/sdk';
import { createSftpDropzoneConnector } from '../src/index.js';
import { configFor, ctxFor, doc, readEnvelope } from './helpers.js';
import { HAVE_SSHD, startSshd, type Sshd } from './sshd.js';

const suite = HAVE_SSHD || process.env.CI ? describe : describe.skip;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let server: Sshd;
beforeAll(async () => {
  if (HAVE_SSHD || process.env.CI) server = await startSshd();
});
afterAll(async () => {
  await server?.stop();
});

suite('SFTP_DROPZONE_JSON_V1 when sshd is killed in the middle of 200 pushes', () => {
  it('reconnects after the restart; every push is delivered, exactly one file each, no temporary left', async () => {
    const sftp = createSftpDropzoneConnector();
    const config = configFor(server, { layout: 'flat', maxConcurrentUploads: 4, connectTimeoutMs: 2000 });
    const docs = Array.from({ length: 200 }, () => doc());
    const failures = new Map<string, number>();
    let delivered = 0;

    // What the host does: retry a retryable failure as the next attempt (attempt > 1 tells the
    // connector an earlier attempt may have died half-way).
    const deliver = async (d: PushDocument): Promise<PushReceipt> => {
      for (let attempt = 1; attempt <= 100; attempt++) {
        try {
          const receipt = await sftp.push({ ...d, attempt }, ctxFor(config));
          delivered += 1;
          return receipt;
        } catch (err) {
          if (!isConnectorError(err) || !err.retryable) throw err;
          failures.set(err.code, (failures.get(err.code) ?? 0) + 1);
          await sleep(25);
        }
      }
      throw new Error(`push ${d.pushId} was never delivered`);
    };
    const queue = [...docs];
    const receipts = new Map<string, PushReceipt>();
    // Eight workers for one connection, as several host workers would be: more pushes in flight
    // than maxConcurrentUploads, so some wait for a channel when the server dies.
    const workers = Array.from({ length: 8 }, async () => {
      for (let d = queue.shift(); d; d = queue.shift()) receipts.set(d.pushId, await deliver(d));
    });
    const chaos = (async () => {
      while (delivered < 70) await sleep(1);
      await server.kill();
      await sleep(300);
      await server.start();
    })();
    await Promise.all([...workers, chaos]);

    // The kill landed in the middle of uploads, and the pushes recovered through new connections.
    expect(failures.get('SFTP_DROPZONE_CONNECTION_LOST') ?? 0, JSON.stringify([...failures])).toBeGreaterThan(0);
    expect(receipts.size).toBe(200);
    const names = readdirSync(server.drop).sort();
    expect(names.filter((n) => !n.endsWith('.json'))).toEqual([]); // no temporary, no stray entry
    expect(names).toHaveLength(200);
    expect(names).toEqual([...receipts.values()].map((r) => r.externalRef).sort());
    for (const d of docs) {
      const env = readEnvelope(join(server.drop, receipts.get(d.pushId)!.externalRef));
      expect(env.idempotencyKey).toBe(d.idempotencyKey);
    }
    await sftp.dispose();
  }, 60_000);
});
