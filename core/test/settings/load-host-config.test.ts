import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_POLICY } from '../../src/push/retry-policy.js';
import { describeSettings, loadHostConfig, SETTINGS, type HostConfig, type SettingOverrides } from '../../src/settings/index.js';

const GRANTS = '{"MOCK":{"network":true},"DROP_V1":{"fsWrite":["/srv/drops/{orgId}"]}}';

const cwd = path.resolve('/srv/erpc');
const load = (env: Record<string, string | undefined> = {}, overrides?: SettingOverrides) =>
  loadHostConfig({ env, cwd, ...(overrides === undefined ? {} : { overrides }) });

/** The ErpcError loadHostConfig throws for `env` (fails the test when it does not throw). */
function failure(env: Record<string, string>, overrides?: Record<string, string | string[] | boolean>): { code: string; message: string } {
  try {
    loadHostConfig({ env, cwd, ...(overrides === undefined ? {} : { overrides }) });
  } catch (err) {
    return err as { code: string; message: string };
  }
  throw new Error(`expected ${JSON.stringify(env)} to be refused`);
}

describe('loadHostConfig defaults', () => {
  it('gives every documented default for an environment without settings', () => {
    const config = load({ PATH: '/usr/bin', HOME: '/root' });
    expect(config).toEqual({
      databaseUrl: undefined,
      dataDir: path.join(cwd, '.erpc/data'),
      encryptionMasterKey: undefined,
      encryptionPreviousKeys: undefined,
      allowMissingKeys: false,
      port: 3000,
      host: '127.0.0.1',
      logLevel: undefined,
      pluginDirs: [path.join(cwd, 'plugins')],
      pluginImportTimeoutMs: 10_000,
      schemaCacheDir: path.join(cwd, '.erpc/cache/config-schemas'),
      connectionTestTimeoutMs: 10_000,
      metricsToken: undefined,
      sandbox: { isolation: 'process', trusted: [], grants: {}, grantsText: undefined, scope: 'plugin', maxProcesses: 32, idleMs: 300_000, threadPoolSize: 4, memoryMb: 256, jit: 'full', uid: undefined, gid: undefined, restartMaxMs: 30_000 },
      payloadMaxDepth: 64,
      webhooks: { timeoutMs: 10_000, disableAfterMs: 5 * 86_400_000, retryScheduleMs: [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000], allowHttp: 'off', allowedNetworks: [], concurrency: 32, yieldMs: 10_000 },
      shutdown: { drainMs: 2_000, timeoutMs: 25_000 },
      workerHttp: { port: undefined, host: '127.0.0.1' },
      worker: {
        concurrency: 16,
        prefetch: undefined,
        pushTimeoutMs: 30_000,
        leaseMs: undefined,
        pollIntervalMs: 1_000,
        ackCheckIntervalMs: 10_000,
        ackTimeoutMs: 86_400_000,
        shutdownGraceMs: 10_000,
        heartbeatMs: 10_000,
        retry: { ...DEFAULT_RETRY_POLICY },
      },
    } satisfies HostConfig);
  });

  it('treats an empty or blank value as unset', () => {
    const config = load({ PORT: '', ERPC_WORKER_CONCURRENCY: '  ', DATABASE_URL: '', ERPC_LOG_LEVEL: '', ERPC_DATA_DIR: ' ' });
    expect(config.port).toBe(3000);
    expect(config.worker.concurrency).toBe(16);
    expect(config.databaseUrl).toBeUndefined();
    expect(config.logLevel).toBeUndefined();
    expect(config.dataDir).toBe(path.join(cwd, '.erpc/data'));
  });

  it('documents the same defaults it applies', () => {
    const byName = new Map(SETTINGS.map((s) => [s.name, s]));
    const shown = new Map(describeSettings(load()).map((s) => [s.name, s.value]));
    for (const spec of SETTINGS) {
      if (spec.default === undefined || spec.secret) continue;
      const value = shown.get(spec.name);
      const expected = spec.type === 'path' ? path.resolve(cwd, String(spec.default)) : spec.type === 'path-list' ? [path.resolve(cwd, String(spec.default))] : spec.default;
      expect(value, spec.name).toEqual(expected);
    }
    expect(byName.get('ERPC_PUSH_RETRY_CAP_MS')!.default).toBe(DEFAULT_RETRY_POLICY.capMs);
  });
});

