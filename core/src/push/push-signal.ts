/**
 * An in-process wake-up for workers running in the same process as the API (`erpc serve`):
 * PushService calls wake() after a commit, so a PGlite host (no LISTEN/NOTIFY across
 * processes) delivers new pushes without waiting for the next poll.
 */
export class PushSignal {
  readonly #listeners = new Set<() => void>();

  /** Calls every listener (synchronously; listeners only schedule work). */
  wake(): void {
    for (const listener of this.#listeners) listener();
  }

  /** Registers a listener; returns a function that removes it. */
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
