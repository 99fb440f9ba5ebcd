import type { Knex } from 'knex';
import type { Clock } from '@erpc/sdk';
import type { ConfigCipher } from '../crypto/index.js';
import type { Logger } from '../logging/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { ConnectorRegistry } from '../plugins/connector-registry.js';
import { TOKENS } from '../tokens.js';
import { PushListener } from './push-listener.js';
import { PushService } from './push-service.js';
import { PushSignal } from './push-signal.js';
import { PushWorker, type PushWorkerOptions } from './worker.js';
import { PushRepository } from './push-repository.js';

/** Resolves services by token (the container; the push module never touches tsyringe itself). */
export interface Resolver {
  resolve<T>(token: symbol): T;
  isRegistered?(token: symbol, recursive?: boolean): boolean;
}

const optional = <T>(r: Resolver, token: symbol): T | undefined => {
  if (r.isRegistered !== undefined && !r.isRegistered(token, true)) return undefined;
  try {
    return r.resolve<T>(token);
  } catch {
    return undefined;
  }
};

/** Builds the PushService of a host (the container registers it with this factory). */
export function createPushService(r: Resolver, databaseKind: 'postgres' | 'pglite'): PushService {
  const metrics = optional<Metrics>(r, TOKENS.Metrics);
  const db = r.resolve<Knex>(TOKENS.Db);
  if (metrics !== undefined) {
    const repo = new PushRepository();
    metrics.push.setQueueDepthSource(() => repo.queueDepth(db));
  }
  return new PushService(db, r.resolve<ConnectorRegistry>(TOKENS.ConnectorRegistry), r.resolve<Clock>(TOKENS.Clock), r.resolve<PushSignal>(TOKENS.PushSignal), {
    databaseKind,
    ...(metrics !== undefined ? { onAccepted: (type: string, n: number) => metrics.push.accepted.inc({ connector_type: type }, n) } : {}),
  });
}

/** A worker with its wake-up sources: LISTEN on PostgreSQL, the in-process signal always. */
export interface PushRuntime {
  readonly worker: PushWorker;
  start(): Promise<void>;
  /** Graceful: stops claiming, finishes or releases in-flight pushes, stops listening. */
  stop(): Promise<void>;
}

export interface PushRuntimeOptions extends PushWorkerOptions {
  /** postgres:// URL to LISTEN on; omit on PGlite (the in-process signal and polling suffice). */
  listenUrl?: string;
}

/** Builds a worker from the host's services. */
export function createPushRuntime(r: Resolver, options: PushRuntimeOptions = {}): PushRuntime {
  const logger = r.resolve<Logger>(TOKENS.Logger).child({ component: 'push-worker' });
  const metrics = optional<Metrics>(r, TOKENS.Metrics);
  const { listenUrl, ...workerOptions } = options;
  const worker = new PushWorker(
    {
      db: r.resolve<Knex>(TOKENS.Db),
      registry: r.resolve<ConnectorRegistry>(TOKENS.ConnectorRegistry),
      cipher: r.resolve<ConfigCipher>(TOKENS.ConfigCipher),
      clock: r.resolve<Clock>(TOKENS.Clock),
      logger,
      ...(metrics !== undefined
        ? {
            hooks: {
              delivered: (type, pushSeconds, endToEndSeconds) => {
                metrics.push.delivered.inc({ connector_type: type });
                metrics.push.deliverySeconds.observe({ connector_type: type }, pushSeconds);
                metrics.push.endToEndSeconds.observe({ connector_type: type }, endToEndSeconds);
              },
              retried: (type, code) => metrics.push.retried.inc({ connector_type: type, code }),
              dead: (type, code) => metrics.push.dead.inc({ connector_type: type, code }),
            },
          }
        : {}),
    },
    workerOptions,
  );
  const signal = optional<PushSignal>(r, TOKENS.PushSignal);
  const listener = listenUrl === undefined ? undefined : new PushListener({ connectionString: listenUrl, onWake: () => worker.wake(), logger });
  let unsubscribe: (() => void) | undefined;
  return {
    worker,
    async start() {
      unsubscribe = signal?.subscribe(() => worker.wake());
      await listener?.start();
      worker.start();
      logger.info({ workerId: worker.workerId, listen: listener !== undefined }, 'push worker started');
    },
    async stop() {
      unsubscribe?.();
      await listener?.stop();
      await worker.stop();
      logger.info({ workerId: worker.workerId }, 'push worker stopped');
    },
  };
}
