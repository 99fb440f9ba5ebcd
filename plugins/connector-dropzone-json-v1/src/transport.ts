import { close, constants, fsync, open, promises as fsp, write } from 'node:fs';
import type { HostFiles } from '@erpc/sdk';

/** What the connector needs to know about a directory entry. */
export interface EntryInfo {
  isFile: boolean;
  isDirectory: boolean;
  isSymbolicLink: boolean;
  size: number;
  mtimeMs: number;
}

/** A file opened for writing by {@link DropzoneTransport.createExclusive}. */
export interface WritableFile {
  /** Writes all of `data` at the current position. */
  write(data: Uint8Array): Promise<void>;
  /** Flushes the file to stable storage. Never called twice after a failure: the caller rewrites. */
  sync(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Every file-system operation the connector performs, so that another transport (SFTP) can slot in
 * later and tests can inject failures. Errors are Node-style: an Error with an errno `code`
 * (ENOENT, EEXIST, ELOOP, ENOSPC, EIO…). Paths are absolute.
 */
export interface DropzoneTransport {
  realpath(path: string): Promise<string>;
  /** Like lstat: never follows a final symlink. Resolves null when nothing is there. */
  lstat(path: string): Promise<EntryInfo | null>;
  /** Creates one directory (not recursive). Rejects with EEXIST if anything is already there. */
  mkdir(path: string, mode: number): Promise<void>;
  /**
   * Creates a new file: O_CREAT | O_EXCL | O_NOFOLLOW | O_WRONLY with `mode`. With `durable`, the
   * file's writes reach stable storage before they return (as if each were followed by fsync),
   * where the transport can do that: its `sync()` then has nothing left to do.
   */
  createExclusive(path: string, mode: number, durable?: boolean): Promise<WritableFile>;
  /** Makes `newPath` a second name of `existingPath`; EEXIST (never overwrites) if `newPath` exists. */
  link(existingPath: string, newPath: string): Promise<void>;
  /** Atomically renames, replacing `to` if it exists. */
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** Names of the entries of a directory. */
  list(dir: string): Promise<string[]>;
  /** Makes the directory's entries (creates, renames, deletes) durable. */
  syncDirectory(path: string): Promise<void>;
  /** Reads at most `maxBytes` of a regular file, refusing to follow a symlink. */
  readCapped(path: string, maxBytes: number): Promise<{ bytes: Buffer; truncated: boolean }>;
}

const WRITE_FLAGS = constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW | constants.O_WRONLY;
const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW;
const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY;
// O_SYNC, not O_DSYNC: the same guarantee as the fsync it replaces (data and all metadata).
const DURABLE_WRITE_FLAGS = WRITE_FLAGS | constants.O_SYNC;

/**
 * The local (or locally mounted) file system, through node:fs/promises. With `files` (the host's
 * HostServices.files), flushes go through the host: in a sandbox, Node's permission model
 * disables fsync, and the host flushes the path for the connector. A file created `durable` there
 * is opened with O_SYNC instead (an open flag, which the permission model allows on a path the
 * sandbox may write): each write returns once it is on stable storage, so the file needs no
 * round trip to the host (ADR 0046). Folders still sync through the host.
 */
export function createLocalTransport(files?: HostFiles): DropzoneTransport {
  return {
    realpath: (path) => fsp.realpath(path),
    async lstat(path) {
      try {
        const s = await fsp.lstat(path);
        return { isFile: s.isFile(), isDirectory: s.isDirectory(), isSymbolicLink: s.isSymbolicLink(), size: s.size, mtimeMs: s.mtimeMs };
      } catch (err) {
        if ((err as { code?: unknown }).code === 'ENOENT') return null;
        throw err;
      }
    },
    mkdir: async (path, mode) => {
      await fsp.mkdir(path, { mode });
    },
    // Plain fds through the callback API: a FileHandle costs a wrapper object, a finaliser and
    // extra promise hops per call, which showed up in the push profile (ADR 0015). Same
    // syscalls, same thread-pool trips.
    async createExclusive(path, mode, durable = false) {
      const synchronous = durable && files !== undefined;
      const fd = await fdOpen(path, synchronous ? DURABLE_WRITE_FLAGS : WRITE_FLAGS, mode);
      let closed = false;
      return {
        async write(data) {
          let offset = 0;
          while (offset < data.byteLength) offset += await fdWrite(fd, data, offset, data.byteLength - offset);
        },
        sync: () => (synchronous ? Promise.resolve() : files === undefined ? fdSync(fd) : files.sync(path)),
        close() {
          if (closed) return Promise.resolve();
          closed = true;
          return fdClose(fd);
        },
      };
    },
    link: (existingPath, newPath) => fsp.link(existingPath, newPath),
    rename: (from, to) => fsp.rename(from, to),
    unlink: (path) => fsp.unlink(path),
    list: (dir) => fsp.readdir(dir),
    async syncDirectory(path) {
      if (files !== undefined) return files.sync(path);
      const fd = await fdOpen(path, DIR_FLAGS, 0);
      try {
        await fdSync(fd);
      } finally {
        await fdClose(fd);
      }
    },
    async readCapped(path, maxBytes) {
      const handle = await fsp.open(path, READ_FLAGS);
      try {
        const s = await handle.stat();
        if (!s.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'EISDIR' });
        const buffer = Buffer.alloc(Math.min(maxBytes + 1, Math.max(s.size, 0) + 1));
        let filled = 0;
        while (filled < buffer.length) {
          const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled);
          if (bytesRead === 0) break;
          filled += bytesRead;
        }
        const truncated = filled > maxBytes;
        return { bytes: buffer.subarray(0, Math.min(filled, maxBytes)), truncated };
      } finally {
        await handle.close();
      }
    },
  };
}

type ErrnoCallback<T> = (err: NodeJS.ErrnoException | null, value: T) => void;

function fdOpen(path: string, flags: number, mode: number): Promise<number> {
  return new Promise((resolve, reject) => open(path, flags, mode, ((err, fd) => (err ? reject(err) : resolve(fd))) as ErrnoCallback<number>));
}

function fdWrite(fd: number, data: Uint8Array, offset: number, length: number): Promise<number> {
  return new Promise((resolve, reject) => write(fd, data, offset, length, null, (err, written) => (err ? reject(err) : resolve(written))));
}

function fdSync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fsync(fd, (err) => (err ? reject(err) : resolve())));
}

function fdClose(fd: number): Promise<void> {
  return new Promise((resolve, reject) => close(fd, (err) => (err ? reject(err) : resolve())));
}