describe('loadHostConfig reads each setting', () => {
  it('parses values of every type', () => {
    const config = load({
      DATABASE_URL: 'postgres://erpc@db/erpc',
      ERPC_DATA_DIR: 'var/data',
      ENCRYPTION_MASTER_KEY: 'a'.repeat(64),
      ENCRYPTION_PREVIOUS_KEYS: `${'b'.repeat(64)},`,
      ERPC_ALLOW_MISSING_KEYS: 'YES',
      PORT: '8080',
      HOST: '0.0.0.0',
      ERPC_LOG_LEVEL: ' Debug ',
      ERPC_PLUGIN_DIRS: 'one: /abs/two :',
      ERPC_PLUGIN_IMPORT_TIMEOUT_MS: '2500',
      ERPC_SCHEMA_CACHE_DIR: '/tmp/cache',
      ERPC_TEST_TIMEOUT_MS: '750',
      ERPC_METRICS_TOKEN: 'x'.repeat(16),
      ERPC_PLUGIN_ISOLATION: 'in-process',
      ERPC_PLUGIN_TRUSTED: 'MOCK, ACME_V1',
      ERPC_PLUGIN_GRANTS: GRANTS,
      ERPC_SANDBOX_SCOPE: 'connection',
      ERPC_SANDBOX_MAX_PROCESSES: '4',
      ERPC_SANDBOX_IDLE_MS: '1000',
      ERPC_SANDBOX_THREADPOOL_SIZE: '8',
      ERPC_SANDBOX_MEMORY_MB: '64',
      ERPC_SANDBOX_JIT: 'lite',
      ERPC_SANDBOX_UID: 'erpc',
      ERPC_SANDBOX_GID: '1000',
      ERPC_SANDBOX_RESTART_MAX_MS: '5000',
      ERPC_WORKER_CONCURRENCY: '64',
      ERPC_WORKER_PREFETCH: '0',
      ERPC_PUSH_TIMEOUT_MS: '5000',
      ERPC_PUSH_LEASE_MS: '5001',
      ERPC_PUSH_POLL_MS: '50',
      ERPC_PUSH_ACK_CHECK_MS: '60000',
      ERPC_PUSH_ACK_TIMEOUT_MS: '3600000',
      ERPC_PUSH_SHUTDOWN_GRACE_MS: '1',
      ERPC_PUSH_RETRY_BASE_MS: '0',
      ERPC_PUSH_RETRY_FACTOR: '1.5',
      ERPC_PUSH_RETRY_CAP_MS: '60000',
      ERPC_PUSH_RETRY_MAX_ATTEMPTS: '3',
      ERPC_PUSH_RETRY_JITTER: '1',
      ERPC_PUSH_RETRY_HORIZON_MS: '7200000',
      ERPC_PAYLOAD_MAX_DEPTH: '10',
      ERPC_WEBHOOK_TIMEOUT_MS: '2500',
      ERPC_WEBHOOK_DISABLE_AFTER: '60000',
      ERPC_WEBHOOK_RETRY_SCHEDULE_MS: ' 10, 20 ,30',
      ERPC_WEBHOOKS_ALLOW_HTTP: 'loopback',
      ERPC_WEBHOOKS_ALLOWED_NETWORKS: '10.20.0.0/16, fd00:1::/64',
      ERPC_WEBHOOK_CONCURRENCY: '4',
      ERPC_WEBHOOK_YIELD_MS: '0',
    });
    expect(config).toEqual({
      databaseUrl: 'postgres://erpc@db/erpc',
      dataDir: path.join(cwd, 'var/data'),
      encryptionMasterKey: 'a'.repeat(64),
      encryptionPreviousKeys: `${'b'.repeat(64)},`,
      allowMissingKeys: true,
      port: 8080,
      host: '0.0.0.0',
      logLevel: 'debug',
      pluginDirs: [path.join(cwd, 'one'), path.resolve('/abs/two')],
      pluginImportTimeoutMs: 2500,
      schemaCacheDir: path.resolve('/tmp/cache'),
      connectionTestTimeoutMs: 750,
      metricsToken: 'x'.repeat(16),
      sandbox: { isolation: 'in-process', trusted: ['MOCK', 'ACME_V1'], grants: { MOCK: { network: true }, DROP_V1: { fsWrite: ['/srv/drops/{orgId}'] } }, grantsText: GRANTS, scope: 'connection', maxProcesses: 4, idleMs: 1_000, threadPoolSize: 8, memoryMb: 64, jit: 'lite', uid: 'erpc', gid: '1000', restartMaxMs: 5_000 },
      payloadMaxDepth: 10,
      webhooks: { timeoutMs: 2500, disableAfterMs: 60_000, retryScheduleMs: [10, 20, 30], allowHttp: 'loopback', allowedNetworks: ['10.20.0.0/16', 'fd00:1::/64'], concurrency: 4, yieldMs: 0 },
      shutdown: { drainMs: 2_000, timeoutMs: 25_000 },
      workerHttp: { port: undefined, host: '127.0.0.1' },
      worker: {
        concurrency: 64,
        prefetch: 0,
        pushTimeoutMs: 5000,
        leaseMs: 5001,
        pollIntervalMs: 50,
        ackCheckIntervalMs: 60_000,
        ackTimeoutMs: 3_600_000,
        shutdownGraceMs: 1,
        heartbeatMs: 10_000,
        retry: { baseMs: 0, factor: 1.5, capMs: 60_000, maxAttempts: 3, jitter: 1, horizonMs: 7_200_000 },
      },
    } satisfies HostConfig);
  });

  it('accepts 1, true, yes and 0, false, no for a boolean, in any case', () => {
    for (const word of ['1', 'true', 'TRUE', 'yes', 'Yes']) expect(load({ ERPC_ALLOW_MISSING_KEYS: word }).allowMissingKeys, word).toBe(true);
    for (const word of ['0', 'false', 'no', 'NO']) expect(load({ ERPC_ALLOW_MISSING_KEYS: word }).allowMissingKeys, word).toBe(false);
  });

  it("sizes a sandbox's thread pool like the host's (UV_THREADPOOL_SIZE, as libuv reads it) unless ERPC_SANDBOX_THREADPOOL_SIZE says otherwise", () => {
    expect(load({ UV_THREADPOOL_SIZE: '16' }).sandbox.threadPoolSize).toBe(16);
    expect(load({ UV_THREADPOOL_SIZE: '5000' }).sandbox.threadPoolSize).toBe(1024);
    for (const unusable of ['0', 'many', '', undefined]) expect(load({ UV_THREADPOOL_SIZE: unusable }).sandbox.threadPoolSize, String(unusable)).toBe(4);
    expect(load({ UV_THREADPOOL_SIZE: '16', ERPC_SANDBOX_THREADPOOL_SIZE: '2' }).sandbox.threadPoolSize).toBe(2);
    expect(() => load({ ERPC_SANDBOX_THREADPOOL_SIZE: '1025' })).toThrow(/ERPC_SANDBOX_THREADPOOL_SIZE/);
  });

  it('turns the schema cache off with `off`', () => {
    expect(load({ ERPC_SCHEMA_CACHE_DIR: 'off' }).schemaCacheDir).toBeUndefined();
    expect(load({ ERPC_SCHEMA_CACHE_DIR: 'cache' }).schemaCacheDir).toBe(path.join(cwd, 'cache'));
  });

  it('resolves relative paths against the given cwd, not the process one', () => {
    const config = loadHostConfig({ env: { ERPC_DATA_DIR: 'd', ERPC_PLUGIN_DIRS: 'p' }, cwd: path.resolve('/elsewhere') });
    expect(config.dataDir).toBe(path.resolve('/elsewhere/d'));
    expect(config.pluginDirs).toEqual([path.resolve('/elsewhere/p')]);
    expect(config.schemaCacheDir).toBe(path.resolve('/elsewhere/.erpc/cache/config-schemas'));
  });

  it('keeps secrets exactly as written (their parsers trim them)', () => {
    expect(load({ ENCRYPTION_MASTER_KEY: ` ${'a'.repeat(64)} ` }).encryptionMasterKey).toBe(` ${'a'.repeat(64)} `);
  });
});

