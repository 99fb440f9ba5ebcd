import { describe, expect, it } from 'vitest';
import { pushWorkerOptionsFromEnv } from '../../src/push/worker-config.js';

describe('worker settings from the environment', () => {
  it('reads concurrency and prefetch (0 turns prefetch off), and names a bad variable', () => {
    expect(pushWorkerOptionsFromEnv({ ERPC_WORKER_CONCURRENCY: '32', ERPC_WORKER_PREFETCH: '0' })).toMatchObject({ concurrency: 32, prefetch: 0 });
    expect(pushWorkerOptionsFromEnv({})).not.toHaveProperty('prefetch');
    for (const bad of ['-1', '1.5', 'some']) {
      expect(() => pushWorkerOptionsFromEnv({ ERPC_WORKER_PREFETCH: bad })).toThrow(expect.objectContaining({ code: 'ERPC_ERR_SETTING_INVALID', message: expect.stringContaining('ERPC_WORKER_PREFETCH') }));
    }
  });
});
