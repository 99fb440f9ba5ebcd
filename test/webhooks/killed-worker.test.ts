import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends, type TestDatabase } from '../../core/test/support/db.js';
import { Receiver } from '../../core/test/webhooks/receiver.js';
import { ConfigCipher, keyringFromEnv } from '../../core/src/crypto/index.js';
import { encryptSecrets, generateWebhookSecret } from '../../core/src/webhooks/webhook-secret.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const postgres = testBackends().find((b) => b.name === 'postgres');

/**
 * A real `erpc worker` process (built dist) is SIGKILLed while the receiver holds its webhook
 * request open; a second worker process sends the event again after the lease, with the same
 * webhook-id and a valid signature. Skipped only without TEST_DATABASE_URL.
 */
describe.skipIf(postgres === undefined)('a webhook worker process killed mid-delivery (PostgreSQL)', () => {
  let t: TestDatabase;
  let receiver: Receiver;
  const workers: ChildProcess[] = [];
  beforeAll(async () => {
    t = await postgres!.open();
    receiver = await Receiver.start();
  });
  afterAll(async () => {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    await receiver?.close();
    await t?.close();
  });

  it('loses no event', { timeout: 120_000 }, async () => {
    const masterKey = randomBytes(32).toString('hex');
    const cipher = new ConfigCipher(keyringFromEnv({ ENCRYPTION_MASTER_KEY: masterKey }));
    const orgId = randomUUID();
    const connectionId = randomUUID();
    const endpointId = randomUUID();
    const now = new Date();
    await t.db('organization').insert({ id: orgId, name: 'kill', created_at: now, updated_at: now });
    const { blob, keyId } = cipher.encrypt({ ack: 'off' }, { orgId, connectionId });
    await t.db('erp_connection').insert({ id: connectionId, org_id: orgId, connector_type: 'MOCK', name: 'm', status: 'ACTIVE', config_encrypted: blob, config_key_id: keyId, created_at: now, updated_at: now });
    const secret = generateWebhookSecret();
    const enc = encryptSecrets(cipher, orgId, endpointId, { current: secret });
    await t.db('webhook_endpoint').insert({
      id: endpointId, org_id: orgId, url: receiver.url('/kill'), events: ['push.delivered'], enabled: true,
      secret_encrypted: enc.blob, secret_key_id: enc.keyId, created_at: now, updated_at: now,
    });
    await t.db('push').insert({
      id: randomUUID(), org_id: orgId, connection_id: connectionId, connector_type: 'MOCK', document_type: 'invoice', document_id: 'K-1',
      idempotency_key: 'invoice:K-1', payload_text: '{"n":1}', payload_sha256: 'x', status: 'PENDING', attempts: 0, next_attempt_at: now, created_at: now, updated_at: now,
    });

    const env = {
      ...process.env,
      DATABASE_URL: t.url!,
      ENCRYPTION_MASTER_KEY: masterKey,
      ERPC_PLUGIN_DIRS: path.join(repoRoot, 'plugins'),
      ERPC_PLUGIN_TRUSTED: 'MOCK',
      ERPC_LOG_LEVEL: 'warn',
      ERPC_WEBHOOKS_ALLOW_HTTP: 'loopback',
      // The lease is the timeout + 30 s: keep both short so the second worker takes over soon.
      ERPC_WEBHOOK_TIMEOUT_MS: '60000',
    };
    const start = () => {
      const w = spawn(process.execPath, [path.join(repoRoot, 'core/dist/cli/main.js'), 'worker'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      workers.push(w);
      return new Promise<ChildProcess>((resolve, reject) => {
        w.stdout!.on('data', (d: Buffer) => String(d).includes('running') && resolve(w));
        w.once('exit', (code) => reject(new Error(`worker exited early (${code})`)));
      });
    };
    receiver.respond = () => (receiver.received.length === 1 ? 'hang' : { status: 200 });
    const first = await start();
    await receiver.waitFor(() => receiver.received.length >= 1, 30_000);
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const held = await t.db('webhook_delivery').first();
    expect(held).toMatchObject({ status: 'PROCESSING', attempts: 1 });
    // The killed worker's lease ends 90 s after the claim; shorten it as the clock would.
    await t.db('webhook_delivery').update({ locked_until: new Date(Date.now() - 1000) });
    await start();
    await receiver.waitFor(() => receiver.received.length >= 2, 30_000);
    const [a, b] = receiver.received;
    expect(b!.headers['webhook-id']).toBe(a!.headers['webhook-id']);
    expect((new Webhook(secret).verify(b!.body, b!.headers) as { type: string }).type).toBe('push.delivered');
    for (let i = 0; i < 100 && (await t.db('webhook_delivery').first()).status !== 'DELIVERED'; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await t.db('webhook_delivery').first()).toMatchObject({ status: 'DELIVERED', attempts: 2 });
    expect(Number((await t.db('webhook_event').count({ n: '*' }).first())!.n)).toBe(1);
  });
});
