import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { loadHostConfig as fromSource } from '../../src/settings/index.js';

// The build ships the settings validator precompiled (dist/settings/settings-validator.cjs,
// ADR 0056); the source compiles it at run time. Both must be the same validator.
const require = createRequire(import.meta.url);
const dist = (await import('../../dist/settings/load-host-config.js')) as typeof import('../../src/settings/load-host-config.js');
const shipped = require('../../dist/settings/settings-validator.cjs') as { key: string };

const outcome = (load: typeof fromSource, env: Record<string, string>): unknown => {
  try {
    return { config: JSON.parse(JSON.stringify(load({ env, cwd: '/srv/erpc' }))) };
  } catch (err) {
    return { error: (err as { code?: string; message: string }).code, message: (err as Error).message };
  }
};

describe('the precompiled settings validator', () => {
  it('is the build of the current schema, options and Ajv (its key matches)', () => {
    expect(shipped.key).toBe(dist.settingsValidatorKey());
  });

  it('decides every environment as the run-time compiled one does: coercion, defaults, refusals', () => {
    const envs: Record<string, string>[] = [
      {},
      { PORT: '3001', ERPC_LOG_LEVEL: 'debug', ERPC_PUSH_TIMEOUT_MS: ' 1234 ', ERPC_WEBHOOK_YIELD_MS: '0' },
      { DATABASE_URL: 'postgres://u@db:5432/erpc', ERPC_PLUGIN_ISOLATION: 'in-process', ERPC_SANDBOX_MEMORY_MB: '128' },
      { PORT: 'abc' },
      { PORT: '70000' },
      { ERPC_LOG_LEVEL: 'loud' },
      { ERPC_PUSH_TIMEOUT_MS: '1e400' },
      { ERPC_PUSH_TIMEOUT_MS: '-5' },
      { ERPC_PLUGIN_GRANTS: '{"DROPZONE_JSON_V1":{"fsWrite":["/srv/drops/{orgId}"]}}' },
      { ERPC_PLUGIN_GRANTS: 'not json' },
    ];
    for (const env of envs) expect(outcome(dist.loadHostConfig, env), JSON.stringify(env)).toEqual(outcome(fromSource, env));
    // The control: the cases differ from each other, so equal outcomes are not an accident.
    expect(outcome(dist.loadHostConfig, { PORT: '3001' })).not.toEqual(outcome(dist.loadHostConfig, {}));
    expect(outcome(dist.loadHostConfig, { PORT: 'abc' })).toMatchObject({ error: 'ERPC_ERR_SETTING_INVALID' });
  });
});
