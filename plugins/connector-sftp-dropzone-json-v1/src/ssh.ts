import { createHash } from 'node:crypto';
import type { Client, ConnectConfig, SFTPWrapper } from 'ssh2';
import type { SftpDropzoneConfig } from './config.js';
import { SFTP_ERRORS, connectorError, statusOf, SFTP_STATUS } from './errors.js';
import type { ConnectorError } from '@erpc/sdk';

type Ssh2 = typeof import('ssh2');
let ssh2: Promise<Ssh2> | undefined;

/**
 * ssh2 is loaded on the first connection, not when the host imports the plugin: a host start-up
 * that never reaches an SFTP server does not pay for it.
 */
export function loadSsh2(): Promise<Ssh2> {
  ssh2 ??= import('ssh2').then((m) => ((m as unknown as { default?: Ssh2 }).default ?? m) as Ssh2);
  return ssh2;
}

/** `SHA256:<base64, no padding>` of a host key blob, as `ssh-keygen -lf` prints it. */
export function fingerprintOf(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type named at the start of an SSH public key blob (`ssh-ed25519`, `rsa-sha2-…`). */
function keyTypeOf(keyBlob: Buffer): string {
  if (keyBlob.length < 4) return 'unknown';
  const len = keyBlob.readUInt32BE(0);
  return len > 0 && len < 64 && keyBlob.length >= 4 + len ? keyBlob.toString('latin1', 4, 4 + len) : 'unknown';
}

/** An authenticated SSH connection. */
export interface SshConnection {
  client: Client;
  /** Opens one SFTP channel (subsystem) on the connection. */
  openChannel(): Promise<SFTPWrapper>;
  /** Ends the connection; resolves once it is closed (or after a second). */
  close(): Promise<void>;
}

/**
 * Connects, verifies the host key against hostKeySha256 before any credential is sent, and
 * authenticates with the key or the password. Rejects with a ConnectorError whose message says
 * what to fix and never holds a config value. `onClose` runs once the connection is gone, however.
 */
export async function connect(config: SftpDropzoneConfig, onClose: () => void): Promise<SshConnection> {
  const { Client } = await loadSsh2();
  const keyInvalid = (): ConnectorError =>
    // ssh2's reason is not passed on: the text is ours, so it can never quote the key.
    connectorError(
      SFTP_ERRORS.KEY_INVALID,
      config.passphrase === undefined
        ? 'The privateKey could not be read: it must be an OpenSSH or PEM private key; an encrypted key also needs its passphrase.'
        : 'The privateKey could not be read with the passphrase given: check both (OpenSSH or PEM private key).',
      false,
    );

  const client = new Client();
  let presented: { fingerprint: string; type: string } | undefined;
  let hostKeyRefused = false;
  let ready = false;
  const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
  void closed.then(onClose);

  await new Promise<void>((resolve, reject) => {
    const fail = (err: ConnectorError): void => {
      client.removeListener('ready', onReady);
      client.end();
      reject(err);
    };
    const onReady = (): void => {
      ready = true;
      resolve();
    };
    client.once('ready', onReady);
    client.on('error', (err: Error & { level?: string; code?: string }) => {
      if (ready) return; // after ready, failures surface on the channels' requests
      fail(connectError(err, hostKeyRefused ? presented : undefined));
    });
    client.once('close', () => {
      if (!ready) fail(connectorError(SFTP_ERRORS.CONNECTION_LOST, 'The SFTP server closed the connection before it was ready: check the server\'s logs (MaxStartups, AllowUsers, DenyUsers); the push will be retried.', true));
    });
    if (config.password !== undefined) {
      client.on('keyboard-interactive', (_name, _instructions, _lang, prompts, finish) => {
        finish(prompts.map(() => config.password!));
      });
    }
    try {
      client.connect({
        host: config.host,
        port: config.port,
        username: config.username,
        ...(config.privateKey !== undefined ? { privateKey: config.privateKey, ...(config.passphrase !== undefined ? { passphrase: config.passphrase } : {}) } : {}),
        ...(config.password !== undefined ? { password: config.password, tryKeyboard: true } : {}),
        readyTimeout: config.connectTimeoutMs,
        keepaliveInterval: 10_000,
        keepaliveCountMax: 3,
        hostVerifier: (key: Buffer) => {
          const fingerprint = fingerprintOf(key);
          presented = { fingerprint, type: keyTypeOf(key) };
          const ok = fingerprint === `SHA256:${config.hostKeySha256}`;
          hostKeyRefused = !ok;
          return ok;
        },
      });
    } catch {
      // ssh2 parses the key in connect() and throws (only) when it cannot.
      fail(keyInvalid());
      return;
    }
    // Every SFTP request is a small packet answered by another: without TCP_NODELAY, Nagle's
    // algorithm and delayed ACKs add ~40 ms to requests that follow an unacknowledged one.
    client.setNoDelay(true);
  });

  return {
    client,
    openChannel: () =>
      new Promise<SFTPWrapper>((resolve, reject) => {
        try {
          client.sftp((err, sftp) => (err ? reject(err) : resolve(sftp)));
        } catch (err) {
          reject(err); // 'Not connected'
        }
      }),
    async close() {
      client.end();
      await Promise.race([closed, new Promise((r) => setTimeout(r, 1000).unref())]);
      client.destroy();
    },
  };
}

function connectError(err: Error & { level?: string; code?: string }, refusedKey: { fingerprint: string; type: string } | undefined): ConnectorError {
  if (refusedKey !== undefined) {
    return connectorError(
      SFTP_ERRORS.HOST_KEY_MISMATCH,
      `The SFTP server presented the host key ${refusedKey.fingerprint} (${refusedKey.type}), not the one in hostKeySha256; no credentials were sent. ` +
        'If the server has several host keys, give the fingerprint of this one; if its key was changed on purpose, confirm the new fingerprint with its administrators ' +
        '(ssh-keyscan <host> | ssh-keygen -lf - lists them) and update hostKeySha256; otherwise someone may be intercepting the connection.',
      false,
      { details: { presentedFingerprint: refusedKey.fingerprint, keyType: refusedKey.type } },
    );
  }
  const code = err.code;
  if (err.level === 'client-authentication') {
    return connectorError(
      SFTP_ERRORS.AUTH_FAILED,
      'The SFTP server refused the credentials (privateKey or password) for the account (username): install the public key in the account\'s authorized_keys or fix the password; the push will be retried.',
      true,
    );
  }
  if (err.level === 'client-timeout' || code === 'ETIMEDOUT') {
    return connectorError(
      SFTP_ERRORS.CONNECTION_TIMEOUT,
      'The SFTP server did not complete the connection within connectTimeoutMs: check host, port, the firewall and the server; the push will be retried.',
      true,
      { cause: err },
    );
  }
  if (code === 'ECONNREFUSED') {
    return connectorError(
      SFTP_ERRORS.CONNECTION_REFUSED,
      'The SFTP server refused the connection (nothing listens on host:port): check host and port, and that the SSH server runs; the push will be retried.',
      true,
      { cause: err },
    );
  }
  if (err.level === 'client-dns' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') {
    return connectorError(
      SFTP_ERRORS.HOST_UNREACHABLE,
      'The SFTP server cannot be reached (the host name does not resolve or there is no route to it): check host and the network; the push will be retried.',
      true,
      { cause: err },
    );
  }
  if (err.level === 'handshake' || err.level === 'protocol') {
    return connectorError(
      SFTP_ERRORS.HANDSHAKE_FAILED,
      'The SSH handshake with the SFTP server failed (no algorithm both sides support, or a protocol error): check the server\'s SSH configuration; the push will be retried.',
      true,
      { cause: err },
    );
  }
  return connectorError(
    SFTP_ERRORS.CONNECTION_LOST,
    `The connection to the SFTP server failed (${code ?? err.level ?? 'unknown error'}): check the server and the network; the push will be retried.`,
    true,
    { cause: err },
  );
}

/** Whether the SFTP server announced an extension (`fsync@openssh.com`, `hardlink@openssh.com`…) in its version packet. */
export function offers(sftp: SFTPWrapper, extension: string): boolean {
  return (sftp as unknown as { _extensions?: Record<string, string> })._extensions?.[extension] === '1';
}

/** What the connector needs to know about a remote entry (from lstat or a listing; never follows a symlink). */
export interface RemoteEntry {
  isFile: boolean;
  isDirectory: boolean;
  isSymbolicLink: boolean;
  size: number;
  mtimeMs: number;
}

const S_IFMT = 0o170000;
function entryOf(attrs: { mode: number; size: number; mtime: number }): RemoteEntry {
  const type = attrs.mode & S_IFMT;
  return { isFile: type === 0o100000, isDirectory: type === 0o040000, isSymbolicLink: type === 0o120000, size: attrs.size, mtimeMs: attrs.mtime * 1000 };
}

const OPEN_EXCLUSIVE = 'wx'; // SSH_FXF_WRITE | SSH_FXF_CREAT | SSH_FXF_EXCL

/** The SFTP requests the connector makes, as promises over one channel. Errors are ssh2's (`code`: SFTP status). */
export class SftpChannel {
  readonly sftp: SFTPWrapper;
  readonly canFsync: boolean;
  readonly canHardlink: boolean;
  #gone = false;

  constructor(sftp: SFTPWrapper) {
    this.sftp = sftp;
    this.canFsync = offers(sftp, 'fsync@openssh.com');
    this.canHardlink = offers(sftp, 'hardlink@openssh.com');
    const gone = (): void => {
      this.#gone = true;
    };
    sftp.once('close', gone);
    sftp.once('end', gone);
  }

  /** Whether the channel closed (requests on it fail at once). */
  get gone(): boolean {
    return this.#gone;
  }

  /**
   * Sends one request. ssh2 never answers a request sent on a channel that has closed (it
   * failed the pending ones when it closed), so that fails here at once instead of hanging.
   */
  #call<T>(send: (cb: (err: Error | null | undefined, value?: T) => void) => void): Promise<T> {
    if (this.#gone) return Promise.reject(new Error('No response from server (the channel is closed)'));
    return new Promise<T>((resolve, reject) => {
      try {
        send((err, value) => (err ? reject(err) : resolve(value as T)));
      } catch (err) {
        reject(err);
      }
    });
  }

  /** Creates a new file, failing if anything is at `path`. */
  createExclusive(path: string, mode: number): Promise<Buffer> {
    return this.#call((cb) => this.sftp.open(path, OPEN_EXCLUSIVE, { mode }, cb));
  }

  write(handle: Buffer, data: Buffer): Promise<void> {
    // ssh2 splits a large buffer into requests of the server's maximum write length.
    return this.#call((cb) => this.sftp.write(handle, data, 0, data.byteLength, 0, (err) => cb(err)));
  }

  fsync(handle: Buffer): Promise<void> {
    return this.#call((cb) => this.sftp.ext_openssh_fsync(handle, (err) => cb(err)));
  }

  close(handle: Buffer): Promise<void> {
    return this.#call((cb) => this.sftp.close(handle, (err) => cb(err)));
  }

  /** `hardlink@openssh.com`: link(2) on the server, which never replaces `newPath`. */
  hardlink(existingPath: string, newPath: string): Promise<void> {
    return this.#call((cb) => this.sftp.ext_openssh_hardlink(existingPath, newPath, (err) => cb(err)));
  }

  /** Plain SSH_FXP_RENAME (the draft says it fails when `to` exists; not every server keeps to that). */
  rename(from: string, to: string): Promise<void> {
    return this.#call((cb) => this.sftp.rename(from, to, (err) => cb(err)));
  }

  unlink(path: string): Promise<void> {
    return this.#call((cb) => this.sftp.unlink(path, (err) => cb(err)));
  }

  mkdir(path: string, mode: number): Promise<void> {
    return this.#call((cb) => this.sftp.mkdir(path, { mode }, (err) => cb(err)));
  }

  /** lstat; null when nothing is there. */
  async lstat(path: string): Promise<RemoteEntry | null> {
    try {
      return entryOf(await this.#call<{ mode: number; size: number; mtime: number }>((cb) => this.sftp.lstat(path, cb)));
    } catch (err) {
      if (statusOf(err) === SFTP_STATUS.NO_SUCH_FILE) return null;
      throw err;
    }
  }

  /** Every entry of a folder, by name (lstat attributes, as OpenSSH reports them in a listing). */
  async list(dir: string): Promise<Map<string, RemoteEntry>> {
    const items = await this.#call<{ filename: string; attrs: { mode: number; size: number; mtime: number } }[]>((cb) => this.sftp.readdir(dir, cb));
    const out = new Map<string, RemoteEntry>();
    for (const item of items) out.set(item.filename, entryOf(item.attrs));
    return out;
  }

  /** Reads at most `maxBytes` of a file. */
  async readCapped(path: string, maxBytes: number): Promise<{ bytes: Buffer; truncated: boolean }> {
    const handle = await this.#call<Buffer>((cb) => this.sftp.open(path, 'r', cb));
    try {
      const buffer = Buffer.alloc(Math.min(maxBytes + 1, 1024 * 1024));
      const chunks: Buffer[] = [];
      let total = 0;
      while (total <= maxBytes) {
        let n: number;
        try {
          n = await this.#call<number>((cb) => this.sftp.read(handle, buffer, 0, Math.min(buffer.length, maxBytes + 1 - total), total, (err, bytesRead) => cb(err, bytesRead)));
        } catch (err) {
          if (statusOf(err) !== SFTP_STATUS.EOF) throw err;
          n = 0;
        }
        if (n === 0) break;
        chunks.push(Buffer.from(buffer.subarray(0, n)));
        total += n;
      }
      const all = Buffer.concat(chunks);
      return { bytes: all.subarray(0, Math.min(all.length, maxBytes)), truncated: all.length > maxBytes };
    } finally {
      await this.close(handle).catch(() => undefined);
    }
  }

  /** Whether the file system holding `path` has no room (statvfs@openssh.com); false when unknown. */
  async isFull(path: string, needBytes: number): Promise<boolean> {
    if (!offers(this.sftp, 'statvfs@openssh.com')) return false;
    try {
      const st = await this.#call<{ bavail: number; frsize: number; favail: number }>((cb) => this.sftp.ext_openssh_statvfs(path, cb));
      return st.bavail * st.frsize < needBytes || st.favail === 0;
    } catch {
      return false;
    }
  }

  end(): void {
    this.sftp.end();
  }
}
