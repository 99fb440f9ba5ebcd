import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ConnectorError, type ERPConnectorPort, type OperationContext, type PushDocument } from '@erpc/sdk';
import { ConfigCipher, Keyring, generateKey } from '../../src/crypto/index.js';
import { ConnectionConfigCache } from '../../src/plugins/connection-config-cache.js';
import { ConnectorCaller, MAX_CONNECTOR_MESSAGE, disposeConnector } from '../../src/plugins/connector-call.js';
import { ConnectorRegistry } from '../../src/plugins/connector-registry.js';
import type { LoadedPlugin } from '../../src/plugins/types.js';

const schema = {
  type: 'object',
  properties: {
    host: { type: 'string' },
    apiKey: { type: 'string', writeOnly: true },
    auth: { type: 'object', properties: { pin: { type: 'string', writeOnly: true } } },
  },
};

// Canaries: secret values that must never come back out of a call.
const API_KEY = 'CANARY-call-apikey-7f3a';
const PIN = '424242';

function memoryLogger() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

type Port = ERPConnectorPort<Record<string, unknown>>;

function plugin(connectorType: string, port: Partial<Port>): LoadedPlugin {
  return {
    dir: `/plugins/${connectorType}`, name: connectorType, version: '1.0.0',
    manifest: { manifestVersion: 1, connectorType, entry: './index.js', configSchema: './config.schema.json', sdk: '^1.0.0' },
    connectorType, displayName: connectorType, documentTypes: undefined, configSchema: schema,
    validateConfig: (() => true) as never,
    port: { testConnection: async () => ({ ok: true, latencyMs: 0 }), push: async () => ({ externalRef: 'x' }), ...port } as ERPConnectorPort<unknown>,
  };
}

/** A caller over one connector type `T`, a stored row of it with canary secrets, and the log lines. */
function setup(port: Partial<Port>, options: { cache?: boolean } = {}) {
  const cipher = new ConfigCipher(new Keyring(generateKey()));
  const ports = new Map<string, ERPConnectorPort<unknown>>();
  const registry = new ConnectorRegistry({ bind: (t, p) => void ports.set(t, p), resolve: (t) => ports.get(t) });
  registry.register(plugin('T', port));
  const { logger, lines } = memoryLogger();
  const caller = new ConnectorCaller({ registry, cipher, logger, ...(options.cache === true ? { configs: new ConnectionConfigCache() } : {}) });
  const id = randomUUID();
  const orgId = randomUUID();
  const { blob, keyId } = cipher.encrypt({ host: 'public-host', apiKey: API_KEY, auth: { pin: PIN } }, { orgId, connectionId: id });
  const connection = { id, orgId, connectorType: 'T', configEncrypted: blob, configKeyId: keyId };
  return { caller, registry, connection, lines };
}

const document: PushDocument = Object.freeze({
  pushId: randomUUID(), documentType: 'invoice', documentId: 'INV-1', idempotencyKey: 'k-1', payload: { total: 1 }, createdAt: new Date().toISOString(), attempt: 1,
});

const never = () => new Promise<never>(() => undefined);