describe('loadHostConfig refuses a value it cannot use', () => {
  const cases: [string, Record<string, string>, RegExp][] = [
    ['a port that is not a number', { PORT: 'http' }, /PORT is invalid: expected an integer from 0 to 65535/],
    ['a port above 65535', { PORT: '65536' }, /PORT is invalid: expected an integer from 0 to 65535/],
    ['a negative port', { PORT: '-1' }, /PORT is invalid/],
    ['a fractional port', { PORT: '80.5' }, /PORT is invalid/],
    ['a worker concurrency that is no number', { ERPC_WORKER_CONCURRENCY: 'lots' }, /ERPC_WORKER_CONCURRENCY is invalid: expected an integer from 1 to 1024/],
    ['a worker concurrency of 0', { ERPC_WORKER_CONCURRENCY: '0' }, /ERPC_WORKER_CONCURRENCY is invalid/],
    ['a worker concurrency above 1024', { ERPC_WORKER_CONCURRENCY: '1025' }, /ERPC_WORKER_CONCURRENCY is invalid/],
    ['a negative prefetch', { ERPC_WORKER_PREFETCH: '-1' }, /ERPC_WORKER_PREFETCH is invalid: expected a whole number, 0 or more/],
    ['a negative webhook yield', { ERPC_WEBHOOK_YIELD_MS: '-5' }, /ERPC_WEBHOOK_YIELD_MS is invalid: expected a whole number of milliseconds from 0 to 600000/],
    ['a push timeout of 0', { ERPC_PUSH_TIMEOUT_MS: '0' }, /ERPC_PUSH_TIMEOUT_MS is invalid: expected a positive integer/],
    ['an infinite push timeout', { ERPC_PUSH_TIMEOUT_MS: '1e400' }, /ERPC_PUSH_TIMEOUT_MS is invalid: expected a positive integer/],
    ['a fractional poll interval', { ERPC_PUSH_POLL_MS: '1.5' }, /ERPC_PUSH_POLL_MS is invalid: expected a positive integer/],
    ['a negative ack check interval', { ERPC_PUSH_ACK_CHECK_MS: '-5' }, /ERPC_PUSH_ACK_CHECK_MS is invalid/],
    ['an ack timeout in words', { ERPC_PUSH_ACK_TIMEOUT_MS: 'one day' }, /ERPC_PUSH_ACK_TIMEOUT_MS is invalid/],
    ['a shutdown grace of 0', { ERPC_PUSH_SHUTDOWN_GRACE_MS: '0' }, /ERPC_PUSH_SHUTDOWN_GRACE_MS is invalid/],
    ['a plugin import timeout of 0', { ERPC_PLUGIN_IMPORT_TIMEOUT_MS: '0' }, /ERPC_PLUGIN_IMPORT_TIMEOUT_MS is invalid: expected a positive integer \(milliseconds\)/],
    ['a connection test timeout in words', { ERPC_TEST_TIMEOUT_MS: 'soon' }, /ERPC_TEST_TIMEOUT_MS is invalid: expected a positive integer \(milliseconds\)/],
    ['a lease equal to the push timeout', { ERPC_PUSH_LEASE_MS: '30000' }, /ERPC_PUSH_LEASE_MS is invalid: must be longer than ERPC_PUSH_TIMEOUT_MS \(default 30000\)/],
    ['a lease shorter than a set push timeout', { ERPC_PUSH_TIMEOUT_MS: '60000', ERPC_PUSH_LEASE_MS: '45000' }, /ERPC_PUSH_LEASE_MS is invalid: must be longer than ERPC_PUSH_TIMEOUT_MS \(60000\)/],
    ['a retry base that is no number', { ERPC_PUSH_RETRY_BASE_MS: 'fast' }, /ERPC_PUSH_RETRY_BASE_MS is invalid/],
    ['a negative retry base', { ERPC_PUSH_RETRY_BASE_MS: '-1' }, /ERPC_PUSH_RETRY_BASE_MS is invalid/],
    ['a retry factor below 1', { ERPC_PUSH_RETRY_FACTOR: '0.5' }, /ERPC_PUSH_RETRY_FACTOR is invalid: expected a number, 1 or more/],
    ['an infinite retry factor', { ERPC_PUSH_RETRY_FACTOR: 'Infinity' }, /ERPC_PUSH_RETRY_FACTOR is invalid/],
    ['a retry cap below a set base', { ERPC_PUSH_RETRY_BASE_MS: '1000', ERPC_PUSH_RETRY_CAP_MS: '999' }, /ERPC_PUSH_RETRY_CAP_MS is invalid: must be at least ERPC_PUSH_RETRY_BASE_MS \(1000\)/],
    ['a retry base above the default cap', { ERPC_PUSH_RETRY_BASE_MS: '1000000' }, /ERPC_PUSH_RETRY_BASE_MS is invalid: must not be more than ERPC_PUSH_RETRY_CAP_MS \(default 900000\)/],
    ['no attempts at all', { ERPC_PUSH_RETRY_MAX_ATTEMPTS: '0' }, /ERPC_PUSH_RETRY_MAX_ATTEMPTS is invalid/],
    ['a jitter above 1', { ERPC_PUSH_RETRY_JITTER: '1.5' }, /ERPC_PUSH_RETRY_JITTER is invalid: expected a number from 0 to 1/],
    ['a negative jitter', { ERPC_PUSH_RETRY_JITTER: '-0.1' }, /ERPC_PUSH_RETRY_JITTER is invalid/],
    ['an unknown log level', { ERPC_LOG_LEVEL: 'loud' }, /ERPC_LOG_LEVEL is invalid: expected one of fatal, error, warn, info, debug, trace, silent/],
    ['a boolean it cannot read', { ERPC_ALLOW_MISSING_KEYS: 'on' }, /ERPC_ALLOW_MISSING_KEYS is invalid: expected one of 1, true, yes, 0, false, no/],
    ['a short metrics token', { ERPC_METRICS_TOKEN: 'short' }, /ERPC_METRICS_TOKEN is invalid: expected at least 16 characters without spaces/],
    ['a metrics token with a space', { ERPC_METRICS_TOKEN: 'sixteen chars and more' }, /ERPC_METRICS_TOKEN is invalid/],
    ['a webhook retry schedule in words', { ERPC_WEBHOOK_RETRY_SCHEDULE_MS: '5s,1m' }, /ERPC_WEBHOOK_RETRY_SCHEDULE_MS is invalid: expected comma-separated whole numbers/],
    ['a webhook network that is no CIDR', { ERPC_WEBHOOKS_ALLOWED_NETWORKS: '10.0.0.0/8,intranet' }, /ERPC_WEBHOOKS_ALLOWED_NETWORKS is invalid: expected comma-separated CIDR ranges/],
    ['http to anything but loopback', { ERPC_WEBHOOKS_ALLOW_HTTP: 'all' }, /ERPC_WEBHOOKS_ALLOW_HTTP is invalid: expected off or loopback/],
  ];
  it.each(cases)('%s', (_, env, message) => {
    const err = failure(env);
    expect(err.code).toBe('ERPC_ERR_SETTING_INVALID');
    expect(err.message).toMatch(message);
  });

  it('names the first bad variable in documentation order', () => {
    expect(failure({ ERPC_PUSH_RETRY_JITTER: '9', PORT: 'x', ERPC_WORKER_CONCURRENCY: 'x' }).message).toMatch(/setting PORT is/);
  });

  it('refuses an override that is no setting', () => {
    expect(failure({}, { ERPC_PORT: '1' }).message).toMatch(/ERPC_PORT is invalid: no such setting/);
  });

  it('never echoes a secret or a value in its message', () => {
    const canary = 'canary 0123456789abcdef';
    const err = failure({ ERPC_METRICS_TOKEN: canary });
    expect(err.message).not.toContain('canary');
    expect(failure({ ERPC_WORKER_CONCURRENCY: 'canary-value' }).message).not.toContain('canary');
  });
});

