/** What a {@link GroupCommit} needs from its owner. */
export interface GroupCommitOptions<T> {
  /** Writes one batch (everything queued since the last write started). */
  write(batch: T[]): Promise<void>;
  /** A write failed: the owner logs it; the batch is kept, in front, and written again 200 ms later. */
  failed(err: unknown, count: number): void;
  /** After a failed write: true ends the background retries (the owner is shutting down; `flush` still tries). */
  stopRetrying(): boolean;
  /**
   * Before a write that `add` started, wait this long for more items (default 0: write at once),
   * unless `maxBatch` are queued or `flush` is called. For writes whose latency nobody waits on.
   */
  lingerMs?: number;
  /** With lingerMs: a batch this large is written without waiting (default 256). */
  maxBatch?: number;
}

/**
 * Group commit of queued items: one write runs at a time, and what is queued meanwhile is written
 * together by the next one (ADR 0015). Used for push outcomes and webhook attempt outcomes (these
 * linger a few milliseconds for larger batches, ADR 0043).
 */
export class GroupCommit<T> {
  readonly #options: GroupCommitOptions<T>;
  readonly #lingerMs: number;
  readonly #maxBatch: number;
  #pending: T[] = [];
  #flushing: Promise<void> | undefined;
  /** Ends the current linger early. */
  #wake: (() => void) | undefined;
  /** flush() calls running: no lingering meanwhile. */
  #hurry = 0;

  constructor(options: GroupCommitOptions<T>) {
    this.#options = options;
    this.#lingerMs = Math.max(0, options.lingerMs ?? 0);
    this.#maxBatch = Math.max(1, options.maxBatch ?? 256);
  }

  /** Queues items and starts a write unless one is running. */
  add(...items: T[]): void {
    this.#pending.push(...items);
    if (this.#wake !== undefined && this.#pending.length >= this.#maxBatch) this.#wake();
    if (this.#flushing === undefined) this.#flushing = this.#loop();
  }

  /** Resolves once everything queued so far (and anything queued meanwhile) is written. */
  async flush(): Promise<void> {
    this.#hurry++;
    try {
      this.#wake?.();
      while (this.#flushing !== undefined || this.#pending.length > 0) {
        this.add();
        await this.#flushing;
      }
    } finally {
      this.#hurry--;
    }
  }

  #linger(): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, this.#lingerMs);
      this.#wake = done;
    });
  }

  async #loop(): Promise<void> {
    try {
      while (this.#pending.length > 0) {
        if (this.#lingerMs > 0 && this.#hurry === 0 && this.#pending.length < this.#maxBatch) await this.#linger();
        const batch = this.#pending;
        this.#pending = [];
        try {
          await this.#options.write(batch);
        } catch (err) {
          this.#options.failed(err, batch.length);
          this.#pending.unshift(...batch);
          await new Promise((r) => setTimeout(r, 200));
          if (this.#options.stopRetrying()) break;
        }
      }
    } finally {
      this.#flushing = undefined;
    }
  }
}
