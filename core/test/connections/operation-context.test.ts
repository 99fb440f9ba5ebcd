import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ConfigCipher, Keyring, generateKey } from '../../src/crypto/index.js';
import { createOperationContext, withOperationContext, OperationTimeoutError } from '../../src/connections/operation-context.js';
import { isErpcError } from '../../src/errors/index.js';

const schema = {
  type: 'object',
  properties: {
    host: { type: 'string' },
    apiKey: { type: 'string', writeOnly: true },
    auth: { type: 'object', properties: { pin: { type: 'string', writeOnly: true } } },
  },
};

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

function storedRow(cipher: ConfigCipher, config: Record<string, unknown>) {
  const id = randomUUID();
  const orgId = randomUUID();
  const { blob, keyId } = cipher.encrypt(config, { orgId, connectionId: id });
  return { id, orgId, connectorType: 'MOCK', configEncrypted: blob, configKeyId: keyId };
}

describe('createOperationContext', () => {
  const cipher = new ConfigCipher(new Keyring(generateKey()));

  it('hands the connector a deep-frozen decrypted config, the ids and a signal', () => {
    const { logger } = memoryLogger();
    const row = storedRow(cipher, { host: 'h', apiKey: 'CANARY-op-1', auth: { pin: '9999' } });
    const scope = createOperationContext(cipher, row, { logger, configSchema: schema, timeoutMs: 1000 });
    try {
      expect(scope.ctx.config).toEqual({ host: 'h', apiKey: 'CANARY-op-1', auth: { pin: '9999' } });
      expect(Object.isFrozen(scope.ctx.config)).toBe(true);
      expect(Object.isFrozen((scope.ctx.config as { auth: object }).auth)).toBe(true);
      expect(scope.ctx.connection).toEqual({ id: row.id, orgId: row.orgId, connectorType: 'MOCK' });
      expect(scope.ctx.signal.aborted).toBe(false);
    } finally {
      scope.dispose();
    }
  });

  it('replaces every secret value wherever it appears in a connector log line', () => {
    const { logger, lines } = memoryLogger();
    const row = storedRow(cipher, { host: 'public-host', apiKey: 'CANARY-op-2', auth: { pin: '424242' } });
    const scope = createOperationContext(cipher, row, { logger, configSchema: schema, timeoutMs: 1000 });
    const log = scope.ctx.logger;
    log.info('connecting with CANARY-op-2 to public-host');
    log.warn({ nested: { deep: ['x', 'key=CANARY-op-2;'] }, CANARYop: 1, pinNumber: 424242 }, 'pin 424242');
    log.error({ err: new Error('auth failed for CANARY-op-2', { cause: new Error('pin 424242 rejected') }) });
    log.debug({ config: scope.ctx.config });
    scope.dispose();
    const all = lines.join('\n');
    expect(lines).toHaveLength(4);
    expect(all).not.toContain('CANARY-op-2');
    expect(all).not.toContain('424242');
    expect(all).toContain('public-host');
    expect(all).toContain('[REDACTED]');
    const first = JSON.parse(lines[0]!);
    expect(first).toMatchObject({ connectionId: row.id, orgId: row.orgId, connectorType: 'MOCK' });
  });

  it('aborts the signal when the time limit expires, even if the connector ignores it', async () => {
    const { logger } = memoryLogger();
    const row = storedRow(cipher, { host: 'h' });
    const started = Date.now();
    const outcome = withOperationContext(cipher, row, { logger, configSchema: schema, timeoutMs: 50 }, () => new Promise(() => undefined));
    await expect(outcome).rejects.toBeInstanceOf(OperationTimeoutError);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('follows a parent signal', async () => {
    const { logger } = memoryLogger();
    const parent = new AbortController();
    const scope = createOperationContext(cipher, storedRow(cipher, { host: 'h' }), { logger, configSchema: schema, timeoutMs: 60_000, parentSignal: parent.signal });
    parent.abort(new Error('shutdown'));
    expect(scope.ctx.signal.aborted).toBe(true);
    expect(scope.timedOut()).toBe(false);
    scope.dispose();
  });

  it('a row that does not decrypt logs its ids and reason code, never its bytes, and fails with "Configuration error"', () => {
    const { logger, lines } = memoryLogger();
    const row = storedRow(cipher, { host: 'h', apiKey: 'CANARY-op-3' });
    const tampered = Buffer.from(row.configEncrypted);
    tampered[tampered.length - 1]! ^= 1;
    let thrown: unknown;
    try {
      createOperationContext(cipher, { ...row, configEncrypted: tampered }, { logger, configSchema: schema, timeoutMs: 1000 });
    } catch (err) {
      thrown = err;
    }
    expect(isErpcError(thrown) && thrown.code).toBe('ERPC_ERR_CONFIG_DECRYPT_FAILED');
    expect((thrown as Error).message).toBe('Configuration error');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ connectionId: row.id, orgId: row.orgId, code: 'AUTH_FAILED' });
    const all = lines.join('');
    expect(all).not.toContain(tampered.toString('hex'));
    expect(all).not.toContain(tampered.toString('base64'));
    expect(all).not.toContain(tampered.subarray(9, 21).toString('hex'));
  });
});
