import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testBackends } from '../support/db.js';
import { auth, createTestHost, type TestHost } from './test-host.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe.each(testBackends())('request ids, readiness and metrics on $name', (backend) => {
  let host: TestHost;
  let org: { id: string; apiKey: string };
  beforeEach(async () => {
    host = await createTestHost(backend);
    org = await host.createOrg('Acme');
  });
  afterEach(async () => host.close());

  it('keeps a valid X-Request-Id, returns it in the header and the error body, and puts it on every log line of the request, services included', async () => {
    const c = await host.app.inject({ method: 'POST', url: '/v1/connections', headers: auth(org.apiKey), payload: { connectorType: 'MOCK', name: 'm', config: {} } });
    const id = c.json().id as string;
    host.logs.length = 0;
    const tested = await host.app.inject({ method: 'POST', url: `/v1/connections/${id}/test`, headers: { ...auth(org.apiKey), 'x-request-id': 'trace-42.abc' } });
    expect(tested.statusCode).toBe(200);
    expect(tested.headers['x-request-id']).toBe('trace-42.abc');
    const lines = host.logs.map((l) => JSON.parse(l) as Record<string, unknown>);
    // Fastify's own request lines and the connection service's "connection test" line.
    expect(lines.find((l) => l.msg === 'connection test')).toMatchObject({ requestId: 'trace-42.abc', connectionId: id });
    expect(lines.length).toBeGreaterThan(1);
    for (const line of lines) expect(line.requestId).toBe('trace-42.abc');

    const missing = await host.app.inject({ method: 'GET', url: '/v1/connections/00000000-0000-4000-8000-000000000000', headers: { ...auth(org.apiKey), 'x-request-id': 'abc-1' } });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error).toMatchObject({ code: expect.stringMatching(/^ERPC_ERR_/), requestId: 'abc-1' });

    // Outside a request, no request id leaks onto a line.
    host.logs.length = 0;
    host.host.logger.info('between requests');
    expect(JSON.parse(host.logs[0]!).requestId).toBeUndefined();
  });

  it("a push's log lines carry its id and the id of the request that accepted it; delivery at debug, a dead letter at warn", async () => {
    await host.app.inject({ method: 'POST', url: '/v1/connections', headers: auth(org.apiKey), payload: { connectorType: 'MOCK', name: 'm', config: {}, activate: true } });
    const ok = await host.app.inject({ method: 'POST', url: '/v1/pushes', headers: { ...auth(org.apiKey), 'x-request-id': 'push-req-1' }, payload: { documentType: 'invoice', documentId: 'A-1', payload: {} } });
    expect(ok.statusCode).toBe(202);
    const pushId = ok.json().id as string;
    const runtime = host.host.createPushRuntime({ pollIntervalMs: 50 });
    host.logs.length = 0;
    expect(await runtime.worker.runOnce()).toBe(1);
    const delivered = host.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'push delivered');
    expect(delivered).toMatchObject({ level: 20, pushId, requestId: 'push-req-1' });

    // A connection that rejects: the dead letter is a warning with the same two ids.
    const c2 = await host.app.inject({ method: 'POST', url: '/v1/connections', headers: auth(org.apiKey), payload: { connectorType: 'MOCK', name: 'n', config: { behavior: 'fail-permanent' }, activate: true } });
    expect(c2.statusCode).toBe(201);
    const bad = await host.app.inject({ method: 'POST', url: '/v1/pushes', headers: { ...auth(org.apiKey), 'x-request-id': 'push-req-2' }, payload: { documentType: 'invoice', documentId: 'A-2', payload: {} } });
    host.logs.length = 0;
    expect(await runtime.worker.runOnce()).toBe(1);
    const dead = host.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'push is a dead letter');
    expect(dead).toMatchObject({ level: 40, pushId: bad.json().id, requestId: 'push-req-2', code: 'MOCK_REJECTED' });
  });

  it('replaces an invalid or absent X-Request-Id by a UUID', async () => {
    for (const headers of [{}, { 'x-request-id': 'has spaces in it' }, { 'x-request-id': 'x'.repeat(200) }]) {
      const res = await host.app.inject({ method: 'GET', url: '/v1/connections', headers });
      expect(res.statusCode).toBe(401);
      const rid = res.headers['x-request-id'] as string;
      expect(rid).toMatch(UUID);
      expect(res.json().error.requestId).toBe(rid);
    }
  });

  it('readiness turns 503 with a reason once shutdown begins; liveness stays 200', async () => {
    expect((await host.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    host.host.readiness.beginShutdown();
    const ready = await host.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toMatchObject({ status: 'fail', checks: { shutdown: 'fail', database: 'ok' }, reasons: ['shutdown: the process is shutting down'] });
    expect(ready.headers.connection).toBe('close');
    expect((await host.app.inject({ method: 'GET', url: '/livez' })).statusCode).toBe(200);
  });

  it('a failing check makes readiness 503 with its reason; a check added later (e.g. a sandbox supervisor) counts', async () => {
    host.host.readiness.add({ name: 'sandboxes', check: async () => ({ ok: false, reason: '1 of 2 sandboxes down' }) });
    const ready = await host.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json().reasons).toEqual(['sandboxes: 1 of 2 sandboxes down']);
  });

  it('metrics: build info, HTTP requests by route and status, zero counters per loaded connector type, a bounded code label', async () => {
    await host.app.inject({ method: 'GET', url: '/v1/connections', headers: auth(org.apiKey) });
    const m = host.host.metrics;
    m.push.dead.inc({ connector_type: 'MOCK', code: m.codeLabel('MOCK', 'MOCK_REJECTED') });
    m.push.dead.inc({ connector_type: 'MOCK', code: m.codeLabel('MOCK', 'SOMETHING_A_PLUGIN_MADE_UP') });
    m.push.retried.inc({ connector_type: 'MOCK', code: m.codeLabel('MOCK', 'PUSH_TIMEOUT') });
    const body = (await host.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(body).toMatch(/^erpc_build_info\{version="\d+\.\d+\.\d+[^"]*",node_version="v\d+[^"]*"\} 1$/m);
    expect(body).toMatch(/^erpc_http_requests_total\{method="GET",route="\/v1\/connections",status="200"\} 1$/m);
    expect(body).toMatch(/^erpc_http_request_duration_seconds_count\{method="GET",route="\/v1\/connections",status="200"\} 1$/m);
    expect(body).toMatch(/^erpc_pushes_delivered_total\{connector_type="MOCK"\} 0$/m);
    expect(body).toMatch(/^erpc_pushes_accepted_total\{connector_type="MOCK"\} 0$/m);
    expect(body).toMatch(/^erpc_pushes_retried_total\{connector_type="MOCK",code="MOCK_UNAVAILABLE"\} 0$/m);
    expect(body).toMatch(/^erpc_pushes_dead_total\{connector_type="MOCK",code="MOCK_REJECTED"\} 1$/m);
    expect(body).toMatch(/^erpc_pushes_dead_total\{connector_type="MOCK",code="other"\} 1$/m);
    expect(body).toMatch(/^erpc_pushes_retried_total\{connector_type="MOCK",code="PUSH_TIMEOUT"\} 1$/m);
    expect(body).not.toContain('SOMETHING_A_PLUGIN_MADE_UP');
    // An unknown connector type only passes erpc's own reason codes.
    expect(m.codeLabel('NOT_LOADED', 'WHATEVER')).toBe('other');
    expect(m.codeLabel('NOT_LOADED', 'CONNECTION_DISABLED')).toBe('CONNECTION_DISABLED');
  });
});
