import { readFileSync } from 'node:fs';
import { isConnectorDefinition, isConnectorError, parseExactJson, type OperationContext, type PushDocument } from '@erpc/sdk';
import { describe, expect, it } from 'vitest';
import definition, { createMockConnector, MOCK_RETAINED_DELIVERIES, type MockConfig, type MockConnector } from '../src/index.js';

const lines: { level: string; obj: unknown; msg?: string }[] = [];
const logger = {
  debug: (obj: object | string, msg?: string) => void lines.push({ level: 'debug', obj, msg }),
  info: (obj: object | string, msg?: string) => void lines.push({ level: 'info', obj, msg }),
  warn: (obj: object | string, msg?: string) => void lines.push({ level: 'warn', obj, msg }),
  error: (obj: object | string, msg?: string) => void lines.push({ level: 'error', obj, msg }),
};
const clock = { now: () => new Date('2026-01-02T03:04:05.000Z') };
const newPort = () => definition.create({ logger, clock }) as MockConnector;

function ctx(config: MockConfig, signal: AbortSignal = new AbortController().signal, id = 'conn-1'): OperationContext<MockConfig> {
  return Object.freeze({ config: Object.freeze(config), signal, logger, connection: { id, orgId: 'org-1', connectorType: 'MOCK' } });
}
function doc(n: number, key = `key-${n}`): PushDocument {
  return { pushId: `push-${n}`, documentType: 'invoice', documentId: `INV-${n}`, idempotencyKey: key, payload: { total: n }, createdAt: '2026-01-01T00:00:00.000Z' };
}
async function rejection(p: Promise<unknown>) {
  try {
    await p;
  } catch (err) {
    if (isConnectorError(err)) return { code: err.code, retryable: err.retryable, message: err.message };
    throw err;
  }
  throw new Error('expected a rejection');
}

