// Issue I: each finding of the issue, replayed through the HTTP API (app.inject) on PGlite and on
// PostgreSQL. DROPZONE_JSON_V1 writes real files into a temporary folder.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectorDefinition } from '@erpc/sdk';
import dropzoneDefinition from '../../../plugins/connector-dropzone-json-v1/src/index.js';
import { testBackends } from '../support/db.js';
import { auth, createTestHost, type TestHost } from '../api/test-host.js';

const AMOUNTS_TEXT = '{"net":118.00,"rate":0.1,"big":123456789012345678901234567890,"tiny":-0.000000000000000001,"huge":1e400,"plain":42,"neg0":-0,"lines":[{"qty":2,"price":59.00}]}';

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else if (e.name.endsWith('.json')) out.push(p);
  }
  return out;
}

describe.each(testBackends())('issue I findings on $name', (backend) => {
  let host: TestHost;
  let org: { id: string; apiKey: string };
  let root: string;
  let connectionId: string;
  beforeAll(async () => {
    host = await createTestHost(backend, {}, [['connector-dropzone-json-v1', dropzoneDefinition as ConnectorDefinition<unknown>]]);
    org = await host.createOrg('Exact');
    root = mkdtempSync(join(tmpdir(), 'erpc-issue-i-'));
    const res = await host.app.inject({
      method: 'POST', url: '/v1/connections', headers: auth(org.apiKey),
      payload: { connectorType: 'DROPZONE_JSON_V1', name: 'drop', config: { rootPath: root, layout: 'flat', fsync: false }, activate: true },
    });
    expect(res.statusCode).toBe(201);
    connectionId = res.json().id;
  });
  afterAll(async () => {
    await host.close();
    rmSync(root, { recursive: true, force: true });
  });

  const postRaw = (text: string, key = org.apiKey) =>
    host.app.inject({ method: 'POST', url: '/v1/pushes', headers: { ...auth(key), 'content-type': 'application/json' }, payload: text });
  const post = (body: unknown) => postRaw(JSON.stringify(body));
  const runWorker = async () => {
    const runtime = host.host.createPushRuntime({ pollIntervalMs: 50 });
    let n = 0;
    for (let i = 0; i < 5; i++) n += await runtime.worker.runOnce();
    return n;
  };

  it('exact numbers: 118.00, 0.1, a 30-digit integer, -0.000000000000000001 and 1e400 reach the dropped file with their digits', async () => {
    const res = await postRaw(`{"documentType":"invoice","documentId":"EXACT-1","payload":${AMOUNTS_TEXT}}`);
    expect(res.statusCode).toBe(202);
    const id = res.json().id as string;
    // The stored record reads back with the same digits.
    const view = await host.app.inject({ method: 'GET', url: `/v1/pushes/${id}`, headers: auth(org.apiKey) });
    expect(view.body).toContain(AMOUNTS_TEXT.slice(1, -1).split(',"lines"')[0]);
    expect(await runWorker()).toBeGreaterThanOrEqual(1);
    const files = filesUnder(root).filter((f) => readFileSync(f, 'utf8').includes('EXACT-1'));
    expect(files).toHaveLength(1);
    const text = readFileSync(files[0]!, 'utf8');
    for (const digits of ['"net":118.00', '"rate":0.1', '"big":123456789012345678901234567890', '"tiny":-0.000000000000000001', '"huge":1e400', '"plain":42', '"neg0":-0', '"price":59.00']) {
      expect(text).toContain(digits);
    }
  });

  it('the same amounts with other digits (118 instead of 118.00) are another document: 409 naming payload', async () => {
    const first = await postRaw('{"documentType":"invoice","documentId":"DIG-1","payload":{"net":118.00}}');
    expect(first.statusCode).toBe(202);
    expect((await postRaw('{"documentType":"invoice","documentId":"DIG-1","payload":{"net":118.00}}')).statusCode).toBe(200);
    // Key order and whitespace are not part of the document.
    expect((await postRaw('{ "payload" : { "net" : 118.00 }, "documentId":"DIG-1", "documentType":"invoice" }')).statusCode).toBe(200);
    const other = await postRaw('{"documentType":"invoice","documentId":"DIG-1","payload":{"net":118}}');
    expect(other.statusCode).toBe(409);
    expect(other.json().error.details).toEqual({ pushId: first.json().id, differs: ['payload'] });
  });

  it('finding: the same key with another documentType or documentId was answered 200 with the other push; now 409 naming the fields, never their values', async () => {
    const payload = { total: 10 };
    const first = await post({ documentType: 'invoice', documentId: 'ID-A', idempotencyKey: 'k-whole-1', payload });
    expect(first.statusCode).toBe(202);
    const otherId = await post({ documentType: 'invoice', documentId: 'ID-B-SECRETISH', idempotencyKey: 'k-whole-1', payload });
    expect(otherId.statusCode).toBe(409);
    expect(otherId.json().error).toMatchObject({ code: 'ERPC_ERR_IDEMPOTENCY_CONFLICT', details: { pushId: first.json().id, differs: ['documentId'] } });
    expect(otherId.body).not.toContain('ID-B-SECRETISH');
    expect(otherId.body).not.toContain('ID-A');
    const otherType = await post({ documentType: 'credit_note', documentId: 'ID-A', idempotencyKey: 'k-whole-1', payload: { total: 11 } });
    expect(otherType.statusCode).toBe(409);
    expect(otherType.json().error.details.differs).toEqual(['documentType', 'payload']);
    const list = await host.app.inject({ method: 'GET', url: '/v1/pushes?limit=500', headers: auth(org.apiKey) });
    expect(list.json().items.filter((p: { idempotencyKey: string }) => p.idempotencyKey === 'k-whole-1')).toHaveLength(1);
  });

  it('concurrent duplicates stay exact: one 202, the identical ones 200 with its id, the different ones 409', async () => {
    const same = { documentType: 'invoice', documentId: 'RACE-1', idempotencyKey: 'k-race', payload: { n: 1 } };
    const answers = await Promise.all([
      ...Array.from({ length: 8 }, () => post(same)),
      ...Array.from({ length: 4 }, (_, i) => post({ ...same, documentId: `RACE-X${i}` })),
    ]);
    const codes = answers.map((a) => a.statusCode);
    const winners = answers.filter((a) => a.statusCode === 202);
    expect(winners).toHaveLength(1);
    const winnerIsSame = answers.indexOf(winners[0]!) < 8;
    const id = winners[0]!.json().id;
    for (const [i, a] of answers.entries()) {
      const matchesWinner = winnerIsSame ? i < 8 : i === answers.indexOf(winners[0]!);
      if (a === winners[0]) continue;
      if (matchesWinner) expect(a.statusCode, String(codes)).toBe(200);
      else expect(a.statusCode, String(codes)).toBe(409);
      if (a.statusCode === 200) expect(a.json().id).toBe(id);
    }
  });

  it('finding: a payload nested 5,000-10,000 levels answered 500 and 2,000-3,000 was accepted to die; now 422 naming the path', async () => {
    for (const levels of [65, 2_500, 5_000, 10_000]) {
      const payload = `${'{"a":'.repeat(levels - 1)}{}${'}'.repeat(levels - 1)}`;
      const res = await postRaw(`{"documentType":"invoice","documentId":"DEEP-${levels}","payload":${payload}}`);
      expect(res.statusCode, String(levels)).toBe(422);
      expect(res.json().error.code).toBe('ERPC_ERR_INPUT_REFUSED');
      expect(res.json().error.details.path).toBe(`/payload${'/a'.repeat(64)}`);
    }
    const ok = `${'{"a":'.repeat(63)}{}${'}'.repeat(63)}`;
    expect((await postRaw(`{"documentType":"invoice","documentId":"DEEP-64","payload":${ok}}`)).statusCode).toBe(202);
    // Configs too.
    const deepConfig = JSON.parse(`${'{"a":'.repeat(100)}{}${'}'.repeat(100)}`) as object;
    const conn = await host.app.inject({ method: 'POST', url: '/v1/connections', headers: auth(org.apiKey), payload: { connectorType: 'MOCK', name: 'deep', config: deepConfig } });
    expect(conn.statusCode).toBe(422);
    expect(conn.json().error.details.path).toMatch(/^\/config(\/a)+$/);
  });

  it('finding: NUL or a lone surrogate in a name, id, key or payload answered 500; now 422 naming the path, never the value', async () => {
    const cases: [string, string, string][] = [
      ['{"documentType":"invoice","documentId":"N\\u0000UL","payload":{}}', '/documentId', 'NUL'],
      ['{"documentType":"invoice","documentId":"ok-1","idempotencyKey":"k\\ud800","payload":{}}', '/idempotencyKey', 'surrogate'],
      ['{"documentType":"invoice","documentId":"ok-2","payload":{"lines":[{"d\\u0000":1}]}}', '/payload/lines/0/d\u0000', 'NUL'],
      ['{"documentType":"invoice","documentId":"ok-3","payload":{"memo":"x\\udc00y"}}', '/payload/memo', 'surrogate'],
    ];
    for (const [body, path, what] of cases) {
      const res = await postRaw(body);
      expect(res.statusCode, body).toBe(422);
      expect(res.json().error).toMatchObject({ code: 'ERPC_ERR_INPUT_REFUSED', details: { path } });
      expect(res.json().error.details.reason).toContain(what);
    }
    const conn = await host.app.inject({
      method: 'POST', url: '/v1/connections', headers: { ...auth(org.apiKey), 'content-type': 'application/json' },
      payload: '{"connectorType":"MOCK","name":"bad\\ud83d","config":{}}',
    });
    expect(conn.statusCode).toBe(422);
    expect(conn.json().error.details.path).toBe('/name');
  });

  it('configs from library callers get the same refusals as the API: nesting past the limit, NUL and lone surrogates, 422 naming the path under /config', async () => {
    const { connections } = host.host.services;
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 3_000; i++) deep = { d: deep };
    const cases: [unknown, string, string][] = [
      [{ behavior: 'ok', extra: deep }, '/config/extra', 'nested deeper'],
      [{ behavior: 'ok', ['k\u0000ey']: 1 }, '/config/k\u0000ey', 'NUL'],
      [{ behavior: 'ok', memo: 'x\ud800' }, '/config/memo', 'surrogate'],
    ];
    for (const [config, path, what] of cases) {
      for (const attempt of [
        () => connections.create(org.id, { connectorType: 'MOCK', name: 'lib', config: config as Record<string, unknown> }),
        async () => connections.validateConfig('MOCK', config),
        () => connections.update(org.id, connectionId, { config: config as Record<string, unknown>, replaceConfig: true }),
      ]) {
        const err = await Promise.resolve().then(attempt).then(() => undefined, (e: unknown) => e as { code?: string; details?: { path?: string; reason?: string } });
        expect(err?.code, path).toBe('ERPC_ERR_INPUT_REFUSED');
        expect(err?.details?.path?.startsWith(path.split('/').slice(0, 3).join('/'))).toBe(true);
        expect(err?.details?.reason).toContain(what);
      }
    }
  });
});
