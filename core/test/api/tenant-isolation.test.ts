import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testBackends } from '../support/db.js';
import { auth, createTestHost, type TestHost } from './test-host.js';

/** Every /v1 route, called with org B's key against org A's ids: 404, and A's data untouched. */
describe.each(testBackends())('tenant isolation on $name', (backend) => {
  let host: TestHost;
  beforeEach(async () => {
    host = await createTestHost(backend);
  });
  afterEach(async () => host.close());

  it('walks every /v1 route with another organisation\'s key', async () => {
    const a = await host.createOrg('A');
    const b = await host.createOrg('B');
    const conn = (await host.app.inject({ method: 'POST', url: '/v1/connections', headers: auth(a.apiKey), payload: { connectorType: 'MOCK', name: 'A-only', config: { apiKey: 'a-secret' }, activate: true } })).json();
    const before = await host.database.db('erp_connection').where({ id: conn.id }).first();

    const byId: [string, string, object?][] = [
      ['GET', `/v1/connections/${conn.id}`],
      ['PATCH', `/v1/connections/${conn.id}`, { name: 'stolen', config: { behavior: 'hang' } }],
      ['POST', `/v1/connections/${conn.id}/activate`],
      ['POST', `/v1/connections/${conn.id}/disable`],
      ['POST', `/v1/connections/${conn.id}/test`],
    ];
    for (const [method, url, payload] of byId) {
      const res = await host.app.inject({ method: method as 'GET', url, headers: auth(b.apiKey), ...(payload ? { payload } : {}) });
      expect(res.statusCode, `${method} ${url}`).toBe(404);
      expect(res.json().error.code).toBe('ERPC_ERR_CONNECTION_NOT_FOUND');
    }
    // Routes without an id answer B about B's own (empty) world.
    const list = await host.app.inject({ method: 'GET', url: '/v1/connections', headers: auth(b.apiKey) });
    expect(list.json()).toEqual({ items: [] });
    // A cursor pointing into A's rows reveals nothing either.
    const { encodeCursor } = await import('../../src/keyset-cursor.js');
    const viaCursor = await host.app.inject({ method: 'GET', url: `/v1/connections?cursor=${encodeCursor({ createdAt: new Date(0), id: '00000000-0000-0000-0000-000000000000' })}`, headers: auth(b.apiKey) });
    expect(viaCursor.json()).toEqual({ items: [] });
    expect((await host.app.inject({ method: 'GET', url: '/v1/connector-types', headers: auth(b.apiKey) })).statusCode).toBe(200);
    const badCreate = await host.app.inject({ method: 'POST', url: '/v1/connections', headers: auth(b.apiKey), payload: { connectorType: 'MOCK', name: 'x', config: { behavior: 'nope' } } });
    expect(badCreate.statusCode).toBe(422);
    // Without a key, every /v1 route is 401.
    for (const [method, url] of [['GET', '/v1/connector-types'], ['POST', '/v1/connector-types/MOCK/validate'], ['POST', '/v1/connections'], ['GET', '/v1/connections'], ...byId.map(([m, u]) => [m, u])] as [string, string][]) {
      const res = await host.app.inject({ method: method as 'GET', url });
      expect(res.statusCode, `${method} ${url}`).toBe(401);
    }

    const after = await host.database.db('erp_connection').where({ id: conn.id }).first();
    expect(after).toEqual(before);
    const asA = (await host.app.inject({ method: 'GET', url: `/v1/connections/${conn.id}`, headers: auth(a.apiKey) })).json();
    expect(asA).toMatchObject({ name: 'A-only', status: 'ACTIVE', lastTest: null });
  });
});