describe('command-line overrides', () => {
  it('win over the environment', () => {
    const config = load(
      { PORT: '4000', HOST: '10.0.0.1', ERPC_PLUGIN_DIRS: 'from-env', ERPC_WORKER_CONCURRENCY: '8', ERPC_ALLOW_MISSING_KEYS: 'no' },
      { PORT: '5000', HOST: '0.0.0.0', ERPC_PLUGIN_DIRS: ['a', '/b'], ERPC_WORKER_CONCURRENCY: '2', ERPC_ALLOW_MISSING_KEYS: true },
    );
    expect(config.port).toBe(5000);
    expect(config.host).toBe('0.0.0.0');
    expect(config.pluginDirs).toEqual([path.join(cwd, 'a'), path.resolve('/b')]);
    expect(config.worker.concurrency).toBe(2);
    expect(config.allowMissingKeys).toBe(true);
  });

  it('leave the environment in charge when not given', () => {
    const config = load({ PORT: '4000', ERPC_PLUGIN_DIRS: 'from-env' }, { PORT: undefined, ERPC_PLUGIN_DIRS: [], ERPC_ALLOW_MISSING_KEYS: undefined });
    expect(config.port).toBe(4000);
    expect(config.pluginDirs).toEqual([path.join(cwd, 'from-env')]);
  });

  it('are validated like the environment, naming the option', () => {
    const err = failure({ PORT: '4000' }, { PORT: '99999' });
    expect(err.code).toBe('ERPC_ERR_SETTING_INVALID');
    expect(err.message).toMatch(/--port \(PORT\) is invalid: expected an integer from 0 to 65535/);
    expect(failure({}, { ERPC_WORKER_CONCURRENCY: '2000' }).message).toMatch(/--concurrency \(ERPC_WORKER_CONCURRENCY\) is invalid/);
  });

  it('are reported as the source of the value', () => {
    const sources = new Map(describeSettings(load({ HOST: 'h', PORT: '1' }, { PORT: '2' })).map((s) => [s.name, s.source]));
    expect(sources.get('PORT')).toBe('cli');
    expect(sources.get('HOST')).toBe('env');
    expect(sources.get('ERPC_DATA_DIR')).toBe('default');
  });
});