describe('MOCK connector', () => {
  it('is a tagged definition of type MOCK whose manifest and schema agree', () => {
    expect(isConnectorDefinition(definition)).toBe(true);
    expect(definition.connectorType).toBe('MOCK');
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    expect(pkg.erpc.connectorType).toBe('MOCK');
    const schema = JSON.parse(readFileSync(new URL('../config.schema.json', import.meta.url), 'utf8'));
    expect(schema.properties.apiKey.writeOnly).toBe(true);
  });

  it('stores documents by idempotency key: the same key gives the first push\'s externalRef', async () => {
    const port = newPort();
    const first = await port.push(doc(1), ctx({}));
    const again = await port.push({ ...doc(2), idempotencyKey: 'key-1' }, ctx({}));
    expect(first.externalRef).toBe('mock:push-1');
    expect(again.externalRef).toBe('mock:push-1');
    expect(again.details).toMatchObject({ duplicate: true, attempt: 2 });
    expect(port.deliveries('conn-1')).toEqual([
      expect.objectContaining({ externalRef: 'mock:push-1', documentId: 'INV-1', payload: { total: 1 }, receivedAt: '2026-01-02T03:04:05.000Z' }),
    ]);
    // Each connection has its own store, and each port instance its own.
    expect(port.deliveries('conn-2')).toEqual([]);
    expect(newPort().deliveries('conn-1')).toEqual([]);
  });

  it('stores a document with exact numbers (raw JSON values such as 118.00) as delivered, digits kept', async () => {
    const port = newPort();
    const payload = parseExactJson('{"net":118.00,"big":123456789012345678901234567890,"qty":2}') as Record<string, unknown>;
    const receipt = await port.push({ ...doc(7), payload }, ctx({}));
    expect(receipt.externalRef).toBe('mock:push-7');
    const [stored] = port.deliveries('conn-1');
    expect(JSON.stringify(stored!.payload)).toBe('{"net":118.00,"big":123456789012345678901234567890,"qty":2}');
  });

  it('remembers a bounded number of documents across its connections, the oldest forgotten first', async () => {
    expect(MOCK_RETAINED_DELIVERIES).toBe(2_000);
    const port = createMockConnector({ logger, clock }, { retain: 3 });
    await port.push(doc(1), ctx({ ack: 'acknowledge' }, undefined, 'conn-1'));
    await port.push(doc(2), ctx({}, undefined, 'conn-2'));
    await port.push(doc(3), ctx({}, undefined, 'conn-1'));
    await port.push(doc(4), ctx({}, undefined, 'conn-1'));
    // Four delivered, three remembered: conn-1's first document is forgotten, conn-2's kept.
    expect(port.deliveries('conn-1').map((d) => d.documentId)).toEqual(['INV-3', 'INV-4']);
    expect(port.deliveries('conn-2').map((d) => d.documentId)).toEqual(['INV-2']);
    expect(await rejection(port.checkDelivery({ externalRef: 'mock:push-1' }, ctx({ ack: 'acknowledge' }, undefined, 'conn-1')))).toMatchObject({ code: 'MOCK_UNKNOWN_REF' });
    // Its key is forgotten too: sent again, it is a new delivery (attempt 1), not a duplicate; the
    // store being full, conn-2's document is the oldest now and goes.
    const again = await port.push({ ...doc(5), idempotencyKey: 'key-1' }, ctx({}, undefined, 'conn-1'));
    expect(again).toMatchObject({ externalRef: 'mock:push-5', details: { duplicate: false, attempt: 1 } });
    expect(port.deliveries('conn-1').map((d) => d.documentId)).toEqual(['INV-3', 'INV-4', 'INV-5']);
    expect(port.deliveries('conn-2')).toEqual([]);
    // A remembered key is still a duplicate.
    expect((await port.push({ ...doc(6), idempotencyKey: 'key-4' }, ctx({}, undefined, 'conn-1'))).details).toMatchObject({ duplicate: true, attempt: 2 });
  });

  it('bounds the attempts of keys that never delivered as well', async () => {
    const port = createMockConnector({ logger, clock }, { retain: 2 });
    const failing = ctx({ behavior: 'fail-retryable' });
    for (const n of [1, 2, 3]) await rejection(port.push(doc(n), failing));
    // key-1's count was forgotten: its next attempt counts from 1 again; key-3's goes on.
    expect(await rejection(port.push(doc(1), failing))).toMatchObject({ code: 'MOCK_UNAVAILABLE' });
    const third = await port.push(doc(3), ctx({ failTimes: 1 }));
    expect(third.details).toMatchObject({ attempt: 2, duplicate: false });
  });

  it('fails retryably or permanently as configured', async () => {
    const port = newPort();
    expect(await rejection(port.push(doc(1), ctx({ behavior: 'fail-retryable' })))).toMatchObject({ code: 'MOCK_UNAVAILABLE', retryable: true });
    expect(await rejection(port.push(doc(2), ctx({ behavior: 'fail-permanent' })))).toMatchObject({ code: 'MOCK_REJECTED', retryable: false });
    expect(port.deliveries('conn-1')).toEqual([]);
  });

  it('fails the first failTimes attempts of a key, then delivers', async () => {
    const port = newPort();
    const c = ctx({ failTimes: 2 });
    expect((await rejection(port.push(doc(1), c))).retryable).toBe(true);
    expect((await rejection(port.push(doc(1), c))).retryable).toBe(true);
    await expect(port.push(doc(1), c)).resolves.toMatchObject({ externalRef: 'mock:push-1', details: { attempt: 3 } });
    // another key has its own count
    expect(await rejection(port.push(doc(2), c))).toMatchObject({ code: 'MOCK_UNAVAILABLE' });
  });

  it('aborts slow and hanging operations promptly with MOCK_ABORTED (retryable)', async () => {
    const port = newPort();
    for (const behavior of ['slow', 'hang'] as const) {
      const ac = new AbortController();
      const pending = port.push(doc(1), ctx({ behavior, delayMs: 60_000 }, ac.signal));
      setTimeout(() => ac.abort(new Error('timeout')), 20);
      expect(await rejection(pending)).toMatchObject({ code: 'MOCK_ABORTED', retryable: true });
    }
    const aborted = AbortSignal.abort();
    expect(await rejection(port.testConnection(ctx({ behavior: 'hang' }, aborted)))).toMatchObject({ code: 'MOCK_ABORTED' });
    expect(port.deliveries('conn-1')).toEqual([]);
  });

  it('delivers after delayMs when slow and not aborted', async () => {
    const port = newPort();
    await expect(port.push(doc(1), ctx({ behavior: 'slow', delayMs: 30 }))).resolves.toMatchObject({ externalRef: 'mock:push-1' });
  });

  it('tests the connection: ok with a latency, or ok:false with a message', async () => {
    const port = newPort();
    const ok = await port.testConnection(ctx({ delayMs: 15 }));
    expect(ok.ok).toBe(true);
    expect(ok.latencyMs).toBeGreaterThanOrEqual(10);
    await expect(port.testConnection(ctx({ behavior: 'fail-permanent' }))).resolves.toMatchObject({ ok: false, message: expect.stringContaining('rejects') });
  });

  it('reports deliveries as configured by ack', async () => {
    const port = newPort();
    const receipt = await port.push(doc(1), ctx({}));
    const check = (config: MockConfig) => port.checkDelivery!(receipt, ctx(config));
    expect(await rejection(check({}))).toMatchObject({ code: 'MOCK_ACK_UNSUPPORTED', retryable: false });
    await expect(check({ ack: 'pending' })).resolves.toMatchObject({ state: 'pending' });
    await expect(check({ ack: 'reject' })).resolves.toMatchObject({ state: 'rejected', message: expect.stringContaining('INV-1') });
    const other = await port.push(doc(2), ctx({}));
    const later = (n: number) => port.checkDelivery!(other, ctx({ ack: 'acknowledge', ackAfterChecks: 1 })).then((s) => [n, s.state]);
    expect([await later(1), await later(2)]).toEqual([[1, 'pending'], [2, 'acknowledged']]);
    expect(await rejection(port.checkDelivery!({ externalRef: 'mock:nope' }, ctx({ ack: 'acknowledge' })))).toMatchObject({ code: 'MOCK_UNKNOWN_REF' });
  });

  it('echoes its apiKey into logs and errors only when echoSecret asks (a canary for host scrubbing)', async () => {
    const port = newPort();
    lines.length = 0;
    await port.push(doc(1), ctx({ apiKey: 'canary-3f9a' }));
    expect(JSON.stringify(lines)).not.toContain('canary-3f9a');
    const err = await rejection(port.push(doc(2), ctx({ apiKey: 'canary-3f9a', echoSecret: true, behavior: 'fail-permanent' })));
    expect(err.message).toContain('canary-3f9a');
    expect(JSON.stringify(lines)).toContain('canary-3f9a');
  });
});
