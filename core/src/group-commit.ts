/** What a {@link GroupCommit} needs from its owner. */
export interface GroupCommitOptions<T> {
  /** Writes one batch (everything queued since the last write started). */
  write(batch: T[]): Promise<void>;
  /** A write failed: the owner logs it; the batch is kept, in front, and written again 200 ms later. */
  failed(err: unknown, count: number): void;
  /** After a failed write: true ends the background retries (the owner is shutting down; `flush` still tries). */
  stopRetrying(): boolean;
}

/**
 * Group commit of queued items: one write runs at a time, and what is queued meanwhile is written
 * together by the next one (ADR 0015). Used for push outcomes and webhook attempt outcomes.
 */
export class GroupCommit<T> {
  readonly #options: GroupCommitOptions<T>;
  #pending: T[] = [];
  #flushing: Promise<void> | undefined;

  constructor(options: GroupCommitOptions<T>) {
    this.#options = options;
  }

  /** Queues items and starts a write unless one is running. */
  add(...items: T[]): void {
    this.#pending.push(...items);
    if (this.#flushing === undefined) this.#flushing = this.#loop();
  }

  /** Resolves once everything queued so far (and anything queued meanwhile) is written. */
  async flush(): Promise<void> {
    while (this.#flushing !== undefined || this.#pending.length > 0) {
      this.add();
      await this.#flushing;
    }
  }

  async #loop(): Promise<void> {
    try {
      while (this.#pending.length > 0) {
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
