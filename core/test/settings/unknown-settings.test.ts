import { describe, expect, it } from 'vitest';
import { SETTINGS, unknownSettings, warnUnknownSettings } from '../../src/settings/index.js';

// What a shell, CI runner or container usually carries, plus the project's own test variables.
const ordinaryEnv = {
  PATH: '/usr/local/bin:/usr/bin',
  HOME: '/root',
  USER: 'erpc',
  SHELL: '/bin/bash',
  LANG: 'C.UTF-8',
  TERM: 'xterm',
  PWD: '/srv/erpc',
  NODE_ENV: 'production',
  NODE_OPTIONS: '--max-old-space-size=4096',
  UV_THREADPOOL_SIZE: '16',
  CI: 'true',
  TEST_DATABASE_URL: 'postgres://localhost/test',
  BENCH_DATABASE_URL: 'postgres://localhost/bench',
  BENCH_PUSHES: '1000',
  npm_config_user_agent: 'pnpm/12.4.2',
  HOSTNAME: 'erpc-1',
};

describe('unknownSettings', () => {
  it('names LOG_LEVEL with the setting it stands for', () => {
    expect(unknownSettings({ LOG_LEVEL: 'debug' })).toEqual([{ name: 'LOG_LEVEL', suggestion: 'ERPC_LOG_LEVEL' }]);
  });

  it('names other un-prefixed forms of ERPC_ settings', () => {
    expect(unknownSettings({ PLUGIN_DIRS: './p', WORKER_CONCURRENCY: '4' })).toEqual([
      { name: 'PLUGIN_DIRS', suggestion: 'ERPC_PLUGIN_DIRS' },
      { name: 'WORKER_CONCURRENCY', suggestion: 'ERPC_WORKER_CONCURRENCY' },
    ]);
  });

  it('names misspelt ERPC_ variables with the closest setting', () => {
    expect(unknownSettings({ ERPC_LOGLEVEL: 'debug', ERPC_PLUGIN_DIR: './p', ERPC_WORKER_CONCURENCY: '4', ERPC_PUSH_RETRY_MAX_ATTEMPT: '3' })).toEqual([
      { name: 'ERPC_LOGLEVEL', suggestion: 'ERPC_LOG_LEVEL' },
      { name: 'ERPC_PLUGIN_DIR', suggestion: 'ERPC_PLUGIN_DIRS' },
      { name: 'ERPC_PUSH_RETRY_MAX_ATTEMPT', suggestion: 'ERPC_PUSH_RETRY_MAX_ATTEMPTS' },
      { name: 'ERPC_WORKER_CONCURENCY', suggestion: 'ERPC_WORKER_CONCURRENCY' },
    ]);
  });

  it('suggests the un-prefixed setting for an ERPC_ form of it, and the setting for a lower-case name', () => {
    expect(unknownSettings({ ERPC_PORT: '8080', erpc_log_level: 'debug' })).toEqual([
      { name: 'ERPC_PORT', suggestion: 'PORT' },
      { name: 'erpc_log_level', suggestion: 'ERPC_LOG_LEVEL' },
    ]);
  });

  it('never names a real setting, whatever its value', () => {
    const every = Object.fromEntries(SETTINGS.map((s) => [s.name, 'whatever']));
    expect(unknownSettings(every)).toEqual([]);
  });

  it('never names an unrelated variable', () => {
    expect(unknownSettings(ordinaryEnv)).toEqual([]);
    expect(unknownSettings({ ...ordinaryEnv, ERPC_LOG_LEVEL: 'info', LOG_LEVEL: 'debug' })).toEqual([{ name: 'LOG_LEVEL', suggestion: 'ERPC_LOG_LEVEL' }]);
  });

  it('ignores a variable that is present but undefined', () => {
    expect(unknownSettings({ LOG_LEVEL: undefined })).toEqual([]);
  });
});

describe('warnUnknownSettings', () => {
  it('warns once per look-alike, naming it and the suggestion', () => {
    const calls: [Record<string, unknown>, string][] = [];
    warnUnknownSettings({ ...ordinaryEnv, LOG_LEVEL: 'debug', ERPC_PLUGIN_DIR: 'p' }, (obj, msg) => calls.push([obj, msg]));
    expect(calls).toEqual([
      [{ setting: 'ERPC_PLUGIN_DIR', suggestion: 'ERPC_PLUGIN_DIRS' }, 'ERPC_PLUGIN_DIR is not an erpc setting; did you mean ERPC_PLUGIN_DIRS?'],
      [{ setting: 'LOG_LEVEL', suggestion: 'ERPC_LOG_LEVEL' }, 'LOG_LEVEL is not an erpc setting; did you mean ERPC_LOG_LEVEL?'],
    ]);
  });

  it('says nothing for an ordinary environment', () => {
    const calls: unknown[] = [];
    warnUnknownSettings(ordinaryEnv, (...args) => calls.push(args));
    expect(calls).toEqual([]);
  });
});
