import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from '../support/db.js';
import { auth, createTestHost, type TestHost } from './test-host.js';

// Errors Fastify raises before (or instead of) routing must still answer the one error body.
const backend = testBackends()[0]!;

describe('framework-level errors answer {"error":{code,message}}', () => {
  let host: TestHost;
  let apiKey: string;
  beforeAll(async () => {
    host = await createTestHost(backend);
    apiKey = (await host.createOrg('Acme')).apiKey;
  });
  afterAll(async () => host.close());

  it('a malformed percent-encoding in the path is ERPC_ERR_BAD_REQUEST', async () => {
    const res = await host.app.inject({ method: 'GET', url: '/v1/connections/%E0%A4%A', headers: auth(apiKey) });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: { code: 'ERPC_ERR_BAD_REQUEST', message: expect.any(String), requestId: expect.any(String) } });
  });

  it('a text/plain body is 415 ERPC_ERR_UNSUPPORTED_MEDIA_TYPE, like any non-JSON body', async () => {
    for (const contentType of ['text/plain', 'text/plain; charset=utf-8', 'application/xml']) {
      const res = await host.app.inject({
        method: 'POST',
        url: '/v1/connections',
        headers: { ...auth(apiKey), 'content-type': contentType },
        payload: 'connectorType=MOCK',
      });
      expect(res.statusCode, contentType).toBe(415);
      expect(res.json().error.code).toBe('ERPC_ERR_UNSUPPORTED_MEDIA_TYPE');
    }
  });
});
