import { ConnectorError } from '@erpc/sdk';
import { DROPZONE_ERRORS } from './errors.js';

export function abortedError(): ConnectorError {
  return new ConnectorError(
    DROPZONE_ERRORS.ABORTED,
    'The drop folder did not finish the operation before the time limit: check the disk or network mount; the push will be retried.',
    { retryable: true },
  );
}

/** Throws if the operation's signal has fired; called between file-system steps. */
export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw abortedError();
}

/**
 * Runs file-system jobs so that an abort returns at once even when a call is stuck in the
 * kernel (a dead NFS/SMB mount). A stuck call cannot be cancelled, so the job keeps running in
 * the background, stops at its next step, and removes its own temp file when the call finally
 * returns. While such an abandoned job is still pending for a folder, new operations on that
 * folder fail fast with DROPZONE_FS_UNRESPONSIVE instead of tying up another libuv thread pool
 * thread (only 4 by default, shared by the whole host process).
 */
export class OperationGuard {
  private readonly abandoned = new Map<string, number>();

  /** How many abandoned jobs are still pending for `key` (tests use it to wait for clean-up). */
  pendingAbandoned(key: string): number {
    return this.abandoned.get(key) ?? 0;
  }

  run<T>(key: string, signal: AbortSignal, job: () => Promise<T>): Promise<T> {
    if (signal.aborted) return Promise.reject(abortedError());
    if (this.pendingAbandoned(key) > 0) {
      return Promise.reject(
        new ConnectorError(
          DROPZONE_ERRORS.FS_UNRESPONSIVE,
          'An earlier operation on the drop folder is still stuck in the file system: check the disk or network mount; the push will be retried.',
          { retryable: true },
        ),
      );
    }
    const running = job();
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const onAbort = (): void => {
        if (settled) return;
        settled = true;
        this.abandoned.set(key, this.pendingAbandoned(key) + 1);
        const release = (): void => {
          const left = this.pendingAbandoned(key) - 1;
          if (left > 0) this.abandoned.set(key, left);
          else this.abandoned.delete(key);
        };
        running.then(release, release);
        reject(abortedError());
      };
      signal.addEventListener('abort', onAbort, { once: true });
      running.then(
        (value) => {
          signal.removeEventListener('abort', onAbort);
          if (settled) return;
          settled = true;
          resolve(value);
        },
        (err: unknown) => {
          signal.removeEventListener('abort', onAbort);
          if (settled) return;
          settled = true;
          reject(err);
        },
      );
    });
  }
}
