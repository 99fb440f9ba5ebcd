/**
 * A sleep that can be cut short. `wake()` ends the current `wait()` at once; a wake that comes
 * while nobody waits is kept, so the next `wait()` returns at once instead of missing it (a push
 * accepted between two claim rounds is claimed without waiting for the poll interval).
 */
export class Wakeup {
  #woken = false;
  #end: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;

  /** Resolves after `ms`, or as soon as `wake()` is called (or at once if it was called since the last wait). */
  wait(ms: number): Promise<void> {
    if (this.#woken) {
      this.#woken = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      this.#end = () => {
        clearTimeout(this.#timer);
        this.#timer = undefined;
        this.#end = undefined;
        // A wake during this wait is consumed by it.
        this.#woken = false;
        resolve();
      };
      this.#timer = setTimeout(this.#end, ms);
    });
  }

  /** Ends the current wait, or the next one if nobody waits now. */
  wake(): void {
    this.#woken = true;
    this.#end?.();
  }
}