describe('ConnectorCaller', () => {
  it('hands the connector a deep-frozen decrypted config, the ids, a live signal and its own context per call', async () => {
    const seen: OperationContext[] = [];
    const { caller, connection } = setup({ testConnection: async (ctx) => (seen.push(ctx), { ok: true, latencyMs: 1 }) }, { cache: true });
    const results = [await caller.call({ operation: 'testConnection', connection, timeoutMs: 1000 }), await caller.call({ operation: 'testConnection', connection, timeoutMs: 1000 })];
    expect(results.map((r) => r.kind)).toEqual(['value', 'value']);
    const [ctx, other] = seen as [OperationContext, OperationContext];
    expect(ctx.config).toEqual({ host: 'public-host', apiKey: API_KEY, auth: { pin: PIN } });
    expect(Object.isFrozen(ctx)).toBe(true);
    expect(Object.isFrozen(ctx.config)).toBe(true);
    expect(Object.isFrozen((ctx.config as { auth: object }).auth)).toBe(true);
    expect(ctx.connection).toEqual({ id: connection.id, orgId: connection.orgId, connectorType: 'T' });
    // The cache shares the decrypted config; each call still has its own signal.
    expect(other.config).toBe(ctx.config);
    expect(other.signal).not.toBe(ctx.signal);
    expect(ctx.signal.aborted).toBe(false);
  });

  it('the connector logger replaces every secret value wherever it appears in a line', async () => {
    const { caller, connection, lines } = setup({
      testConnection: async (ctx) => {
        const log = ctx.logger;
        log.info(`connecting with ${API_KEY} to public-host`);
        log.warn({ nested: { deep: ['x', `key=${API_KEY};`] }, pinNumber: Number(PIN) }, `pin ${PIN}`);
        log.error({ err: new Error(`auth failed for ${API_KEY}`, { cause: new Error(`pin ${PIN} rejected`) }) });
        log.debug({ config: ctx.config });
        return { ok: true, latencyMs: 0 };
      },
    });
    await caller.call({ operation: 'testConnection', connection, timeoutMs: 1000 });
    const all = lines.join('\n');
    expect(lines).toHaveLength(4);
    expect(all).not.toContain(API_KEY);
    expect(all).not.toContain(PIN);
    expect(all).toContain('public-host');
    expect(all).toContain('[REDACTED]');
    expect(JSON.parse(lines[0]!)).toMatchObject({ connectionId: connection.id, orgId: connection.orgId, connectorType: 'T' });
  });

  it('enforces the deadline even when the connector ignores its signal, and aborts that signal', async () => {
    let signal: AbortSignal | undefined;
    const { caller, connection } = setup({ push: (_doc, ctx) => ((signal = ctx.signal), never()) });
    const started = performance.now();
    const result = await caller.call({ operation: 'push', connection, document, timeoutMs: 50 });
    expect(result).toMatchObject({ kind: 'timeout', timeoutMs: 50 });
    expect(result.durationMs).toBeGreaterThanOrEqual(45);
    expect(performance.now() - started).toBeLessThan(5000);
    expect(signal?.aborted).toBe(true);
    expect((signal?.reason as Error).name).toBe('TimeoutError');
  });

  it('a connector that rejects when its signal aborts at the deadline is still a timeout, not a failure', async () => {
    const { caller, connection } = setup({
      push: (_doc, ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(new ConnectorError('ABORTED', 'aborted', { retryable: false })))),
    });
    expect((await caller.call({ operation: 'push', connection, document, timeoutMs: 30 })).kind).toBe('timeout');
  });

  it('the caller aborting is "aborted", not "timeout"; an already aborted signal does not call the connector', async () => {
    let calls = 0;
    let signal: AbortSignal | undefined;
    const { caller, connection } = setup({ push: (_doc, ctx) => ((calls++, (signal = ctx.signal)), never()) });
    const parent = new AbortController();
    const pending = caller.call({ operation: 'push', connection, document, timeoutMs: 60_000, signal: parent.signal });
    await new Promise((r) => setTimeout(r, 10));
    parent.abort(new Error('shutdown'));
    const result = await pending;
    expect(result.kind).toBe('aborted');
    expect(signal?.aborted).toBe(true);
    expect((signal?.reason as Error).message).toBe('shutdown');
    expect(await caller.call({ operation: 'push', connection, document, timeoutMs: 60_000, signal: parent.signal })).toEqual({ kind: 'aborted', durationMs: 0 });
    expect(calls).toBe(1);
  });

  it('carries a ConnectorError code and retryable, with message and details scrubbed of the secrets', async () => {
    for (const retryable of [true, false]) {
      const { caller, connection } = setup({
        push: async () => {
          throw new ConnectorError('AUTH_FAILED', `bad key ${API_KEY} (pin ${PIN})`, { retryable, details: { sent: { key: API_KEY }, [`k-${API_KEY}`]: 1 } });
        },
      });
      const result = await caller.call({ operation: 'push', connection, document, timeoutMs: 1000 });
      expect(result).toMatchObject({ kind: 'connector-error', code: 'AUTH_FAILED', retryable, message: 'bad key [REDACTED] (pin [REDACTED])' });
      expect(result.kind === 'connector-error' && result.details).toEqual({ sent: { key: '[REDACTED]' }, 'k-[REDACTED]': 1 });
      expect(JSON.stringify(result)).not.toContain(API_KEY);
    }
  });

  it('a ConnectorError-shaped plain object (a plugin with its own SDK copy) is recognised by name and code', async () => {
    const { caller, connection } = setup({
      push: () => Promise.reject({ name: 'ConnectorError', code: 'DISK_FULL', retryable: true, message: 'no space' }),
    });
    expect(await caller.call({ operation: 'push', connection, document, timeoutMs: 1000 })).toMatchObject({ kind: 'connector-error', code: 'DISK_FULL', retryable: true, message: 'no space', details: null });
  });

  it('classifies anything else thrown, synchronously or not, as "crashed" with its name, scrubbed', async () => {
    const cases: [Partial<Port>, { errorName: string; message: string }][] = [
      [{ push: async () => { throw new TypeError(`cannot read ${API_KEY}`); } }, { errorName: 'TypeError', message: 'cannot read [REDACTED]' }],
      [{ push: () => { throw new RangeError('sync'); } }, { errorName: 'RangeError', message: 'sync' }],
      [{ push: () => Promise.reject(`a string with ${PIN}`) }, { errorName: 'string', message: 'a string with [REDACTED]' }],
    ];
    for (const [port, expected] of cases) {
      const { caller, connection } = setup(port);
      expect(await caller.call({ operation: 'push', connection, document, timeoutMs: 1000 })).toMatchObject({ kind: 'crashed', ...expected });
    }
  });

  it('scrubs what a successful call returns: receipt details, test messages, delivery statuses; bounds messages', async () => {
    const { caller, connection } = setup({
      push: async () => ({ externalRef: 'ref-1', details: { path: `/drop/${API_KEY}.json`, nested: [{ pin: PIN }], count: Number(PIN) } }),
      testConnection: async () => ({ ok: false, latencyMs: 3, message: `login with ${API_KEY} refused ${'x'.repeat(2000)}` }),
      checkDelivery: async () => ({ state: 'rejected', message: `rejected ${API_KEY}`, details: { echo: API_KEY } }),
    });
    const pushed = await caller.call({ operation: 'push', connection, document, timeoutMs: 1000 });
    expect(pushed).toMatchObject({ kind: 'value', value: { externalRef: 'ref-1', details: { path: '/drop/[REDACTED].json', nested: [{ pin: '[REDACTED]' }], count: '[REDACTED]' }, expectAcknowledgement: true } });
    const tested = await caller.call({ operation: 'testConnection', connection, timeoutMs: 1000 });
    expect(tested.kind === 'value' && tested.value.ok).toBe(false);
    const message = tested.kind === 'value' ? tested.value.message! : '';
    expect(message.startsWith('login with [REDACTED] refused')).toBe(true);
    expect(message).toHaveLength(MAX_CONNECTOR_MESSAGE);
    const checked = await caller.call({ operation: 'checkDelivery', connection, receipt: { externalRef: 'ref-1' }, timeoutMs: 1000 });
    expect(checked).toMatchObject({ kind: 'value', value: { state: 'rejected', message: 'rejected [REDACTED]', details: { echo: '[REDACTED]' } } });
    for (const result of [pushed, tested, checked]) {
      expect(JSON.stringify(result)).not.toContain(API_KEY);
      expect(JSON.stringify(result)).not.toContain(PIN);
      // Plain data, nothing live: it could cross a process boundary as it is.
      expect(structuredClone(result)).toEqual(result);
    }
  });

  it('answers outside the contract are "invalid" (push) or read safely (test, delivery status)', async () => {
    const { caller, connection } = setup({
      push: async () => ({ externalRef: '' }),
      testConnection: async () => undefined as never,
      checkDelivery: async () => ({ state: 'exploded' }) as never,
    });
    expect((await caller.call({ operation: 'push', connection, document, timeoutMs: 1000 })).kind).toBe('invalid');
    expect(await caller.call({ operation: 'testConnection', connection, timeoutMs: 1000 })).toMatchObject({ kind: 'value', value: { ok: false } });
    expect(await caller.call({ operation: 'checkDelivery', connection, receipt: { externalRef: 'r' }, timeoutMs: 1000 })).toMatchObject({ kind: 'value', value: { state: 'pending', details: null } });
  });

  it('no plugin loaded, no checkDelivery, a declined acknowledgement', async () => {
    const { caller, connection } = setup({ push: async () => ({ externalRef: 'r', expectAcknowledgement: true }) });
    expect(await caller.call({ operation: 'push', connection: { ...connection, connectorType: 'NOT_LOADED' }, document, timeoutMs: 1000 })).toEqual({ kind: 'unavailable', reason: 'not-loaded', durationMs: 0 });
    expect(await caller.call({ operation: 'checkDelivery', connection, receipt: { externalRef: 'r' }, timeoutMs: 1000 })).toEqual({ kind: 'unavailable', reason: 'not-implemented', durationMs: 0 });
    // Without checkDelivery no acknowledgement can come, whatever the receipt says.
    expect(await caller.call({ operation: 'push', connection, document, timeoutMs: 1000 })).toMatchObject({ kind: 'value', value: { expectAcknowledgement: false } });
    const declined = setup({ push: async () => ({ externalRef: 'r', expectAcknowledgement: false }), checkDelivery: async () => ({ state: 'pending' }) });
    expect(await declined.caller.call({ operation: 'push', connection: declined.connection, document, timeoutMs: 1000 })).toMatchObject({ kind: 'value', value: { expectAcknowledgement: false } });
  });

  it('a row that does not decrypt is "config-error", logged with its ids and reason code, never its bytes; the connector is not called', async () => {
    let calls = 0;
    const { caller, connection, lines } = setup({ testConnection: async () => (calls++, { ok: true, latencyMs: 0 }) });
    const tampered = Buffer.from(connection.configEncrypted);
    tampered[tampered.length - 1]! ^= 1;
    const result = await caller.call({ operation: 'testConnection', connection: { ...connection, configEncrypted: tampered }, timeoutMs: 1000 });
    expect(result).toEqual({ kind: 'config-error', durationMs: 0 });
    expect(calls).toBe(0);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ connectionId: connection.id, orgId: connection.orgId, code: 'AUTH_FAILED' });
    const all = lines.join('');
    expect(all).not.toContain(tampered.toString('hex'));
    expect(all).not.toContain(tampered.toString('base64'));
    expect(all).not.toContain(tampered.subarray(9, 21).toString('hex'));
  });
});

