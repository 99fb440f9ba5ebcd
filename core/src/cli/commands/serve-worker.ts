import { createPushRuntime, type PushRuntime } from '../../push/push-runtime.js';
import { pushWorkerOptionsFromEnv } from '../../push/worker-config.js';
import type { Host } from '../host-context.js';
import type { BackgroundService } from './serve.js';

/**
 * The push worker `erpc serve` runs in-process unless `--no-worker`. On PostgreSQL it LISTENs
 * (other processes' pushes wake it too); on PGlite the in-process signal wakes it after each accept.
 */
export function pushWorkerService(host: Host, opts: { worker?: boolean }): BackgroundService | undefined {
  if (opts.worker === false) return undefined;
  const databaseUrl = process.env.DATABASE_URL?.trim();
  // Read (and validate) the settings now, before `serve` listens, not when the worker starts.
  const options = pushWorkerOptionsFromEnv(process.env);
  let runtime: PushRuntime | undefined;
  return {
    name: 'push-worker',
    async start() {
      runtime = createPushRuntime(host.container, {
        ...options,
        ...(databaseUrl !== undefined && databaseUrl !== '' ? { listenUrl: databaseUrl } : {}),
      });
      await runtime.start();
    },
    async stop() {
      await runtime?.stop();
    },
  };
}
