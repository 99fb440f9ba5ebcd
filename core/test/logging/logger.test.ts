import { Writable } from 'node:stream';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger, requestLogger, toConnectorLogger } from '../../src/logging/logger.js';
import { loadHostConfig } from '../../src/settings/index.js';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  return { lines, destination };
}

describe('createLogger', () => {
  it('writes JSON lines and redacts configs, passwords and authorization headers', () => {
    const { lines, destination } = capture();
    const log = createLogger({ level: 'info', destination });
    log.info({ config: { apiKey: 'canary-a1' }, conn: { config: { x: 'canary-a2' } }, req: { headers: { authorization: 'Bearer canary-a3' } }, db: { password: 'canary-a4' } }, 'hello');
    expect(lines).toHaveLength(1);
    const text = lines.join('\n');
    for (const c of ['canary-a1', 'canary-a2', 'canary-a3', 'canary-a4']) expect(text).not.toContain(c);
    expect(JSON.parse(lines[0] as string)).toMatchObject({ msg: 'hello', config: '[REDACTED]' });
  });
});

describe('requestLogger (one per HTTP request, made on first use)', () => {
  it('makes no pino child for a request that logs nothing at the level, and a full one when a line is written', () => {
    const { lines, destination } = capture();
    const parent = createLogger({ level: 'warn', destination });
    let children = 0;
    const child = parent.child.bind(parent);
    parent.child = ((...args: Parameters<typeof parent.child>) => (children++, child(...args))) as typeof parent.child;
    const log = requestLogger(parent, 'req-1', { component: 'api' });
    // What Fastify does with every request's logger: checks its methods, logs below the level.
    for (const m of ['info', 'error', 'debug', 'fatal', 'warn', 'trace', 'child'] as const) expect(typeof log[m]).toBe('function');
    log.info({ req: { headers: { authorization: 'Bearer canary-r1' } } }, 'incoming request');
    log.debug('below the level');
    expect(children).toBe(0);
    expect(lines).toHaveLength(0);
    log.warn({ config: { token: 'canary-r2' } }, 'slow');
    log.error('failed');
    expect(children).toBe(1);
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toMatchObject([
      { level: 40, msg: 'slow', requestId: 'req-1', component: 'api', config: '[REDACTED]' },
      { level: 50, msg: 'failed', requestId: 'req-1' },
    ]);
    expect(lines.join('\n')).not.toContain('canary-r2');
    // Its own child carries the request id too; a level change goes to the real child. (pino's
    // children inherit from their parent: the counting wrapper goes, or theirs would be it.)
    delete (parent as { child?: unknown }).child;
    log.child({ step: 'x' }).warn('nested');
    expect(JSON.parse(lines[2]!)).toMatchObject({ requestId: 'req-1', step: 'x', msg: 'nested' });
    log.level = 'info';
    log.info('now at info');
    expect(JSON.parse(lines[3]!)).toMatchObject({ requestId: 'req-1', msg: 'now at info' });
    expect(parent.level).toBe('warn');
  });
});

describe('toConnectorLogger', () => {
  it('scrubs secret values wherever they appear, at any depth and in messages', () => {
    const { lines, destination } = capture();
    const log = toConnectorLogger(createLogger({ level: 'debug', destination }), ['canary-s3cr3t']);
    log.info('key is canary-s3cr3t');
    log.warn({ nested: { list: ['x canary-s3cr3t y'] }, err: new Error('failed with canary-s3cr3t') }, 'again canary-s3cr3t');
    log.debug({ ok: true });
    expect(lines).toHaveLength(3);
    expect(lines.join('\n')).not.toContain('canary-s3cr3t');
    expect(JSON.parse(lines[0] as string).msg).toBe('key is [REDACTED]');
    expect(JSON.parse(lines[1] as string).nested.list[0]).toBe('x [REDACTED] y');
  });
});

describe('secrets in escaped and database forms', () => {
  it('scrubs a secret a plugin logs inside JSON text (quotes, backslashes, non-ASCII escaped)', () => {
    const { lines, destination } = capture();
    const secret = 'can"ary\\pässwörd-🔑';
    const log = toConnectorLogger(createLogger({ level: 'debug', destination }), [secret]);
    log.info(`request body ${JSON.stringify({ password: secret })}`);
    log.info({ body: JSON.stringify({ password: secret }) });
    // Python-style ASCII escapes, as in the original system's json.dumps output.
    const ascii = JSON.stringify(secret).slice(1, -1).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
    log.info(`legacy ${ascii}`);
    const text = lines.join('\n');
    expect(lines).toHaveLength(3);
    expect(text).not.toContain('ary');
    expect(text.match(/\[REDACTED\]/g)).toHaveLength(3);
  });

  it('drops row data (PostgreSQL "detail") from logged errors, through the cause chain', () => {
    const { lines, destination } = capture();
    const log = createLogger({ level: 'info', destination });
    const pgError = Object.assign(new Error('null value in column "name" violates not-null constraint'), {
      code: '23502',
      detail: 'Failing row contains (…, \\x01canary-ciphertext-bytes, …).',
      where: 'canary-where',
    });
    log.error({ err: new Error('insert failed', { cause: pgError }) }, 'boom');
    log.error({ err: pgError }, 'boom');
    const text = lines.join('\n');
    expect(text).not.toContain('canary-ciphertext-bytes');
    expect(text).not.toContain('canary-where');
    expect(JSON.parse(lines[1]!).err).toMatchObject({ code: '23502', message: expect.stringContaining('not-null') });
  });

  it('redacts configs nested two levels down', () => {
    const { lines, destination } = capture();
    createLogger({ level: 'info', destination }).info({ row: { connection: { config: { apiKey: 'canary-deep' } } } });
    expect(lines.join('\n')).not.toContain('canary-deep');
  });
});

describe('plugin and log settings', () => {
  it('reads plugin folders, timeout and level from the environment', () => {
    expect(loadHostConfig({ env: {}, cwd: '/srv/erpc' })).toMatchObject({ pluginDirs: ['/srv/erpc/plugins'], pluginImportTimeoutMs: 10_000, logLevel: undefined });
    const c = loadHostConfig({ env: { ERPC_PLUGIN_DIRS: 'a:/abs/b:', ERPC_PLUGIN_IMPORT_TIMEOUT_MS: '250', ERPC_LOG_LEVEL: 'WARN', ERPC_SCHEMA_CACHE_DIR: 'off' }, cwd: '/srv' });
    expect(c).toMatchObject({ pluginDirs: [path.resolve('/srv/a'), '/abs/b'], pluginImportTimeoutMs: 250, logLevel: 'warn', schemaCacheDir: undefined });
  });

  it('rejects unusable values naming the variable', () => {
    expect(() => loadHostConfig({ env: { ERPC_PLUGIN_IMPORT_TIMEOUT_MS: '-1' } })).toThrowError(expect.objectContaining({ code: 'ERPC_ERR_SETTING_INVALID', message: expect.stringContaining('ERPC_PLUGIN_IMPORT_TIMEOUT_MS') }));
    expect(() => loadHostConfig({ env: { ERPC_LOG_LEVEL: 'loud' } })).toThrowError(expect.objectContaining({ code: 'ERPC_ERR_SETTING_INVALID' }));
  });
});
