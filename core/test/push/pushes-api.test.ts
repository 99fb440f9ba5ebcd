import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from '../support/db.js';
import { apiKeys, auth, createTestHost, type TestHost } from '../api/test-host.js';

describe.each(testBackends())('pushes API on $name', (backend) => {
  let host: TestHost;
  let a: { id: string; apiKey: string };
  let b: { id: string; apiKey: string };
  beforeAll(async () => {
    host = await createTestHost(backend);
    a = await host.createOrg('Acme');
    b = await host.createOrg('Beta');
    for (const org of [a, b]) {
      const res = await host.app.inject({ method: 'POST', url: '/v1/connections', headers: auth(org.apiKey), payload: { connectorType: 'MOCK', name: 'm', config: {}, activate: true } });
      expect(res.statusCode).toBe(201);
    }
  });
  afterAll(async () => host.close());

  const post = (body: unknown, key = a.apiKey) => host.app.inject({ method: 'POST', url: '/v1/pushes', headers: auth(key), payload: body as object });

  it('POST answers 202 {id, status}, 200 for an identical replay, 409 for another payload', async () => {
    const doc = { documentType: 'invoice', documentId: 'INV-1', payload: { total: 12.5 } };
    const first = await post(doc);
    expect(first.statusCode).toBe(202);
    expect(first.json()).toEqual({ id: expect.any(String), status: 'PENDING' });
    const replay = await post(doc);
    expect(replay.statusCode).toBe(200);
    expect(replay.json().id).toBe(first.json().id);
    const conflict = await post({ ...doc, payload: { total: 13 } });
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json().error).toMatchObject({ code: 'ERPC_ERR_IDEMPOTENCY_CONFLICT', details: { pushId: first.json().id } });
  });

  it('validates the body and limits it to 1 MiB', async () => {
    expect((await post({ documentType: 'invoice', documentId: 'x' })).statusCode).toBe(400);
    expect((await post({ documentType: 'invoice', documentId: 'x', payload: {}, extra: 1 })).statusCode).toBe(400);
    const big = await post({ documentType: 'invoice', documentId: 'big', payload: { blob: 'x'.repeat(1024 * 1024) } });
    expect(big.statusCode).toBe(413);
  });

  it('GET by id, list with keyset cursor and filters, stats; other orgs see 404', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await post({ documentType: 'bill', documentId: `B${i}`, payload: { i } })).json().id);
    const one = await host.app.inject({ method: 'GET', url: `/v1/pushes/${ids[0]}`, headers: auth(a.apiKey) });
    expect(one.statusCode).toBe(200);
    expect(one.json()).toMatchObject({ id: ids[0], status: 'PENDING', documentType: 'bill', payload: { i: 0 }, lastError: null });
    expect(one.json()).not.toHaveProperty('lockedBy');
    expect((await host.app.inject({ method: 'GET', url: `/v1/pushes/${ids[0]}`, headers: auth(b.apiKey) })).statusCode).toBe(404);
    expect((await host.app.inject({ method: 'POST', url: `/v1/pushes/${ids[0]}/retry`, headers: auth(b.apiKey) })).statusCode).toBe(404);

    const page1 = await host.app.inject({ method: 'GET', url: '/v1/pushes?documentType=bill&limit=3', headers: auth(a.apiKey) });
    expect(page1.json().items).toHaveLength(3);
    const page2 = await host.app.inject({ method: 'GET', url: `/v1/pushes?documentType=bill&limit=3&cursor=${page1.json().nextCursor}`, headers: auth(a.apiKey) });
    expect(page2.json().nextCursor).toBeUndefined();
    expect([...page1.json().items, ...page2.json().items].map((p: { id: string }) => p.id).sort()).toEqual([...ids].sort());
    expect((await host.app.inject({ method: 'GET', url: '/v1/pushes?status=NOPE', headers: auth(a.apiKey) })).statusCode).toBe(400);
    expect((await host.app.inject({ method: 'GET', url: '/v1/pushes', headers: auth(b.apiKey) })).json().items).toEqual([]);

    const stats = await host.app.inject({ method: 'GET', url: '/v1/pushes/stats', headers: auth(a.apiKey) });
    expect(stats.json()).toMatchObject({ counts: { PENDING: 6, DEAD: 0 }, total: 6 });
    const notRetryable = await host.app.inject({ method: 'POST', url: `/v1/pushes/${ids[0]}/retry`, headers: auth(a.apiKey) });
    expect(notRetryable.statusCode).toBe(409);
    expect(notRetryable.json().error.code).toBe('ERPC_ERR_PUSH_NOT_RETRYABLE');
  });

  it('an in-process worker delivers what the API accepted; metrics count it', async () => {
    const runtime = host.host.createPushRuntime({ pollIntervalMs: 5_000 });
    await runtime.start();
    try {
      const id = (await post({ documentType: 'invoice', documentId: 'INV-W', payload: { n: 1 } })).json().id as string;
      // Woken by the in-process signal, not by the 5 s poll.
      let status = '';
      for (let i = 0; i < 100 && status !== 'DELIVERED'; i++) {
        await new Promise((r) => setTimeout(r, 20));
        status = (await host.app.inject({ method: 'GET', url: `/v1/pushes/${id}`, headers: auth(a.apiKey) })).json().status;
      }
      expect(status).toBe('DELIVERED');
    } finally {
      await runtime.stop();
    }
    const text = await host.host.metrics.registry.metrics();
    expect(text).toMatch(/erpc_pushes_accepted_total\{connector_type="MOCK"\} \d+/);
    expect(text).toMatch(/erpc_pushes_delivered_total\{connector_type="MOCK"\} [1-9]/);
    expect(text).toMatch(/erpc_push_queue_depth\{status="pending"\} \d+/);
    expect(text).toContain('erpc_push_accept_to_delivered_seconds_bucket');
  });

  it('POST checks the key in its accept statement (ADR 0044): a refused key writes nothing and is 401 before any other answer', async () => {
    const count = async () => Number((await host.database.db('push').count({ n: '*' }))[0]!.n);
    const doc = (id: string) => ({ documentType: 'invoice', documentId: id, payload: { total: 1 } });
    const extra = await apiKeys(host).create(a.id);
    const accepted = await post(doc('K-1'), extra.apiKey);
    expect(accepted.statusCode).toBe(202);
    const row = await host.database.db('push').where({ id: accepted.json().id }).first();
    expect(row.org_id).toBe(a.id); // the key's organisation, taken by the statement

    const before = await count();
    const wrongSecret = `${extra.apiKey.slice(0, -2)}${extra.apiKey.endsWith('xx') ? 'yy' : 'xx'}`;
    const unknownId = extra.apiKey.replace(/^erpc_[0-9a-f]{16}_/, 'erpc_0123456789abcdef_');
    await apiKeys(host).revoke(extra.id);
    for (const key of [extra.apiKey, wrongSecret, unknownId, 'nonsense']) {
      const res = await post(doc(`K-${key.length}-${key.slice(-3)}`), key);
      expect(res.statusCode).toBe(401);
      expect(res.json().error.code).toBe('ERPC_ERR_AUTH_INVALID');
      // Errors that come before the statement (schema, JSON, a document refused at the door) are
      // still answered 401 for a refused key, as on every other route.
      expect((await post({ documentType: 'invoice' }, key)).statusCode).toBe(401);
      const malformed = await host.app.inject({ method: 'POST', url: '/v1/pushes', headers: { ...auth(key), 'content-type': 'application/json' }, payload: '{"documentType": ' });
      expect(malformed.statusCode).toBe(401);
      expect((await post({ documentType: 'invoice', documentId: 'deep', payload: { a: JSON.parse('['.repeat(100) + ']'.repeat(100)) } }, key)).statusCode).toBe(401);
    }
    expect(await count()).toBe(before);
    expect((await host.app.inject({ method: 'POST', url: '/v1/pushes', payload: doc('K-none') })).json().error.code).toBe('ERPC_ERR_AUTH_REQUIRED');

    // With a good key the same bodies get their own answers.
    expect((await post({ documentType: 'invoice' })).statusCode).toBe(400);
    const deep = await post({ documentType: 'invoice', documentId: 'deep', payload: { a: JSON.parse('['.repeat(100) + ']'.repeat(100)) } });
    expect(deep.statusCode).toBe(422);
    // An organisation without an active connection: the key is good, the accept is refused.
    const c = await host.createOrg('Gamma');
    const none = await post(doc('K-c'), c.apiKey);
    expect(none.statusCode).toBe(422);
    expect(none.json().error.code).toBe('ERPC_ERR_NO_ACTIVE_CONNECTION');
    expect(await count()).toBe(before);
  });
});
