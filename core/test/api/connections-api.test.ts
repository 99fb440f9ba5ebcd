import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testBackends } from '../support/db.js';
import { apiKeys, auth, createTestHost, type TestHost } from './test-host.js';
import { loadHostConfig } from '../../src/settings/index.js';

describe.each(testBackends())('connections API on $name', (backend) => {
  let host: TestHost;
  let org: { id: string; apiKey: string };
  beforeEach(async () => {
    host = await createTestHost(backend, { ERPC_TEST_TIMEOUT_MS: '300' });
    org = await host.createOrg('Acme');
  });
  afterEach(async () => host.close());

  const create = (body: unknown, key = org.apiKey) =>
    host.app.inject({ method: 'POST', url: '/v1/connections', headers: auth(key), payload: body as object });

  it('lists connector types with their schemas', async () => {
    const res = await host.app.inject({ method: 'GET', url: '/v1/connector-types', headers: auth(org.apiKey) });
    expect(res.statusCode).toBe(200);
    const mock = res.json().items.find((t: { type: string }) => t.type === 'MOCK');
    expect(mock).toMatchObject({ type: 'MOCK', displayName: expect.any(String), version: expect.any(String) });
    expect(mock.configSchema.properties.apiKey.writeOnly).toBe(true);
  });

  it('validates a config without storing it', async () => {
    const ok = await host.app.inject({ method: 'POST', url: '/v1/connector-types/MOCK/validate', headers: auth(org.apiKey), payload: { config: { behavior: 'ok' } } });
    expect(ok.json()).toEqual({ valid: true, errors: [] });
    const bad = await host.app.inject({ method: 'POST', url: '/v1/connector-types/MOCK/validate', headers: auth(org.apiKey), payload: { config: { behavior: 'nope', delayMs: -1 } } });
    expect(bad.json().valid).toBe(false);
    expect(bad.json().errors.map((e: { path: string }) => e.path).sort()).toEqual(['/behavior', '/delayMs']);
    const unknown = await host.app.inject({ method: 'POST', url: '/v1/connector-types/NOPE/validate', headers: auth(org.apiKey), payload: { config: {} } });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error.code).toBe('ERPC_ERR_CONNECTOR_UNKNOWN');
  });

  it('creates, reads, lists, patches, activates, disables and tests a connection', async () => {
    const res = await create({ connectorType: 'MOCK', name: 'Mock ERP', config: { behavior: 'ok', apiKey: 'k-1' } });
    expect(res.statusCode).toBe(201);
    const c = res.json();
    expect(c).toMatchObject({ connectorType: 'MOCK', name: 'Mock ERP', status: 'DISABLED', config: { behavior: 'ok' }, secretFields: ['/apiKey'], lastTest: null });
    expect(c.config.apiKey).toBeUndefined();

    const got = await host.app.inject({ method: 'GET', url: `/v1/connections/${c.id}`, headers: auth(org.apiKey) });
    expect(got.json()).toEqual(c);

    const patched = await host.app.inject({ method: 'PATCH', url: `/v1/connections/${c.id}`, headers: auth(org.apiKey), payload: { name: 'Renamed', config: { delayMs: 5 } } });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).toMatchObject({ name: 'Renamed', config: { behavior: 'ok', delayMs: 5 }, secretFields: ['/apiKey'] });

    const activated = await host.app.inject({ method: 'POST', url: `/v1/connections/${c.id}/activate`, headers: auth(org.apiKey) });
    expect(activated.json().status).toBe('ACTIVE');
    const tested = await host.app.inject({ method: 'POST', url: `/v1/connections/${c.id}/test`, headers: auth(org.apiKey) });
    expect(tested.statusCode).toBe(200);
    expect(tested.json()).toMatchObject({ ok: true, latencyMs: expect.any(Number) });
    const disabled = await host.app.inject({ method: 'POST', url: `/v1/connections/${c.id}/disable`, headers: auth(org.apiKey) });
    expect(disabled.json().status).toBe('DISABLED');
    const listed = await host.app.inject({ method: 'GET', url: '/v1/connections', headers: auth(org.apiKey) });
    expect(listed.json().items).toHaveLength(1);
    expect(listed.json().items[0]).toMatchObject({ id: c.id, status: 'DISABLED', lastTest: { ok: true } });
    expect(listed.json().nextCursor).toBeUndefined();
    expect(host.logs.filter((l) => l.includes('"connection test"')).map((l) => JSON.parse(l))).toEqual([
      expect.objectContaining({ connectionId: c.id, orgId: org.id, connectorType: 'MOCK', ok: true, latencyMs: expect.any(Number) }),
    ]);
  });

  it('PATCH keeps an omitted secret, and the connector still receives it', async () => {
    const c = (await create({ connectorType: 'MOCK', name: 'm', config: { behavior: 'ok', apiKey: 'kept-secret' } })).json();
    await host.app.inject({ method: 'PATCH', url: `/v1/connections/${c.id}`, headers: auth(org.apiKey), payload: { config: { behavior: 'fail-permanent' } } });
    const row = await host.database.db('erp_connection').where({ id: c.id }).first();
    const { ConfigCipher } = await import('../../src/crypto/index.js');
    const cipher = new ConfigCipher(host.host.keyring);
    expect(cipher.decrypt(row.config_encrypted, { orgId: org.id, connectionId: c.id, keyId: row.config_key_id })).toEqual({ behavior: 'fail-permanent', apiKey: 'kept-secret' });
    // null removes an optional field; the secret is still there.
    const cleared = await host.app.inject({ method: 'PATCH', url: `/v1/connections/${c.id}`, headers: auth(org.apiKey), payload: { config: { behavior: null } } });
    expect(cleared.json()).toMatchObject({ config: {}, secretFields: ['/apiKey'] });
  });

  it('rejects an invalid config with 422 and JSON pointers', async () => {
    const res = await create({ connectorType: 'MOCK', name: 'm', config: { behavior: 'sometimes', extra: 1 } });
    expect(res.statusCode).toBe(422);
    const body = res.json();
    expect(body.error.code).toBe('ERPC_ERR_CONFIG_INVALID');
    expect(body.error.details).toEqual(expect.arrayContaining([{ path: '/behavior', message: expect.any(String) }, { path: '/extra', message: expect.any(String) }]));
    expect((await create({ connectorType: 'NOPE', name: 'm', config: {} })).json().error.code).toBe('ERPC_ERR_CONNECTOR_UNKNOWN');
  });

  it('a connector that hangs is ok:false within the time limit, and the outcome is stored', async () => {
    const c = (await create({ connectorType: 'MOCK', name: 'm', config: { behavior: 'hang' } })).json();
    const res = await host.app.inject({ method: 'POST', url: `/v1/connections/${c.id}/test`, headers: auth(org.apiKey) });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ ok: false, message: expect.stringContaining('300 ms') });
    const got = (await host.app.inject({ method: 'GET', url: `/v1/connections/${c.id}`, headers: auth(org.apiKey) })).json();
    expect(got.lastTest).toMatchObject({ ok: false, message: expect.stringContaining('300 ms') });
  });

  it('a failing connector is ok:false with its message', async () => {
    const c = (await create({ connectorType: 'MOCK', name: 'm', config: { behavior: 'fail-retryable' } })).json();
    const res = await host.app.inject({ method: 'POST', url: `/v1/connections/${c.id}/test`, headers: auth(org.apiKey) });
    expect(res.json()).toMatchObject({ ok: false, message: expect.stringContaining('unavailable') });
  });

  it('activating switches the one ACTIVE connection; creating with activate too', async () => {
    const a = (await create({ connectorType: 'MOCK', name: 'a', config: {}, activate: true })).json();
    expect(a.status).toBe('ACTIVE');
    const b = (await create({ connectorType: 'MOCK', name: 'b', config: {}, activate: true })).json();
    expect(b.status).toBe('ACTIVE');
    const items = (await host.app.inject({ method: 'GET', url: '/v1/connections', headers: auth(org.apiKey) })).json().items;
    expect(items.map((i: { name: string; status: string }) => [i.name, i.status])).toEqual([['a', 'DISABLED'], ['b', 'ACTIVE']]);
    const again = (await host.app.inject({ method: 'POST', url: `/v1/connections/${a.id}/activate`, headers: auth(org.apiKey) })).json();
    expect(again.status).toBe('ACTIVE');
    const rows = await host.database.db('erp_connection').where({ org_id: org.id, status: 'ACTIVE' });
    expect(rows.map((r: { id: string }) => r.id)).toEqual([a.id]);
  });

  it('20 parallel activations of different connections end with exactly one ACTIVE; losers get 409', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push((await create({ connectorType: 'MOCK', name: `c${i}`, config: {} })).json().id);
    const results = await Promise.all(ids.map((id) => host.app.inject({ method: 'POST', url: `/v1/connections/${id}/activate`, headers: auth(org.apiKey) })));
    for (const r of results) expect([200, 409]).toContain(r.statusCode);
    for (const r of results.filter((x) => x.statusCode === 409)) expect(r.json().error.code).toBe('ERPC_ERR_CONNECTION_CONFLICT');
    const active = await host.database.db('erp_connection').where({ org_id: org.id, status: 'ACTIVE' });
    expect(active).toHaveLength(1);
    // The one ACTIVE row is one whose activation answered 200.
    const winners = results.filter((r) => r.statusCode === 200).map((r) => r.json().id);
    expect(winners).toContain(active[0].id);
  });

  it('pages through connections with a cursor', async () => {
    for (let i = 0; i < 5; i++) await create({ connectorType: 'MOCK', name: `c${i}`, config: {} });
    const names: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const res = await host.app.inject({ method: 'GET', url: `/v1/connections?limit=2${cursor ? `&cursor=${cursor}` : ''}`, headers: auth(org.apiKey) });
      expect(res.statusCode).toBe(200);
      names.push(...res.json().items.map((i: { name: string }) => i.name));
      cursor = res.json().nextCursor;
      pages++;
    } while (cursor !== undefined);
    expect(names).toEqual(['c0', 'c1', 'c2', 'c3', 'c4']);
    expect(pages).toBe(3);
    const bad = await host.app.inject({ method: 'GET', url: '/v1/connections?cursor=garbage', headers: auth(org.apiKey) });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('ERPC_ERR_CURSOR_INVALID');
  });

  it('authenticates with Bearer keys: missing 401, invalid 401, revoked 401', async () => {
    expect((await host.app.inject({ method: 'GET', url: '/v1/connections' })).json().error.code).toBe('ERPC_ERR_AUTH_REQUIRED');
    const wrong = await host.app.inject({ method: 'GET', url: '/v1/connections', headers: auth(`${org.apiKey.slice(0, -2)}xx`) });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().error.code).toBe('ERPC_ERR_AUTH_INVALID');
    expect((await host.app.inject({ method: 'GET', url: '/v1/connections', headers: auth('nonsense') })).statusCode).toBe(401);
    const extra = await apiKeys(host).create(org.id);
    expect((await host.app.inject({ method: 'GET', url: '/v1/connections', headers: auth(extra.apiKey) })).statusCode).toBe(200);
    await apiKeys(host).revoke(extra.id);
    expect((await host.app.inject({ method: 'GET', url: '/v1/connections', headers: auth(extra.apiKey) })).statusCode).toBe(401);
    const stored = await host.database.db('api_key').where({ id: extra.id }).first();
    expect(JSON.stringify(stored)).not.toContain(extra.apiKey.split('_').slice(2).join('_'));
  });

  it('answers malformed JSON 400, bodies over 1 MiB 413, unknown routes 404, schema violations 400', async () => {
    const malformed = await host.app.inject({ method: 'POST', url: '/v1/connections', headers: { ...auth(org.apiKey), 'content-type': 'application/json' }, payload: '{"name": ' });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().error.code).toBe('ERPC_ERR_MALFORMED_JSON');
    const big = await host.app.inject({
      method: 'POST',
      url: '/v1/connections',
      headers: { ...auth(org.apiKey), 'content-type': 'application/json' },
      payload: JSON.stringify({ connectorType: 'MOCK', name: 'x', config: { pad: 'x'.repeat(1024 * 1024) } }),
    });
    expect(big.statusCode).toBe(413);
    expect(big.json().error.code).toBe('ERPC_ERR_PAYLOAD_TOO_LARGE');
    const nowhere = await host.app.inject({ method: 'GET', url: '/v2/nothing?x=1' });
    expect(nowhere.statusCode).toBe(404);
    expect(nowhere.json()).toEqual({ error: { code: 'ERPC_ERR_ROUTE_NOT_FOUND', message: expect.stringContaining('/v2/nothing'), requestId: expect.any(String) } });
    const invalid = await create({ connectorType: 'MOCK', config: {}, unexpected: true });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json().error.code).toBe('ERPC_ERR_VALIDATION');
  });

  it('serves health, metrics and an OpenAPI document listing every route', async () => {
    const health = await host.app.inject({ method: 'GET', url: '/healthz' });
    expect(health.statusCode).toBe(200);
    expect(health.json()).toEqual({ status: 'ok', checks: { database: 'ok', plugins: 'ok', sandboxes: 'ok', shutdown: 'ok' }, details: { plugins: { loaded: expect.arrayContaining(['MOCK']) }, sandboxes: {} } });
    for (const url of ['/livez', '/readyz']) expect((await host.app.inject({ method: 'GET', url })).statusCode).toBe(200);
    const c = (await create({ connectorType: 'MOCK', name: 'm', config: {} })).json();
    await host.app.inject({ method: 'POST', url: `/v1/connections/${c.id}/test`, headers: auth(org.apiKey) });
    const metrics = await host.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(/erpc_connection_test_duration_seconds_count\{connector_type="MOCK",ok="true"\} 1/);
    const doc = (await host.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(doc.openapi).toMatch(/^3\./);
    const routes = Object.entries(doc.paths as Record<string, object>).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`));
    expect(routes).toEqual(
      expect.arrayContaining([
        'GET /v1/connector-types',
        'POST /v1/connector-types/{type}/validate',
        'POST /v1/connections',
        'GET /v1/connections',
        'GET /v1/connections/{id}',
        'PATCH /v1/connections/{id}',
        'POST /v1/connections/{id}/activate',
        'POST /v1/connections/{id}/disable',
        'POST /v1/connections/{id}/test',
        'GET /healthz',
        'GET /metrics',
      ]),
    );
    const docs = await host.app.inject({ method: 'GET', url: '/docs' });
    expect([200, 302]).toContain(docs.statusCode);
  });

  it('with ERPC_METRICS_TOKEN, /metrics needs that bearer token (not an API key); the token never appears in answers or logs', async () => {
    const token = 'CANARY-metrics-token-5a1f0c9e';
    const guarded = await createTestHost(backend, { ERPC_METRICS_TOKEN: token });
    try {
      const tries = [
        await guarded.app.inject({ method: 'GET', url: '/metrics' }),
        await guarded.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${token}x` } }),
        await guarded.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: token } }),
        await guarded.app.inject({ method: 'GET', url: '/metrics', headers: auth((await guarded.createOrg('m')).apiKey) }),
      ];
      for (const res of tries) {
        expect(res.statusCode).toBe(401);
        expect(res.json().error.code).toBe('ERPC_ERR_METRICS_AUTH');
      }
      const ok = await guarded.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${token}` } });
      expect(ok.statusCode).toBe(200);
      expect(ok.body).toMatch(/^# HELP /m);
      for (const text of [...tries.map((r) => r.body), ...guarded.logs]) expect(text).not.toContain('CANARY-metrics');
    } finally {
      await guarded.close();
    }
    expect(() => loadHostConfig({ env: { ERPC_METRICS_TOKEN: 'short' } })).toThrow(/ERPC_METRICS_TOKEN/);
  });
});