describe('the config', () => {
  it('is frozen all the way down', () => {
    const config = load({ ERPC_PLUGIN_DIRS: 'a:b' });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.worker)).toBe(true);
    expect(Object.isFrozen(config.worker.retry)).toBe(true);
    expect(Object.isFrozen(config.pluginDirs)).toBe(true);
    expect(() => {
      (config as { port: number }).port = 1;
    }).toThrow(TypeError);
    expect(() => {
      (config.worker.retry as { maxAttempts: number }).maxAttempts = 1;
    }).toThrow(TypeError);
    expect(() => (config.pluginDirs as string[]).push('c')).toThrow(TypeError);
  });

  it('does not share state between loads', () => {
    expect(load({ PORT: '1' }).port).toBe(1);
    expect(load({}).port).toBe(3000);
  });
});

describe('describeSettings', () => {
  const canaries = {
    DATABASE_URL: 'postgres://erpc:canary-db-password@db/erpc',
    ENCRYPTION_MASTER_KEY: 'canary'.padEnd(64, '0'),
    ENCRYPTION_PREVIOUS_KEYS: 'canary'.padEnd(64, '1'),
    ERPC_METRICS_TOKEN: 'canary-metrics-token',
  };

  it('lists every setting once, in documentation order', () => {
    expect(describeSettings(load()).map((s) => s.name)).toEqual(SETTINGS.map((s) => s.name));
  });

  it('shows secrets as set or unset, never their value', () => {
    const described = describeSettings(load(canaries));
    expect(JSON.stringify(described)).not.toContain('canary');
    for (const name of Object.keys(canaries)) {
      expect(described.find((s) => s.name === name)).toEqual({ name, value: 'set', source: 'env', secret: true });
    }
    expect(describeSettings(load()).filter((s) => s.secret).map((s) => s.value)).toEqual(['unset', 'unset', 'unset', 'unset']);
  });

  it('gives effective values, null for an unset one without a default', () => {
    const described = new Map(describeSettings(load({ ERPC_LOG_LEVEL: 'warn', ERPC_PLUGIN_DIRS: 'a:b' })).map((s) => [s.name, s.value]));
    expect(described.get('ERPC_LOG_LEVEL')).toBe('warn');
    expect(described.get('ERPC_PLUGIN_DIRS')).toEqual([path.join(cwd, 'a'), path.join(cwd, 'b')]);
    expect(described.get('ERPC_WORKER_PREFETCH')).toBeNull();
    expect(described.get('PORT')).toBe(3000);
  });

  it('takes sources from `env` for a config it did not load', () => {
    const config = { ...load(), worker: load().worker };
    const sources = new Map(describeSettings(config, { PORT: '3000' }).map((s) => [s.name, s.source]));
    expect(sources.get('PORT')).toBe('env');
    expect(sources.get('HOST')).toBe('default');
  });
});
