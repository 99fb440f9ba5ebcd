import type { Readiness } from './health/readiness.js';
import type { Logger } from './logging/logger.js';

/**
 * Time kept back from the services' share of the shutdown budget for what stops after them:
 * outcomes flushed, released pushes written, plugins disposed, the database closed.
 */
export const SHUTDOWN_RESERVE_MS = 3_000;

/**
 * The bounded shutdown of `serve` and `worker` (ADR 0031). `begin()` at the signal turns
 * readiness 503 at once; `drain()` waits ERPC_SHUTDOWN_DRAIN_MS while requests are still served
 * (a load balancer notices and stops sending); the services then stop in parallel, each within
 * `servicesBudgetMs()`; and whatever happens, `begin()` armed a timer that ends the process at
 * ERPC_SHUTDOWN_TIMEOUT_MS. A second signal ends it at once.
 */
export class Shutdown {
  #begunAt: number | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: { drainMs: number; timeoutMs: number },
    private readonly readiness: Readiness,
    private readonly logger: Logger,
    /** Ends the process (tests pass their own). */
    private readonly exit: (code: number) => void = (code) => process.exit(code),
  ) {}

  /** Readiness 503 from now on; the hard deadline is armed; a second signal exits at once. */
  begin(signal: string): void {
    if (this.#begunAt !== undefined) return;
    this.#begunAt = performance.now();
    this.readiness.beginShutdown();
    this.logger.info({ signal, drainMs: this.options.drainMs, timeoutMs: this.options.timeoutMs }, 'shutting down: readiness reports 503 from now on');
    this.#timer = setTimeout(() => {
      this.logger.error({ timeoutMs: this.options.timeoutMs }, 'shutdown did not finish within ERPC_SHUTDOWN_TIMEOUT_MS; exiting now');
      this.exit(1);
    }, this.options.timeoutMs);
    // Never the reason the process stays alive: a clean stop exits before it fires.
    this.#timer.unref();
    const again = (second: NodeJS.Signals) => {
      this.logger.warn({ signal: second }, 'second stop signal: exiting now');
      this.exit(1);
    };
    process.once('SIGINT', again);
    process.once('SIGTERM', again);
  }

  /** Waits the drain delay (requests are still served; readiness already says 503). */
  async drain(): Promise<void> {
    const left = this.options.drainMs - this.#elapsed();
    if (left > 0) await new Promise((resolve) => setTimeout(resolve, left));
  }

  /**
   * What the services (HTTP server, worker) may still take to stop: the rest of the timeout
   * minus {@link SHUTDOWN_RESERVE_MS} (at least a second). Before `begin` (a failed start): the
   * whole timeout's share.
   */
  servicesBudgetMs(): number {
    const reserve = Math.min(SHUTDOWN_RESERVE_MS, this.options.timeoutMs / 4);
    return Math.max(1_000, this.options.timeoutMs - this.#elapsed() - reserve);
  }

  /** The process is about to exit normally: the hard deadline is no longer needed. */
  done(): void {
    clearTimeout(this.#timer);
  }

  #elapsed(): number {
    return this.#begunAt === undefined ? 0 : performance.now() - this.#begunAt;
  }
}
