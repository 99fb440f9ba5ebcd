// `erpc webhooks list|replay`: the built CLI on an embedded database a host wrote webhook deliveries to.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { ConnectorDefinition } from '@erpc/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mockDefinition from '../../../plugins/connector-mock/src/index.js';
import { openHost } from '../../src/container.js';
import { registerFromSource, testConfig } from '../api/test-host.js';
import { Receiver } from '../webhooks/receiver.js';

const run = promisify(execFile);
const main = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

describe('erpc webhooks list / replay', () => {
  let dir: string;
  let receiver: Receiver;
  const env = () => ({ ...process.env, ERPC_DATA_DIR: path.join(dir, 'data'), DATABASE_URL: '', ENCRYPTION_MASTER_KEY: '' });
  const erpc = (args: string[]) => run(process.execPath, [main, ...args], { env: env(), timeout: 120_000 }).catch((e: { code: number; stdout: string; stderr: string }) => e);
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'erpc-webhooks-cli-'));
    receiver = await Receiver.start();
  });
  afterAll(async () => {
    await receiver.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('lists deliveries (--json, --status) and replays an event with the same webhook-id', async () => {
    const host = await openHost(testConfig({ ERPC_DATA_DIR: path.join(dir, 'data'), ERPC_WEBHOOKS_ALLOW_HTTP: 'loopback', ERPC_LOG_LEVEL: 'silent' }), {
      plugins: (registry, services) => registerFromSource(registry, services, 'connector-mock', mockDefinition as ConnectorDefinition<unknown>),
    });
    let secret: string;
    let orgId: string;
    try {
      const org = await host.services.organizations.create('cli');
      orgId = org.org.id;
      await host.services.connections.create(orgId, { connectorType: 'MOCK', name: 'm', config: { ack: 'off' }, activate: true } as never);
      secret = (await host.services.webhooks.create(orgId, { url: receiver.url('/cli'), events: ['push.delivered'] })).secret;
      await host.services.pushes.accept(orgId, { documentType: 'invoice', documentId: 'cli-1', payload: { n: 1 } });
      const runtime = host.createPushRuntime();
      expect(await runtime.worker.runOnce()).toBe(1);
      expect(await runtime.webhooks.runOnce()).toBe(1);
      await runtime.stop({ graceMs: 0 });
    } finally {
      await host.close();
    }
    expect(receiver.received).toHaveLength(1);
    const eventId = receiver.received[0]!.headers['webhook-id'];

    const listed = await erpc(['webhooks', 'list', '--json']);
    const items = JSON.parse((listed as { stdout: string }).stdout).items as { eventId: string; status: string; orgId: string; attempts: number; url: string }[];
    expect(items).toEqual([expect.objectContaining({ eventId, status: 'DELIVERED', orgId, attempts: 1, url: receiver.url('/cli') })]);
    expect((listed as { stdout: string }).stdout).not.toContain(secret!);
    const failed = await erpc(['webhooks', 'list', '--status', 'failed', '--json']);
    expect(JSON.parse((failed as { stdout: string }).stdout)).toEqual({ items: [] });
    const text = await erpc(['webhooks', 'list']);
    expect((text as { stdout: string }).stdout).toContain(eventId!);
    const badStatus = await erpc(['webhooks', 'list', '--status', 'nope']);
    expect(badStatus).toMatchObject({ code: 2 });

    const replay = await erpc(['webhooks', 'replay', eventId!, '--json']);
    expect(JSON.parse((replay as { stdout: string }).stdout)).toMatchObject({ eventId, deliveries: [{ status: 'PENDING', attempts: 0 }] });
    const missing = await erpc(['webhooks', 'replay', '00000000-0000-4000-8000-000000000000']);
    expect(missing).toMatchObject({ code: 3, stderr: expect.stringContaining('ERPC_ERR_WEBHOOK_EVENT_NOT_FOUND') });
  }, 300_000);
});
