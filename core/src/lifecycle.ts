import type { Logger } from './logging/logger.js';

/** Something with a start and a stop: the database, the plugins, the HTTP server, the worker. */
export interface LifecycleHook {
  readonly name: string;
  start?(): Promise<void> | void;
  stop?(): Promise<void> | void;
}

/**
 * The ordered start and stop of one host. Resources the host acquires while it opens (the
 * database, the plugins) are `own`ed as they are acquired; services (the HTTP server, the worker)
 * are `add`ed and started by `start`, in the order they were added. Everything stops in reverse
 * order, so what started last stops first and nothing stops while something started after it
 * still uses it. A failed start stops everything started before it and rethrows; `stop` runs
 * every stop even when one fails (each failure is logged) and runs once, however often called.
 */
export class Lifecycle {
  readonly #hooks: LifecycleHook[] = [];
  readonly #started: LifecycleHook[] = [];
  #running = false;
  #stopping: Promise<void> | undefined;

  constructor(private readonly logger: Logger) {}

  /** True once `stop` was called. */
  get stopping(): boolean {
    return this.#stopping !== undefined;
  }

  /** Adds a service that `start` starts (at once when the lifecycle already runs). */
  async add(hook: LifecycleHook): Promise<void> {
    if (this.#stopping !== undefined) throw new Error(`the host is stopping: cannot add ${hook.name}`);
    this.#hooks.push(hook);
    if (this.#running) await this.#startOne(hook);
  }

  /** Records a resource that is already acquired: `stop` releases it (after what started later). */
  own(name: string, release: () => Promise<void> | void): void {
    const hook: LifecycleHook = { name, stop: release };
    this.#hooks.push(hook);
    this.#started.push(hook);
  }

  /** Starts every hook not started yet, in order. On a failure, stops what started and rethrows. */
  async start(): Promise<void> {
    this.#running = true;
    for (const hook of this.#hooks) {
      if (this.#started.includes(hook)) continue;
      await this.#startOne(hook);
    }
  }

  /** Stops every started hook, last started first. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      for (const hook of [...this.#started].reverse()) {
        try {
          await hook.stop?.();
        } catch (err) {
          this.logger.error({ err, component: hook.name }, `stopping ${hook.name} failed`);
        }
      }
      this.#started.length = 0;
    })();
    return this.#stopping;
  }

  async #startOne(hook: LifecycleHook): Promise<void> {
    try {
      await hook.start?.();
    } catch (err) {
      await this.stop();
      throw err;
    }
    this.#started.push(hook);
  }
}

/**
 * Hooks that start in order and stop in parallel: the HTTP server and the worker of `serve`,
 * so neither waits for the other within the shutdown budget (ADR 0031).
 */
export function together(name: string, hooks: readonly LifecycleHook[]): LifecycleHook {
  const started: LifecycleHook[] = [];
  return {
    name,
    async start() {
      for (const hook of hooks) {
        try {
          await hook.start?.();
        } catch (err) {
          await Promise.allSettled(started.map((h) => h.stop?.()));
          throw err;
        }
        started.push(hook);
      }
    },
    async stop() {
      const results = await Promise.allSettled(started.map((h) => h.stop?.()));
      started.length = 0;
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
    },
  };
}