describe('disposeConnector', () => {
  it('a dispose() that never settles ends at its deadline; one that throws is "crashed"; none is "unavailable"', async () => {
    const started = performance.now();
    expect(await disposeConnector(plugin('A', { dispose: never }), { timeoutMs: 40 })).toMatchObject({ kind: 'timeout', timeoutMs: 40 });
    expect(performance.now() - started).toBeLessThan(5000);
    expect(await disposeConnector(plugin('B', { dispose: () => { throw new Error('closing failed'); } }), { timeoutMs: 1000 })).toMatchObject({ kind: 'crashed', errorName: 'Error', message: 'closing failed' });
    expect(await disposeConnector(plugin('C', {}), { timeoutMs: 1000 })).toMatchObject({ kind: 'unavailable', reason: 'not-implemented' });
    expect(await disposeConnector(plugin('D', { dispose: () => undefined }), { timeoutMs: 1000 })).toMatchObject({ kind: 'value' });
  });

  it('the registry disposes every plugin through it: a hanging one does not stop the others, failures are returned', async () => {
    const ports = new Map<string, ERPConnectorPort<unknown>>();
    const registry = new ConnectorRegistry({ bind: (t, p) => void ports.set(t, p), resolve: (t) => ports.get(t) });
    const disposed: string[] = [];
    registry.register(plugin('HANGS', { dispose: never }));
    registry.register(plugin('THROWS', { dispose: async () => { throw new Error('boom'); } }));
    registry.register(plugin('FINE', { dispose: async () => void disposed.push('FINE') }));
    const failures = await registry.dispose(40);
    expect(disposed).toEqual(['FINE']);
    expect(failures.map((f) => [f.connectorType, f.error.kind])).toEqual([['HANGS', 'timeout'], ['THROWS', 'crashed']]);
  });
});
