import type { DropzoneTransport } from './transport.js';

interface FolderState {
  /** The folder fsync in progress, if any. */
  running: Promise<void> | undefined;
  /** The fsync that starts when `running` ends: callers that arrive while one runs share it. */
  next: Promise<void> | undefined;
}

/**
 * Group commit of folder fsyncs (ADR 0017). A push's file name is durable once an fsync of its
 * folder that STARTED AFTER its link()/rename() has finished. One that is already running may
 * have started before, so a caller that arrives while one runs waits for the next one, which
 * starts as soon as the running one ends and covers every caller that arrived meanwhile. Each
 * caller's guarantee is the same as with its own fsync; under concurrency one fsync serves many
 * pushes. Sequential pushes still get one fsync each, at once.
 *
 * A failed fsync fails every caller that shares it, and the callers already waiting for the next
 * one (none of their names is known durable); each rewrites from scratch on its retry, as after
 * its own failed fsync.
 */
export class DirectorySync {
  readonly #transport: DropzoneTransport;
  readonly #folders = new Map<string, FolderState>();

  constructor(transport: DropzoneTransport) {
    this.#transport = transport;
  }

  /** Resolves when an fsync of `dir` that started after this call has succeeded. */
  sync(dir: string): Promise<void> {
    let state = this.#folders.get(dir);
    if (state === undefined) {
      state = { running: undefined, next: undefined };
      this.#folders.set(dir, state);
    }
    const running = state.running;
    if (running === undefined) return this.#start(dir, state);
    if (state.next === undefined) {
      const folder = state;
      // Set before `running` is replaced, in the same tick: nobody can join a fsync that
      // already started. If the running fsync fails, its callers and the ones waiting for the
      // next fail alike: the kernel reports a writeback error once, to the fsync that saw it, so
      // a later fsync could succeed although names linked meanwhile were part of the failure.
      folder.next = running.then(
        () => {
          folder.next = undefined;
          return this.#start(dir, folder);
        },
        (err: unknown) => {
          folder.next = undefined;
          this.#forget(dir, folder);
          throw err;
        },
      );
    }
    return state.next as Promise<void>;
  }

  /** Folders with an fsync running or queued (for tests: zero once all settled). */
  get busyFolders(): number {
    return this.#folders.size;
  }

  #start(dir: string, state: FolderState): Promise<void> {
    // Through a promise even if the transport throws at once: the state is always cleaned up.
    const run = Promise.resolve()
      .then(() => this.#transport.syncDirectory(dir))
      .finally(() => {
        if (state.running === run) state.running = undefined;
        this.#forget(dir, state);
      });
    state.running = run;
    return run;
  }

  #forget(dir: string, state: FolderState): void {
    if (state.running === undefined && state.next === undefined && this.#folders.get(dir) === state) this.#folders.delete(dir);
  }
}
