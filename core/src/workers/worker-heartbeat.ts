import { hostname } from 'node:os';
import type { Logger } from '../logging/logger.js';
import type { WorkerHeartbeatStore } from './ports.js';

/** A worker as `erpc workers list --json` shows it. */
export interface WorkerView {
  id: string;
  host: string;
  pid: number;
  startedAt: string;
  lastSeenAt: string;
  inFlight: number;
  status: 'live' | 'stale';
}

/** Stale once this many heartbeat intervals passed without one. */
export const STALE_AFTER_INTERVALS = 3;

/**
 * The heartbeat of one running worker: a row written at start, refreshed every `intervalMs`
 * with the deliveries in flight, deleted at a graceful stop. A failed write is logged and tried
 * again at the next interval: a database hiccup must not stop deliveries.
 */
export class WorkerHeartbeat {
  #timer: NodeJS.Timeout | undefined;
  #beating: Promise<void> | undefined;

  constructor(
    private readonly store: WorkerHeartbeatStore,
    private readonly worker: { readonly workerId: string; readonly inflight: number },
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    await this.#register();
    this.#timer = setInterval(() => {
      this.#beating ??= this.#beat().finally(() => (this.#beating = undefined));
    }, this.intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#beating;
    try {
      await this.store.remove(this.worker.workerId);
    } catch (err) {
      this.logger.warn({ err, workerId: this.worker.workerId }, 'removing the worker heartbeat failed; it will show as stale');
    }
  }

  #register(): Promise<void> {
    return this.store.register({ id: this.worker.workerId, host: hostname(), pid: process.pid, inFlight: this.worker.inflight, intervalMs: this.intervalMs });
  }

  async #beat(): Promise<void> {
    try {
      if (!(await this.store.beat(this.worker.workerId, this.worker.inflight))) await this.#register();
    } catch (err) {
      this.logger.warn({ err, workerId: this.worker.workerId }, 'writing the worker heartbeat failed; retrying at the next interval');
    }
  }
}

/** Every worker that wrote a heartbeat and did not stop gracefully, live or stale. */
export async function listWorkers(store: WorkerHeartbeatStore): Promise<WorkerView[]> {
  return (await store.list(STALE_AFTER_INTERVALS)).map((r) => ({
    id: r.id,
    host: r.host,
    pid: r.pid,
    startedAt: r.startedAt.toISOString(),
    lastSeenAt: r.lastSeenAt.toISOString(),
    inFlight: r.inFlight,
    status: r.stale ? 'stale' : 'live',
  }));
}
