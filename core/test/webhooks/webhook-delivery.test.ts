import { afterEach, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { auth } from '../api/test-host.js';
import { testBackends } from '../support/db.js';
import { WebhookRepository } from '../../src/storage/repositories/webhook-repository.js';
import { sleep, verified, webhookWorld, type WebhookWorld } from './support.js';

const ALL = ['push.delivered', 'push.acknowledged', 'push.rejected', 'push.dead', 'push.retrying', 'connection.test_failed'];

describe.each(testBackends())('webhook delivery on $name', (backend) => {
  let world: WebhookWorld;
  afterEach(async () => world?.close());

  it('every outcome gives exactly one event of its type, in order per push, verified with standardwebhooks', { timeout: 60_000 }, async () => {
    world = await webhookWorld(backend);
    const acked = await world.org({ ack: 'acknowledge' }, ALL);
    const rejected = await world.org({ ack: 'reject' }, ALL);
    const dead = await world.org({ behavior: 'fail-permanent' }, ALL);
    const retried = await world.org({ failTimes: 1, ack: 'off' }, ALL);
    const pushes = {
      acked: await world.push(acked.apiKey, 'inv-1'),
      rejected: await world.push(rejected.apiKey, 'inv-2'),
      dead: await world.push(dead.apiKey, 'inv-3'),
      retried: await world.push(retried.apiKey, 'inv-4'),
    };
    const test = await world.host.app.inject({ method: 'POST', url: `/v1/connections/${dead.connectionId}/test`, headers: auth(dead.apiKey) });
    expect(test.json().ok).toBe(false);

    const expected: [typeof acked, string, string[], string[]][] = [
      [acked, pushes.acked, ['push.delivered', 'push.acknowledged'], ['DELIVERED', 'ACKNOWLEDGED']],
      [rejected, pushes.rejected, ['push.delivered', 'push.rejected'], ['DELIVERED', 'REJECTED']],
      [dead, pushes.dead, ['push.dead', 'connection.test_failed'], ['DEAD']],
      [retried, pushes.retried, ['push.retrying', 'push.delivered'], ['PENDING', 'DELIVERED']],
    ];
    await world.receiver.waitFor(() => expected.every(([o, , types]) => world.of(o.orgId).length >= types.length), 30_000);
    // Nothing more arrives: exactly one event per outcome.
    await sleep(600);
    for (const [o, pushId, types, statuses] of expected) {
      const got = world.of(o.orgId).map((r) => ({ r, body: verified(o.secret, r) }));
      expect(got.map((g) => g.body.type).sort()).toEqual([...types].sort());
      const pushEvents = got.filter((g) => g.body.type.startsWith('push.'));
      // In order per endpoint: the events of the push arrive in the order of its outcomes.
      expect(pushEvents.map((g) => g.body.type)).toEqual(types.filter((t) => t.startsWith('push.')));
      expect(pushEvents.map((g) => g.body.data.status)).toEqual(statuses);
      for (const { r, body } of pushEvents) {
        expect(body.data.id).toBe(pushId);
        // The push view of GET /v1/pushes/:id, the document exactly as sent (digits kept).
        expect(r.body).toContain('"payload":{"amount":118.5,"lines":[{"qty":1}]}');
        expect(Object.keys(body.data).sort()).toEqual(Object.keys((await world.host.app.inject({ method: 'GET', url: `/v1/pushes/${pushId}`, headers: auth(o.apiKey) })).json()).sort());
        expect(Number(r.headers['webhook-timestamp'])).toBeGreaterThan(Date.now() / 1000 - 60);
      }
      // Distinct events, distinct webhook-ids.
      expect(new Set(got.map((g) => g.r.headers['webhook-id'])).size).toBe(got.length);
    }
    const testFailed = world.of(dead.orgId).map((r) => verified(dead.secret, r)).find((b) => b.type === 'connection.test_failed')!;
    expect(testFailed.data).toMatchObject({ connectionId: dead.connectionId, connectorType: 'MOCK', ok: false });
    const events = await world.host.database.db('webhook_event').select('type', 'push_id');
    expect(events).toHaveLength(8);
    const deliveries = await world.host.database.db('webhook_delivery').where({ status: 'DELIVERED' }).count({ n: '*' }).first();
    expect(Number(deliveries!.n)).toBe(8);
  });

  it('keeps the order of a push\'s events while the first one is retried: push.acknowledged waits for push.delivered', { timeout: 30_000 }, async () => {
    world = await webhookWorld(backend, { ERPC_WEBHOOK_RETRY_SCHEDULE_MS: '700,700' });
    const o = await world.org({ ack: 'acknowledge' }, ['push.delivered', 'push.acknowledged']);
    let n = 0;
    world.receiver.respond = () => (++n === 1 ? { status: 503 } : { status: 200 });
    const pushId = await world.push(o.apiKey, 'inv-order');
    await world.receiver.waitFor(() => world.of(o.orgId).length >= 3);
    await sleep(300);
    const got = world.of(o.orgId);
    expect(got.map((r) => verified(o.secret, r).type)).toEqual(['push.delivered', 'push.delivered', 'push.acknowledged']);
    // The acknowledgement's event existed before the delivered event's retry went out: only the order rule held it back.
    const acked = await world.host.database.db('webhook_event').where({ push_id: pushId, type: 'push.acknowledged' }).first();
    expect(new Date(acked.created_at).getTime()).toBeLessThan(got[1]!.at);
  });

  it('an organisation without endpoints gets no events, and push.retrying is off by default', { timeout: 30_000 }, async () => {
    world = await webhookWorld(backend);
    const quiet = await world.host.createOrg('quiet');
    await world.host.app.inject({ method: 'POST', url: '/v1/connections', headers: auth(quiet.apiKey), payload: { connectorType: 'MOCK', name: 'm', config: {}, activate: true } });
    await world.push(quiet.apiKey, 'q-1');
    const defaults = await world.org({ failTimes: 1, ack: 'off' });
    const ep = (await world.host.app.inject({ method: 'GET', url: `/v1/webhook-endpoints/${defaults.endpointId}`, headers: auth(defaults.apiKey) })).json();
    expect(ep.events).toEqual(['push.delivered', 'push.acknowledged', 'push.rejected', 'push.dead', 'connection.test_failed']);
    await world.push(defaults.apiKey, 'd-1');
    await world.receiver.waitFor(() => world.of(defaults.orgId).length >= 1);
    await sleep(400);
    expect(world.of(defaults.orgId).map((r) => verified(defaults.secret, r).type)).toEqual(['push.delivered']);
    expect(await world.host.database.db('webhook_event').where({ org_id: quiet.id }).count({ n: '*' }).first()).toMatchObject({ n: expect.anything() });
    expect(Number((await world.host.database.db('webhook_event').where({ org_id: quiet.id }).count({ n: '*' }).first())!.n)).toBe(0);
  });

  it('a receiver that answers 500 twice, then 200, gets the same webhook-id three times', { timeout: 30_000 }, async () => {
    world = await webhookWorld(backend);
    const o = await world.org({ ack: 'off' }, ['push.delivered']);
    let n = 0;
    world.receiver.respond = () => (++n <= 2 ? { status: 500 } : { status: 200 });
    await world.push(o.apiKey, 'inv-500');
    await world.receiver.waitFor(() => world.of(o.orgId).length >= 3);
    await sleep(300);
    const got = world.of(o.orgId);
    expect(got).toHaveLength(3);
    expect(new Set(got.map((r) => r.headers['webhook-id'])).size).toBe(1);
    for (const r of got) expect(verified(o.secret, r).type).toBe('push.delivered');
    // Identical bodies on every attempt.
    expect(new Set(got.map((r) => r.body)).size).toBe(1);
    const deliveries = (await world.host.app.inject({ method: 'GET', url: `/v1/webhook-endpoints/${o.endpointId}/deliveries`, headers: auth(o.apiKey) })).json();
    expect(deliveries.items).toHaveLength(1);
    expect(deliveries.items[0]).toMatchObject({ status: 'DELIVERED', attempts: 3, lastStatusCode: 200, lastError: null, eventId: got[0]!.headers['webhook-id'] });
    // Metrics: events created, delivered, failed by type; the delivery latency histogram.
    const metrics = (await world.host.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toContain('erpc_webhook_events_created_total{type="push.delivered"} 1');
    expect(metrics).toContain('erpc_webhook_events_delivered_total{type="push.delivered"} 1');
    expect(metrics).toContain('erpc_webhook_events_failed_total{type="push.delivered",final="false"} 2');
    expect(metrics).toContain('erpc_webhook_delivery_latency_seconds_count{type="push.delivered"} 1');
  });

  it('retries timeouts, 429 after its Retry-After; does not retry other 4xx or follow redirects', { timeout: 30_000 }, async () => {
    world = await webhookWorld(backend, { ERPC_WEBHOOK_TIMEOUT_MS: '1500' });
    const o = await world.org({ ack: 'off' }, ['push.delivered']);
    const extra = async (path: string) => {
      const res = await world.host.app.inject({ method: 'POST', url: '/v1/webhook-endpoints', headers: auth(o.apiKey), payload: { url: world.receiver.url(path), events: ['push.delivered'] } });
      return res.json().id as string;
    };
    const ids = { bad: await extra('/400'), limited: await extra('/429'), moved: await extra('/302'), slow: await extra('/slow') };
    const seen = new Map<string, number>();
    world.receiver.respond = (r) => {
      const k = (seen.get(r.path) ?? 0) + 1;
      seen.set(r.path, k);
      if (r.path === '/400') return { status: 400 };
      if (r.path === '/429') return k === 1 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 204 };
      if (r.path === '/302') return { status: 302, headers: { location: world.receiver.url('/elsewhere') } };
      if (r.path === '/slow') return k === 1 ? 'hang' : { status: 200 };
      return { status: 200 };
    };
    await world.push(o.apiKey, 'inv-codes');
    const count = (p: string) => world.receiver.received.filter((r) => r.path === p).length;
    await world.receiver.waitFor(() => count('/429') >= 2 && count('/slow') >= 2 && count('/400') >= 1 && count('/302') >= 1, 20_000);
    await sleep(500);
    expect(count('/400')).toBe(1);
    expect(count('/302')).toBe(1);
    expect(count('/elsewhere')).toBe(0);
    const limited = world.receiver.received.filter((r) => r.path === '/429');
    expect(limited[1]!.at - limited[0]!.at).toBeGreaterThanOrEqual(950);
    const view = async (id: string) => (await world.host.app.inject({ method: 'GET', url: `/v1/webhook-endpoints/${id}/deliveries`, headers: auth(o.apiKey) })).json().items[0];
    expect(await view(ids.bad)).toMatchObject({ status: 'FAILED', attempts: 1, lastStatusCode: 400 });
    expect((await view(ids.moved)).lastError).toMatch(/redirects are not followed/);
    expect(await view(ids.limited)).toMatchObject({ status: 'DELIVERED', attempts: 2, lastStatusCode: 204 });
    expect(await view(ids.slow)).toMatchObject({ status: 'DELIVERED', attempts: 2 });
    const failed = (await world.host.app.inject({ method: 'GET', url: `/v1/webhook-endpoints/${ids.bad}/deliveries?status=FAILED`, headers: auth(o.apiKey) })).json();
    expect(failed.items).toHaveLength(1);
    const none = (await world.host.app.inject({ method: 'GET', url: `/v1/webhook-endpoints/${ids.bad}/deliveries?status=PENDING`, headers: auth(o.apiKey) })).json();
    expect(none.items).toHaveLength(0);
  });

  it('replays an event with the same webhook-id', { timeout: 30_000 }, async () => {
    world = await webhookWorld(backend);
    const o = await world.org({ ack: 'off' }, ['push.delivered']);
    await world.push(o.apiKey, 'inv-replay');
    await world.receiver.waitFor(() => world.of(o.orgId).length >= 1);
    const eventId = world.of(o.orgId)[0]!.headers['webhook-id']!;
    // Replay once the first delivery is recorded (one being sent right now is not requeued).
    for (let i = 0; i < 100 && (await world.host.database.db('webhook_delivery').where({ event_id: eventId }).first()).status !== 'DELIVERED'; i++) await sleep(20);
    const replay = await world.host.app.inject({ method: 'POST', url: `/v1/webhook-events/${eventId}/replay`, headers: auth(o.apiKey) });
    expect(replay.statusCode).toBe(200);
    expect(replay.json()).toMatchObject({ eventId, deliveries: [{ status: 'PENDING', attempts: 0 }] });
    await world.receiver.waitFor(() => world.of(o.orgId).length >= 2);
    const [first, second] = world.of(o.orgId);
    expect(second!.headers['webhook-id']).toBe(eventId);
    expect(verified(o.secret, second!)).toEqual(verified(o.secret, first!));
    const missing = await world.host.app.inject({ method: 'POST', url: '/v1/webhook-events/00000000-0000-4000-8000-000000000000/replay', headers: auth(o.apiKey) });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('ERPC_ERR_WEBHOOK_EVENT_NOT_FOUND');
  });

  it('a worker that dies holding a delivery loses no event: the lease expires and another sends it, same webhook-id', { timeout: 30_000 }, async () => {
    world = await webhookWorld(backend, {}, { start: false });
    const o = await world.org({ ack: 'off' }, ['push.delivered']);
    // Deliver the push (its event is queued) with the push worker alone.
    await world.push(o.apiKey, 'inv-crash');
    await world.runtime.worker.runOnce();
    // A dispatcher claims the delivery and dies before recording anything (its lease: 300 ms).
    const repo = new WebhookRepository(world.host.database.db);
    const now = new Date();
    const claimed = await repo.claimDue('doomed-worker', now, new Date(now.getTime() + 300), 10);
    expect(claimed).toHaveLength(1);
    await world.runtime.start();
    await world.receiver.waitFor(() => world.of(o.orgId).length >= 1, 10_000);
    const r = world.of(o.orgId)[0]!;
    expect(r.headers['webhook-id']).toBe(claimed[0]!.eventId);
    expect(verified(o.secret, r).type).toBe('push.delivered');
    await sleep(200);
    const row = await world.host.database.db('webhook_delivery').where({ id: claimed[0]!.id }).first();
    expect(row).toMatchObject({ status: 'DELIVERED', attempts: 2 });
  });

  it('disables an endpoint that keeps failing for ERPC_WEBHOOK_DISABLE_AFTER, with the reason; enabling it again resumes', { timeout: 30_000 }, async () => {
    world = await webhookWorld(backend, { ERPC_WEBHOOK_DISABLE_AFTER: '250', ERPC_WEBHOOK_RETRY_SCHEDULE_MS: '100,100,100,100,100,100,100,100' });
    const o = await world.org({ ack: 'off' }, ['push.delivered']);
    world.receiver.respond = () => ({ status: 503 });
    await world.push(o.apiKey, 'inv-down');
    const get = async () => (await world.host.app.inject({ method: 'GET', url: `/v1/webhook-endpoints/${o.endpointId}`, headers: auth(o.apiKey) })).json();
    for (let i = 0; i < 100 && (await get()).enabled; i++) await sleep(50);
    const ep = await get();
    expect(ep.enabled).toBe(false);
    expect(ep.disabledReason).toMatch(/failed/);
    expect(ep.failingSince).not.toBeNull();
    const sent = world.of(o.orgId).length;
    await sleep(400);
    expect(world.of(o.orgId).length).toBe(sent);
    world.receiver.respond = () => ({ status: 200 });
    const enabled = (await world.host.app.inject({ method: 'PATCH', url: `/v1/webhook-endpoints/${o.endpointId}`, headers: auth(o.apiKey), payload: { enabled: true } })).json();
    expect(enabled).toMatchObject({ enabled: true, disabledReason: null, failingSince: null });
    await world.receiver.waitFor(() => world.of(o.orgId).length > sent);
  });
});

describe('the standardwebhooks reference library', () => {
  it('rejects a body changed by one byte (the verification is real)', async () => {
    const { signWebhook } = await import('../../src/webhooks/signing.js');
    const { generateWebhookSecret } = await import('../../src/webhooks/webhook-secret.js');
    const secret = generateWebhookSecret();
    expect(Buffer.from(secret.slice('whsec_'.length), 'base64').length).toBeGreaterThanOrEqual(24);
    const ts = Math.floor(Date.now() / 1000);
    const headers = { 'webhook-id': 'evt', 'webhook-timestamp': String(ts), 'webhook-signature': signWebhook(secret, 'evt', ts, '{"a":1}') };
    expect(new Webhook(secret).verify('{"a":1}', headers)).toEqual({ a: 1 });
    expect(() => new Webhook(secret).verify('{"a":2}', headers)).toThrow();
  });
});
