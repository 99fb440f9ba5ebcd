import { ConnectorError } from '@erpc/sdk';

/**
 * The ConnectorError codes this plugin throws (plugin codes, not ERPC_ERR_*). Each one is listed
 * with its meaning and fix in the plugin's README.
 */
export const DROPZONE_ERRORS = {
  /** The connection config does not match config.schema.json. Permanent. */
  CONFIG_INVALID: 'DROPZONE_CONFIG_INVALID',
  /** rootPath does not exist (not mounted yet, removed for a moment, or a bad config). Operator-fixable: retried over the host's retry horizon. */
  ROOT_MISSING: 'DROPZONE_ROOT_MISSING',
  /** rootPath (or a per-type folder) exists but is not a directory. Permanent. */
  NOT_A_DIRECTORY: 'DROPZONE_NOT_A_DIRECTORY',
  /** The folder refuses writes (EACCES, EPERM, EROFS). Operator-fixable: retried over the host's retry horizon. */
  NOT_WRITABLE: 'DROPZONE_NOT_WRITABLE',
  /** A symlink or other non-regular entry sits where the temp or final file (or a type folder) would be. Permanent. */
  UNSAFE_PATH: 'DROPZONE_UNSAFE_PATH',
  /** ENOSPC / EDQUOT. Operator-fixable: retried over the host's retry horizon, until space returns. */
  DISK_FULL: 'DROPZONE_DISK_FULL',
  /** EIO or another unexpected file-system failure. Retryable. */
  IO_ERROR: 'DROPZONE_IO_ERROR',
  /** A file with the final name exists but belongs to another organisation, connection or key. Permanent. */
  NAME_CONFLICT: 'DROPZONE_NAME_CONFLICT',
  /** The envelope would exceed maxFileBytes. Permanent. */
  FILE_TOO_LARGE: 'DROPZONE_FILE_TOO_LARGE',
  /** The document cannot be written as an envelope (bad type, empty id, non-JSON payload…). Permanent. */
  DOCUMENT_INVALID: 'DROPZONE_DOCUMENT_INVALID',
  /** ctx.signal fired (the host's timeout) before the operation finished. Retryable. */
  ABORTED: 'DROPZONE_ABORTED',
  /** An earlier operation on this folder is still stuck in the file system; failing fast. Retryable. */
  FS_UNRESPONSIVE: 'DROPZONE_FS_UNRESPONSIVE',
  /** checkDelivery was called while acknowledgements are disabled. Permanent. */
  ACKS_DISABLED: 'DROPZONE_ACKS_DISABLED',
  /** checkDelivery got a receipt this connector did not produce. Permanent. */
  RECEIPT_INVALID: 'DROPZONE_RECEIPT_INVALID',
} as const;

export type DropzoneErrorCode = (typeof DROPZONE_ERRORS)[keyof typeof DROPZONE_ERRORS];

export function errnoOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Where in the operation a file-system error happened; only used to word the message. */
export type FsStep = 'folder' | 'temp' | 'write' | 'fsync' | 'publish' | 'read';

/**
 * Maps a file-system error to a ConnectorError. Messages name the problem and the fix but never a
 * config value (rootPath may be considered sensitive by some operators), only the field name.
 */
export function fsError(err: unknown, step: FsStep): ConnectorError {
  if (err instanceof ConnectorError) return err;
  const errno = errnoOf(err);
  const details = { errno: errno ?? 'UNKNOWN', step };
  switch (errno) {
    case 'ENOENT':
      return new ConnectorError(
        DROPZONE_ERRORS.ROOT_MISSING,
        'The drop folder (rootPath) does not exist: create it, mount it, or fix rootPath; the push will be retried.',
        { retryable: true, operatorFixable: true, cause: err, details },
      );
    case 'ENOTDIR':
      return new ConnectorError(
        DROPZONE_ERRORS.NOT_A_DIRECTORY,
        'The drop folder (rootPath) or a folder inside it is not a directory: point rootPath at a directory.',
        { retryable: false, cause: err, details },
      );
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new ConnectorError(
        DROPZONE_ERRORS.NOT_WRITABLE,
        'The drop folder (rootPath) is not writable by the erpc process: grant it write access or make the file system writable; the push will be retried.',
        { retryable: true, operatorFixable: true, cause: err, details },
      );
    case 'ELOOP':
    case 'EEXIST':
      return new ConnectorError(
        DROPZONE_ERRORS.UNSAFE_PATH,
        'A symbolic link or unexpected entry sits where the connector writes in the drop folder: remove it; nothing was written.',
        { retryable: false, cause: err, details },
      );
    case 'ENOSPC':
    case 'EDQUOT':
      return new ConnectorError(
        DROPZONE_ERRORS.DISK_FULL,
        'The drop folder\'s file system is full (or over quota): free space; the push will be retried.',
        { retryable: true, operatorFixable: true, cause: err, details },
      );
    default:
      return new ConnectorError(
        DROPZONE_ERRORS.IO_ERROR,
        `The file system failed while writing to the drop folder (${errno ?? 'unknown error'} during ${step}): check the disk or mount; the push will be retried.`,
        { retryable: true, cause: err, details },
      );
  }
}

export function unsafePath(what: string): ConnectorError {
  return new ConnectorError(
    DROPZONE_ERRORS.UNSAFE_PATH,
    `${what} in the drop folder is a symbolic link or not a regular entry: remove it; nothing was written.`,
    { retryable: false },
  );
}

export function documentInvalid(message: string): ConnectorError {
  return new ConnectorError(DROPZONE_ERRORS.DOCUMENT_INVALID, message, { retryable: false });
}
