import { afterEach, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { Keyring, ConfigCipher, generateKey } from '../../src/crypto/index.js';
import { KeyRotationService } from '../../src/keys/key-rotation-service.js';
import { Repositories } from '../../src/storage/repositories/index.js';
import { decryptSecrets } from '../../src/webhooks/webhook-secret.js';
import { auth } from '../api/test-host.js';
import { testBackends } from '../support/db.js';
import { sleep, verified, webhookWorld, type WebhookWorld } from './support.js';

describe.each(testBackends())('webhook endpoints on $name', (backend) => {
  let world: WebhookWorld;
  afterEach(async () => world?.close());

  it('during a secret rotation both secrets verify; after expire-old-secret only the new one', { timeout: 30_000 }, async () => {
    world = await webhookWorld(backend);
    const o = await world.org({ ack: 'off' }, ['push.delivered']);
    const rotated = await world.host.app.inject({ method: 'POST', url: `/v1/webhook-endpoints/${o.endpointId}/rotate-secret`, headers: auth(o.apiKey) });
    expect(rotated.statusCode).toBe(200);
    const newSecret = rotated.json().secret as string;
    expect(newSecret).toMatch(/^whsec_/);
    expect(newSecret).not.toBe(o.secret);
    const expires = Date.parse(rotated.json().previousSecretExpiresAt);
    expect(expires - Date.now()).toBeGreaterThan(23.9 * 3_600_000);

    await world.push(o.apiKey, 'inv-rot-1');
    await world.receiver.waitFor(() => world.of(o.orgId).length >= 1);
    const during = world.of(o.orgId)[0]!;
    expect(during.headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(verified(o.secret, during).type).toBe('push.delivered');
    expect(verified(newSecret, during).type).toBe('push.delivered');

    const expired = await world.host.app.inject({ method: 'POST', url: `/v1/webhook-endpoints/${o.endpointId}/expire-old-secret`, headers: auth(o.apiKey) });
    expect(expired.statusCode).toBe(200);
    expect(expired.json().previousSecretExpiresAt).toBeNull();
    expect(expired.json().secret).toBeUndefined();
    const again = await world.host.app.inject({ method: 'POST', url: `/v1/webhook-endpoints/${o.endpointId}/expire-old-secret`, headers: auth(o.apiKey) });
    expect(again.statusCode).toBe(409);
    expect(again.json().error.code).toBe('ERPC_ERR_WEBHOOK_NO_PREVIOUS_SECRET');

    await world.push(o.apiKey, 'inv-rot-2');
    await world.receiver.waitFor(() => world.of(o.orgId).length >= 2);
    const after = world.of(o.orgId)[1]!;
    expect(after.headers['webhook-signature']!.split(' ')).toHaveLength(1);
    expect(verified(newSecret, after).type).toBe('push.delivered');
    expect(() => new Webhook(o.secret).verify(after.body, after.headers)).toThrow(/signature/i);
  });

  it('one organisation never sees another\'s endpoints, deliveries or events', { timeout: 30_000 }, async () => {
    world = await webhookWorld(backend);
    const a = await world.org({ ack: 'off' }, ['push.delivered']);
    const b = await world.org({ ack: 'off' }, ['push.delivered']);
    await world.push(a.apiKey, 'inv-a');
    await world.receiver.waitFor(() => world.of(a.orgId).length >= 1);
    const eventId = world.of(a.orgId)[0]!.headers['webhook-id']!;
    const before = await world.host.database.db('webhook_endpoint').where({ id: a.endpointId }).first();
    const routes: [string, string, object?][] = [
      ['GET', `/v1/webhook-endpoints/${a.endpointId}`],
      ['PATCH', `/v1/webhook-endpoints/${a.endpointId}`, { url: world.receiver.url('/stolen') }],
      ['DELETE', `/v1/webhook-endpoints/${a.endpointId}`],
      ['POST', `/v1/webhook-endpoints/${a.endpointId}/rotate-secret`],
      ['POST', `/v1/webhook-endpoints/${a.endpointId}/expire-old-secret`],
      ['GET', `/v1/webhook-endpoints/${a.endpointId}/deliveries`],
    ];
    for (const [method, url, payload] of routes) {
      const res = await world.host.app.inject({ method: method as 'GET', url, headers: auth(b.apiKey), ...(payload ? { payload } : {}) });
      expect(res.statusCode, `${method} ${url}`).toBe(404);
      expect(res.json().error.code).toBe('ERPC_ERR_WEBHOOK_ENDPOINT_NOT_FOUND');
    }
    const replay = await world.host.app.inject({ method: 'POST', url: `/v1/webhook-events/${eventId}/replay`, headers: auth(b.apiKey) });
    expect(replay.statusCode).toBe(404);
    expect(replay.json().error.code).toBe('ERPC_ERR_WEBHOOK_EVENT_NOT_FOUND');
    const list = (await world.host.app.inject({ method: 'GET', url: '/v1/webhook-endpoints', headers: auth(b.apiKey) })).json();
    expect(list.items.map((e: { id: string }) => e.id)).toEqual([b.endpointId]);
    // B's own endpoint got nothing of A's push.
    expect(world.of(b.orgId)).toHaveLength(0);
    for (const [method, url] of [...routes.map(([m, u]) => [m, u]), ['GET', '/v1/webhook-endpoints'], ['POST', '/v1/webhook-endpoints'], ['POST', `/v1/webhook-events/${eventId}/replay`]] as [string, string][]) {
      expect((await world.host.app.inject({ method: method as 'GET', url })).statusCode, `${method} ${url} without a key`).toBe(401);
    }
    expect(await world.host.database.db('webhook_endpoint').where({ id: a.endpointId }).first()).toEqual(before);
  });

  it('the signing secret never appears in logs, in answers after creation, or in the database in plaintext; keys rotate rewrites it', { timeout: 30_000 }, async () => {
    const oldKey = generateKey();
    world = await webhookWorld(backend, {}, { keyHex: oldKey });
    const o = await world.org({ ack: 'off' }, ['push.delivered']);
    const rotated = (await world.host.app.inject({ method: 'POST', url: `/v1/webhook-endpoints/${o.endpointId}/rotate-secret`, headers: auth(o.apiKey) })).json();
    const secrets = [o.secret, rotated.secret as string];
    await world.push(o.apiKey, 'inv-canary');
    await world.receiver.waitFor(() => world.of(o.orgId).length >= 1);
    const answers = [
      await world.host.app.inject({ method: 'GET', url: `/v1/webhook-endpoints/${o.endpointId}`, headers: auth(o.apiKey) }),
      await world.host.app.inject({ method: 'GET', url: '/v1/webhook-endpoints', headers: auth(o.apiKey) }),
      await world.host.app.inject({ method: 'PATCH', url: `/v1/webhook-endpoints/${o.endpointId}`, headers: auth(o.apiKey), payload: { description: 'x' } }),
      await world.host.app.inject({ method: 'GET', url: `/v1/webhook-endpoints/${o.endpointId}/deliveries`, headers: auth(o.apiKey) }),
      await world.host.app.inject({ method: 'POST', url: `/v1/webhook-endpoints/${o.endpointId}/expire-old-secret`, headers: auth(o.apiKey) }),
      await world.host.app.inject({ method: 'GET', url: '/docs/json' }),
    ];
    // Each secret, and its key bytes in any of the encodings one might leak them in.
    const canaries = secrets.flatMap((s) => {
      const key = Buffer.from(s.slice('whsec_'.length), 'base64');
      return [s, s.slice('whsec_'.length), key.toString('hex'), key.toString('base64url')];
    });
    const dbText = JSON.stringify(
      await Promise.all(['webhook_endpoint', 'webhook_event', 'webhook_delivery'].map((t) => world.host.database.db(t).select('*'))),
      (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('latin1') + Buffer.from(v).toString('hex') + Buffer.from(v).toString('base64') : v),
    );
    for (const canary of canaries) {
      for (const a of answers) expect(a.body).not.toContain(canary);
      expect(world.host.logs.join('\n')).not.toContain(canary);
      expect(dbText).not.toContain(canary);
      // Nor in what the receiver got (the body is the event; the headers carry only signatures).
      expect(JSON.stringify(world.receiver.received)).not.toContain(canary);
    }

    // `erpc keys rotate`'s service rewrites the secret under the new key; deliveries still verify.
    const repositories = new Repositories(world.host.database.db);
    const next = generateKey();
    const keyring = new Keyring(next, [oldKey]);
    const report = await new KeyRotationService(repositories.connections, keyring, new ConfigCipher(keyring), repositories.webhookSecrets).rotate();
    expect(report.failed).toEqual([]);
    const row = await world.host.database.db('webhook_endpoint').where({ id: o.endpointId }).first();
    expect(row.secret_key_id).toBe(keyring.activeKeyId);
    expect(decryptSecrets(new ConfigCipher(new Keyring(next)), o.orgId, o.endpointId, row.secret_encrypted, row.secret_key_id).current).toBe(rotated.secret);
    // Bound to its row: the ciphertext does not open as another endpoint's.
    expect(() => decryptSecrets(new ConfigCipher(new Keyring(next)), o.orgId, '00000000-0000-4000-8000-000000000000', row.secret_encrypted, row.secret_key_id)).toThrow();
  });

  it('refuses URLs it must not send to, with clear codes (422); unknown event types too', { timeout: 30_000 }, async () => {
    world = await webhookWorld(backend);
    const { apiKey } = await world.host.createOrg('urls');
    const create = (url: string, extra: object = {}) => world.host.app.inject({ method: 'POST', url: '/v1/webhook-endpoints', headers: auth(apiKey), payload: { url, ...extra } });
    const cases: [string, string][] = [
      ['not a url', 'ERPC_ERR_WEBHOOK_URL_INVALID'],
      ['ftp://example.com/x', 'ERPC_ERR_WEBHOOK_URL_INVALID'],
      ['https://user:pw@example.com/x', 'ERPC_ERR_WEBHOOK_URL_INVALID'],
      ['http://example.com/x', 'ERPC_ERR_WEBHOOK_URL_INSECURE'],
      ['http://10.0.0.5/x', 'ERPC_ERR_WEBHOOK_URL_INSECURE'],
      ['https://10.0.0.5/x', 'ERPC_ERR_WEBHOOK_URL_PRIVATE'],
      ['https://192.168.1.1/x', 'ERPC_ERR_WEBHOOK_URL_PRIVATE'],
      ['https://169.254.169.254/latest/meta-data', 'ERPC_ERR_WEBHOOK_URL_PRIVATE'],
      ['https://[fe80::1]/x', 'ERPC_ERR_WEBHOOK_URL_PRIVATE'],
      ['https://[fd00::1]/x', 'ERPC_ERR_WEBHOOK_URL_PRIVATE'],
      ['https://[::ffff:10.1.2.3]/x', 'ERPC_ERR_WEBHOOK_URL_PRIVATE'],
      ['https://0.0.0.0/x', 'ERPC_ERR_WEBHOOK_URL_PRIVATE'],
      ['https://224.0.0.1/x', 'ERPC_ERR_WEBHOOK_URL_PRIVATE'],
      ['https://no-such-host.invalid/x', 'ERPC_ERR_WEBHOOK_URL_UNRESOLVABLE'],
    ];
    for (const [url, code] of cases) {
      const res = await create(url);
      expect(res.statusCode, url).toBe(422);
      expect(res.json().error.code, url).toBe(code);
    }
    const badEvent = await create(world.receiver.url('/ok'), { events: ['push.delivered', 'push.exploded'] });
    expect(badEvent.statusCode).toBe(422);
    expect(badEvent.json().error).toMatchObject({ code: 'ERPC_ERR_WEBHOOK_EVENT_TYPE_UNKNOWN' });
    expect(badEvent.json().error.message).toContain('push.acknowledged');
    // Loopback is allowed here (ERPC_WEBHOOKS_ALLOW_HTTP=loopback), over http and https.
    expect((await create(world.receiver.url('/ok'))).statusCode).toBe(201);
    expect((await create('https://[::1]:9/x')).statusCode).toBe(201);
    expect((await create('http://localhost:9/x')).statusCode).toBe(201);
    // CRUD basics.
    const made = (await create(world.receiver.url('/crud'), { description: 'ledger', events: ['push.dead'] })).json();
    expect(made).toMatchObject({ description: 'ledger', events: ['push.dead'], enabled: true });
    const patched = await world.host.app.inject({ method: 'PATCH', url: `/v1/webhook-endpoints/${made.id}`, headers: auth(apiKey), payload: { url: 'https://10.0.0.5/x' } });
    expect(patched.json().error.code).toBe('ERPC_ERR_WEBHOOK_URL_PRIVATE');
    const del = await world.host.app.inject({ method: 'DELETE', url: `/v1/webhook-endpoints/${made.id}`, headers: auth(apiKey) });
    expect(del.statusCode).toBe(204);
    expect((await world.host.app.inject({ method: 'GET', url: `/v1/webhook-endpoints/${made.id}`, headers: auth(apiKey) })).statusCode).toBe(404);
    expect((await world.host.app.inject({ method: 'GET', url: '/v1/webhook-endpoints/not-a-uuid', headers: auth(apiKey) })).statusCode).toBe(404);
  });

  it('checks the address again at delivery: an endpoint that now points at a refused address gets nothing', { timeout: 30_000 }, async () => {
    // Created while loopback was allowed; delivered by a host whose operator does not allow it.
    const first = await webhookWorld(backend, {}, { start: false });
    const o = await first.org({ ack: 'off' }, ['push.delivered']);
    await first.push(o.apiKey, 'inv-ssrf');
    await first.runtime.worker.runOnce();
    const { openHost } = await import('../../src/container.js');
    const { testConfig } = await import('../api/test-host.js');
    const strict = await openHost(testConfig({ ERPC_WEBHOOK_RETRY_SCHEDULE_MS: '100,100' }), { db: first.host.database.db, keyring: first.host.host.keyring, logger: first.host.host.logger, plugins: () => {} });
    const runtime = strict.createPushRuntime({ pollIntervalMs: 50 }, { pollIntervalMs: 50 });
    try {
      await runtime.webhooks.runOnce();
      await sleep(250);
      await runtime.webhooks.runOnce();
      await sleep(250);
      await runtime.webhooks.runOnce();
    } finally {
      await runtime.stop({ graceMs: 0 });
      await strict.close();
    }
    expect(first.of(o.orgId)).toHaveLength(0);
    const d = await first.host.database.db('webhook_delivery').first();
    expect(d.status).toBe('FAILED');
    expect(d.last_error).toMatch(/127\.0\.0\.1 \(loopback\)/);
    world = first;
  });
});

