import type { SFTPWrapper } from 'ssh2';
import type { SftpDropzoneConfig } from './config.js';
import { SFTP_ERRORS, abortedError, connectionLost, connectorError, isConnectionGone } from './errors.js';
import { SftpChannel, connect, type SshConnection } from './ssh.js';

/** How long an unused SSH connection stays open before it is closed. */
export const DEFAULT_IDLE_MS = 30_000;

/** Rejects with the connector's abort error as soon as `signal` fires; `work` keeps running. */
export function raceAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortedError());
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortedError());
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/**
 * One SSH connection of a stored connection, with up to maxConcurrentUploads SFTP channels that
 * operations lease one at a time. Connecting starts when the session is made; a connection that
 * fails or closes ends the session (the pool then makes a new one for the next operation), and
 * an unused session closes after `idleMs`.
 */
export class Session {
  readonly #connecting: Promise<SshConnection>;
  readonly #idleMs: number;
  readonly #onEnd: (s: Session) => void;
  #max: number;
  /** Channels open or being opened. */
  #open = 0;
  readonly #idle: SftpChannel[] = [];
  readonly #waiters: { wake: () => void; fail: (e: unknown) => void }[] = [];
  /** Operations holding or waiting for a channel. */
  #active = 0;
  #idleTimer: NodeJS.Timeout | undefined;
  #ended = false;
  /** Remote folders known to exist as real directories on this connection (remotePath, type folders). */
  readonly knownFolders = new Set<string>();

  constructor(config: SftpDropzoneConfig, idleMs: number, onEnd: (s: Session) => void) {
    this.#max = config.maxConcurrentUploads;
    this.#idleMs = idleMs;
    this.#onEnd = onEnd;
    this.#connecting = connect(config, () => this.#end());
    // A failed connect ends the session; every operation waiting on it gets the error.
    this.#connecting.catch(() => this.#end());
  }

  get ended(): boolean {
    return this.#ended;
  }

  /**
   * Runs `job` with a leased channel. On abort the caller gets the abort error at once; the job
   * goes on in the background (it checks the signal between requests and removes its temporary
   * file) and returns the channel when it settles. A channel that failed under a request is
   * closed instead of reused.
   */
  async withChannel<T>(signal: AbortSignal, job: (ch: SftpChannel) => Promise<T>): Promise<T> {
    if (signal.aborted) throw abortedError();
    this.#active += 1;
    this.#cancelIdle();
    let channel: SftpChannel;
    try {
      channel = await this.#acquire(signal);
    } catch (err) {
      this.#active -= 1;
      this.#maybeIdle();
      throw err;
    }
    const running = job(channel).then(
      (value) => {
        this.#release(channel, false);
        return value;
      },
      (err: unknown) => {
        this.#release(channel, isConnectionGone(err) || (err as { code?: unknown })?.code === SFTP_ERRORS.CONNECTION_LOST);
        throw err;
      },
    );
    return raceAbort(running, signal);
  }

  /** Closes the connection (idle timeout, dispose). */
  async close(): Promise<void> {
    this.#cancelIdle();
    this.#end();
    const conn = await this.#connecting.catch(() => undefined);
    await conn?.close();
  }

  async #acquire(signal: AbortSignal): Promise<SftpChannel> {
    const conn = await raceAbort(this.#connecting, signal);
    for (;;) {
      if (this.#ended) throw connectionLost();
      const idle = this.#idle.pop();
      if (idle) return idle;
      if (this.#open < this.#max) {
        this.#open += 1;
        let sftp: SFTPWrapper;
        try {
          sftp = await conn.openChannel();
        } catch (err) {
          this.#open -= 1;
          if (this.#ended || isConnectionGone(err)) throw connectionLost(err);
          if (this.#open === 0) {
            throw connectorError(
              SFTP_ERRORS.SFTP_UNAVAILABLE,
              'The SSH server refused to start SFTP for the account: enable the sftp subsystem (Subsystem sftp internal-sftp) or check the account\'s restrictions; the push will be retried.',
              true,
              { cause: err },
            );
          }
          // The server allows fewer channels than maxConcurrentUploads (MaxSessions): use what it allows.
          this.#max = this.#open;
          continue;
        }
        const channel = new SftpChannel(sftp);
        sftp.on('error', () => undefined);
        sftp.once('close', () => this.#forget(channel));
        return channel;
      }
      await new Promise<void>((resolve, reject) => {
        const waiter = {
          wake: () => {
            signal.removeEventListener('abort', onAbort);
            resolve();
          },
          fail: (e: unknown) => {
            signal.removeEventListener('abort', onAbort);
            reject(e);
          },
        };
        const onAbort = (): void => {
          const i = this.#waiters.indexOf(waiter);
          if (i >= 0) this.#waiters.splice(i, 1);
          reject(abortedError());
        };
        signal.addEventListener('abort', onAbort, { once: true });
        this.#waiters.push(waiter);
      });
    }
  }

  #release(channel: SftpChannel, broken: boolean): void {
    this.#active -= 1;
    if (broken || this.#ended) {
      this.#forget(channel);
      channel.end();
    } else {
      this.#idle.push(channel);
    }
    this.#waiters.shift()?.wake();
    this.#maybeIdle();
  }

  /** A channel that closed or broke: it no longer counts against the limit. */
  #forget(channel: SftpChannel): void {
    const i = this.#idle.indexOf(channel);
    if (i >= 0) this.#idle.splice(i, 1);
    if ((channel as { forgotten?: boolean }).forgotten) return;
    (channel as { forgotten?: boolean }).forgotten = true;
    this.#open -= 1;
    this.#waiters.shift()?.wake();
  }

  #maybeIdle(): void {
    if (this.#active > 0 || this.#ended || this.#idleTimer) return;
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined;
      if (this.#active === 0) void this.close();
    }, this.#idleMs);
    this.#idleTimer.unref();
  }

  #cancelIdle(): void {
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#cancelIdle();
    this.#idle.splice(0);
    for (const w of this.#waiters.splice(0)) w.fail(connectionLost());
    this.#onEnd(this);
  }
}

/** The sessions of one connector port: one per stored connection (and config). */
export class SessionPool {
  readonly #sessions = new Map<string, Session>();
  readonly #idleMs: number;

  constructor(idleMs: number = DEFAULT_IDLE_MS) {
    this.#idleMs = idleMs;
  }

  /** The live session for this connection and config, connecting a new one if there is none. */
  session(connectionId: string, config: SftpDropzoneConfig): Session {
    const key = `${connectionId}\u0000${config.sessionKey}`;
    const existing = this.#sessions.get(key);
    if (existing && !existing.ended) return existing;
    const session = new Session(config, this.#idleMs, (s) => {
      if (this.#sessions.get(key) === s) this.#sessions.delete(key);
    });
    this.#sessions.set(key, session);
    return session;
  }

  /** Open sessions (tests check connections are reused and closed). */
  get size(): number {
    return this.#sessions.size;
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.#sessions.values()].map((s) => s.close()));
  }
}
