import { ErpcError } from '../errors/index.js';
import { RetryPolicy, retryPolicyOptionsFromEnv } from './retry-policy.js';
import type { PushWorkerOptions } from './worker.js';

/**
 * Worker settings from the environment (every one optional):
 * ERPC_WORKER_CONCURRENCY, ERPC_WORKER_PREFETCH (0 or more), ERPC_PUSH_TIMEOUT_MS, ERPC_PUSH_LEASE_MS, ERPC_PUSH_POLL_MS,
 * ERPC_PUSH_ACK_CHECK_MS, ERPC_PUSH_ACK_TIMEOUT_MS, ERPC_PUSH_SHUTDOWN_GRACE_MS and the retry
 * policy's ERPC_PUSH_RETRY_{BASE_MS,FACTOR,CAP_MS,MAX_ATTEMPTS,JITTER}.
 * A bad value is ERPC_ERR_SETTING_INVALID naming the variable.
 */
export function pushWorkerOptionsFromEnv(env: NodeJS.ProcessEnv): PushWorkerOptions {
  // A whole number of at least `min` (1 unless said), or undefined when the variable is unset.
  const int = (name: string, min = 1): number | undefined => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return undefined;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) {
      throw new ErpcError('ERPC_ERR_SETTING_INVALID', { name, reason: min === 1 ? 'expected a positive integer' : 'expected a whole number, 0 or more' });
    }
    return n;
  };
  const options: PushWorkerOptions = {};
  const set = <K extends keyof PushWorkerOptions>(key: K, value: PushWorkerOptions[K] | undefined) => {
    if (value !== undefined) options[key] = value;
  };
  set('concurrency', int('ERPC_WORKER_CONCURRENCY'));
  set('prefetch', int('ERPC_WORKER_PREFETCH', 0));
  set('pushTimeoutMs', int('ERPC_PUSH_TIMEOUT_MS'));
  set('leaseMs', int('ERPC_PUSH_LEASE_MS'));
  set('pollIntervalMs', int('ERPC_PUSH_POLL_MS'));
  set('ackCheckIntervalMs', int('ERPC_PUSH_ACK_CHECK_MS'));
  set('ackTimeoutMs', int('ERPC_PUSH_ACK_TIMEOUT_MS'));
  set('shutdownGraceMs', int('ERPC_PUSH_SHUTDOWN_GRACE_MS'));
  try {
    options.retryPolicy = new RetryPolicy(retryPolicyOptionsFromEnv(env));
  } catch (err) {
    throw new ErpcError('ERPC_ERR_SETTING_INVALID', { name: 'ERPC_PUSH_RETRY_*', reason: (err as Error).message });
  }
  if (options.leaseMs !== undefined && options.leaseMs <= (options.pushTimeoutMs ?? 30_000)) {
    throw new ErpcError('ERPC_ERR_SETTING_INVALID', { name: 'ERPC_PUSH_LEASE_MS', reason: 'must be longer than ERPC_PUSH_TIMEOUT_MS (default 30000)' });
  }
  return options;
}
