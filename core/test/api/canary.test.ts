import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testBackends } from '../support/db.js';
import { auth, createTestHost, type TestHost } from './test-host.js';

/**
 * Secrets with unique canary values go through every path; no HTTP body and no log line may
 * contain a canary or any stored ciphertext (hex or base64). MOCK's `echoSecret` makes the
 * connector log its apiKey and put it in its messages, so the host's scrubbing is what is tested.
 */
describe.each(testBackends())('secrets never leak on $name', (backend) => {
  let host: TestHost;
  let org: { id: string; apiKey: string };
  const bodies: string[] = [];
  const canaries = ['CANARY-create-7f3a9c', 'CANARY-patch-41be02', 'CANARY-invalid-9d1e77', 'CANARY-validate-c0ffee', 'CANARY-decrypt-b16b00', 'CANARY-replace-5eed42'];

  beforeEach(async () => {
    host = await createTestHost(backend, { ERPC_TEST_TIMEOUT_MS: '300' });
    org = await host.createOrg('Acme');
    bodies.length = 0;
  });
  afterEach(async () => host.close());

  async function call(method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object) {
    const res = await host.app.inject({ method, url, headers: auth(org.apiKey), ...(payload ? { payload } : {}) });
    bodies.push(res.body);
    return res;
  }

  it('through create, get, list, patch, tests, a failing test, validation errors and a decryption failure', async () => {
    const ciphertexts: Buffer[] = [];
    const snapshot = async () => {
      for (const r of await host.database.db('erp_connection').select('config_encrypted')) ciphertexts.push(Buffer.from(r.config_encrypted));
    };

    const created = await call('POST', '/v1/connections', { connectorType: 'MOCK', name: 'Mock', config: { apiKey: canaries[0], echoSecret: true } });
    expect(created.statusCode).toBe(201);
    const id = created.json().id;
    expect(created.json().secretFields).toEqual(['/apiKey']);
    await snapshot();
    await call('GET', `/v1/connections/${id}`);
    await call('GET', '/v1/connections');
    expect((await call('POST', `/v1/connections/${id}/test`)).json().ok).toBe(true);

    const patched = await call('PATCH', `/v1/connections/${id}`, { config: { apiKey: canaries[1], behavior: 'fail-permanent' } });
    expect(patched.statusCode).toBe(200);
    await snapshot();
    const failing = await call('POST', `/v1/connections/${id}/test`);
    expect(failing.json().ok).toBe(false);
    await call('PATCH', `/v1/connections/${id}`, { config: { behavior: 'hang' } });
    await snapshot();
    const hung = await call('POST', `/v1/connections/${id}/test`);
    expect(hung.json().ok).toBe(false);
    await call('GET', `/v1/connections/${id}`);

    const invalid = await call('POST', '/v1/connections', { connectorType: 'MOCK', name: 'Bad', config: { apiKey: canaries[2], behavior: canaries[2], delayMs: canaries[2] } });
    expect(invalid.statusCode).toBe(422);
    const invalidPatch = await call('PATCH', `/v1/connections/${id}`, { config: { apiKey: 12345, ack: canaries[2] } });
    expect(invalidPatch.statusCode).toBe(422);
    const validate = await call('POST', '/v1/connector-types/MOCK/validate', { config: { apiKey: canaries[3], [canaries[3]]: canaries[3].length, behavior: 7 } });
    expect(validate.json().valid).toBe(false);

    // A second connection whose stored bytes get corrupted.
    const victim = (await call('POST', '/v1/connections', { connectorType: 'MOCK', name: 'Victim', config: { apiKey: canaries[4] } })).json().id;
    const row = await host.database.db('erp_connection').where({ id: victim }).first();
    const corrupted = Buffer.from(row.config_encrypted);
    corrupted[corrupted.length - 5]! ^= 0x40;
    await host.database.db('erp_connection').where({ id: victim }).update({ config_encrypted: corrupted });
    await snapshot();
    for (const [method, url] of [['GET', `/v1/connections/${victim}`], ['POST', `/v1/connections/${victim}/test`]] as const) {
      const res = await call(method, url);
      expect(res.statusCode).toBe(500);
      expect(res.json()).toEqual({ error: { code: 'ERPC_ERR_CONFIG_DECRYPT_FAILED', message: 'Configuration error', requestId: expect.any(String) } });
    }
    // The listing still works: the broken row is marked, without any config; the others are whole.
    const marker = { code: 'ERPC_ERR_CONFIG_DECRYPT_FAILED', message: 'Configuration error' };
    const listed = await call('GET', '/v1/connections');
    expect(listed.statusCode).toBe(200);
    const items = listed.json().items as { id: string; config: unknown; configError?: unknown; secretFields: string[] }[];
    expect(items.find((c) => c.id === victim)).toMatchObject({ secretFields: [], configError: marker });
    expect(items.find((c) => c.id === victim)!.config).toEqual({});
    expect(items.find((c) => c.id === id)).toMatchObject({ secretFields: ['/apiKey'] });
    expect(items.find((c) => c.id === id)).not.toHaveProperty('configError');
    // Disabling it happens (it is not left ACTIVE because its config is unreadable) and says so;
    // activating it is refused: every push would end DEAD.
    const disabled = await call('POST', `/v1/connections/${victim}/disable`);
    expect(disabled.statusCode).toBe(200);
    expect(disabled.json()).toMatchObject({ status: 'DISABLED', configError: marker });
    const activated = await call('POST', `/v1/connections/${victim}/activate`);
    expect(activated.statusCode).toBe(500);
    expect(activated.json()).toEqual({ error: { code: 'ERPC_ERR_CONFIG_DECRYPT_FAILED', message: 'Configuration error', requestId: expect.any(String) } });
    expect((await host.database.db('erp_connection').where({ id: victim }).first()).status).toBe('DISABLED');
    // A patch cannot be merged into a config nobody can read: refused, the stored bytes untouched
    // (a missing key may still turn up). replaceConfig re-enters the whole config instead.
    const patchedBroken = await call('PATCH', `/v1/connections/${victim}`, { config: { behavior: 'ok' } });
    expect(patchedBroken.statusCode).toBe(500);
    expect(patchedBroken.json()).toEqual({ error: { code: 'ERPC_ERR_CONFIG_DECRYPT_FAILED', message: 'Configuration error', requestId: expect.any(String) } });
    expect(Buffer.from((await host.database.db('erp_connection').where({ id: victim }).first()).config_encrypted)).toEqual(corrupted);
    const replaced = await call('PATCH', `/v1/connections/${victim}`, { config: { apiKey: canaries[5], echoSecret: true }, replaceConfig: true });
    expect(replaced.statusCode).toBe(200);
    expect(replaced.json()).toMatchObject({ config: { echoSecret: true }, secretFields: ['/apiKey'] });
    expect(replaced.json()).not.toHaveProperty('configError');
    await snapshot();
    // The new secret goes through the connector's logs and messages (echoSecret), scrubbed.
    expect((await call('POST', `/v1/connections/${victim}/test`)).json().ok).toBe(true);
    expect((await call('PATCH', `/v1/connections/${victim}`, { replaceConfig: true })).statusCode).toBe(400);
    const decryptLogs = host.logs.filter((l) => l.includes('does not decrypt')).map((l) => JSON.parse(l));
    expect(decryptLogs.length).toBeGreaterThan(0);
    expect(decryptLogs[0]).toMatchObject({ connectionId: victim, orgId: org.id, code: 'AUTH_FAILED' });

    // The connector did log its secret (echoSecret): the lines exist, scrubbed.
    expect(host.logs.some((l) => l.includes('[REDACTED]'))).toBe(true);

    const haystack = [...bodies, ...host.logs];
    expect(haystack.length).toBeGreaterThan(20);
    for (const text of haystack) {
      for (const canary of canaries) expect(text, 'a canary leaked').not.toContain(canary);
      for (const c of ciphertexts) {
        expect(text).not.toContain(c.toString('hex'));
        expect(text).not.toContain(c.toString('base64'));
        expect(text).not.toContain(c.toString('base64url'));
        // Any 16-byte window of the ciphertext body (past the public header) in hex.
        expect(text).not.toContain(c.subarray(9, 25).toString('hex'));
      }
    }
  });
});
