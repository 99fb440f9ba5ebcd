import { ConnectorError } from '@erpc/sdk';

/**
 * The ConnectorError codes this plugin throws (plugin codes, not ERPC_ERR_*). Each one is listed
 * with its meaning and fix in the plugin's README and in docs/errors.md. The faults an operator
 * fixes (folder, permissions, space, network, credentials) are retryable, so a push waits for
 * the fix instead of going DEAD at once; they are the ones to move to the long retry horizon
 * (issue I) when it lands.
 */
export const SFTP_ERRORS = {
  /** The connection config does not match config.schema.json. Permanent. */
  CONFIG_INVALID: 'SFTP_DROPZONE_CONFIG_INVALID',
  /** privateKey is not an OpenSSH/PEM private key, or its passphrase is missing or wrong. Permanent. */
  KEY_INVALID: 'SFTP_DROPZONE_KEY_INVALID',
  /** The server presented a host key other than hostKeySha256. Permanent: never retried blindly. */
  HOST_KEY_MISMATCH: 'SFTP_DROPZONE_HOST_KEY_MISMATCH',
  /** The server refused the key or password. Retryable (the ERP side installs the key). */
  AUTH_FAILED: 'SFTP_DROPZONE_AUTH_FAILED',
  /** Nothing listens on host:port (ECONNREFUSED). Retryable. */
  CONNECTION_REFUSED: 'SFTP_DROPZONE_CONNECTION_REFUSED',
  /** Connecting, the handshake or authentication took longer than connectTimeoutMs. Retryable. */
  CONNECTION_TIMEOUT: 'SFTP_DROPZONE_CONNECTION_TIMEOUT',
  /** The host name does not resolve, or the network has no route to it. Retryable. */
  HOST_UNREACHABLE: 'SFTP_DROPZONE_HOST_UNREACHABLE',
  /** The SSH handshake failed (no common algorithm, protocol error). Retryable. */
  HANDSHAKE_FAILED: 'SFTP_DROPZONE_HANDSHAKE_FAILED',
  /** The server refused the SFTP subsystem or a channel. Retryable. */
  SFTP_UNAVAILABLE: 'SFTP_DROPZONE_SFTP_UNAVAILABLE',
  /** The server closed the connection or channel in the middle of an operation. Retryable. */
  CONNECTION_LOST: 'SFTP_DROPZONE_CONNECTION_LOST',
  /** remotePath (or a per-type folder the connector made) does not exist. Retryable. */
  FOLDER_MISSING: 'SFTP_DROPZONE_FOLDER_MISSING',
  /** remotePath, or an entry where a per-type folder belongs, is not a directory. Permanent. */
  NOT_A_DIRECTORY: 'SFTP_DROPZONE_NOT_A_DIRECTORY',
  /** The server refused to create or publish a file (permission denied). Retryable. */
  NOT_WRITABLE: 'SFTP_DROPZONE_NOT_WRITABLE',
  /** The server's file system is full or the account over quota. Retryable. */
  DISK_FULL: 'SFTP_DROPZONE_DISK_FULL',
  /** Another failure the server reported. Retryable. */
  IO_ERROR: 'SFTP_DROPZONE_IO_ERROR',
  /** A symlink or other non-regular entry sits where the final file or a per-type folder would be. Permanent. */
  UNSAFE_PATH: 'SFTP_DROPZONE_UNSAFE_PATH',
  /** A file with the final name exists but belongs to another organisation or key. Permanent. */
  NAME_CONFLICT: 'SFTP_DROPZONE_NAME_CONFLICT',
  /** The envelope would exceed maxFileBytes. Permanent. */
  FILE_TOO_LARGE: 'SFTP_DROPZONE_FILE_TOO_LARGE',
  /** The document cannot be written as an envelope (bad type, empty id, non-JSON payload…). Permanent. */
  DOCUMENT_INVALID: 'SFTP_DROPZONE_DOCUMENT_INVALID',
  /** ctx.signal fired (the host's timeout) before the operation finished. Retryable. */
  ABORTED: 'SFTP_DROPZONE_ABORTED',
  /** checkDelivery was called while acknowledgements are disabled. Permanent. */
  ACKS_DISABLED: 'SFTP_DROPZONE_ACKS_DISABLED',
  /** checkDelivery got a receipt this connector did not produce. Permanent. */
  RECEIPT_INVALID: 'SFTP_DROPZONE_RECEIPT_INVALID',
} as const;

export type SftpErrorCode = (typeof SFTP_ERRORS)[keyof typeof SFTP_ERRORS];

/** SFTP status codes (draft-ietf-secsh-filexfer-02, as ssh2 reports them in `err.code`; 14/15 are from later drafts). */
export const SFTP_STATUS = {
  EOF: 1,
  NO_SUCH_FILE: 2,
  PERMISSION_DENIED: 3,
  FAILURE: 4,
  BAD_MESSAGE: 5,
  NO_CONNECTION: 6,
  CONNECTION_LOST: 7,
  OP_UNSUPPORTED: 8,
  NO_SPACE_ON_FILESYSTEM: 14,
  QUOTA_EXCEEDED: 15,
} as const;

/** The SFTP status code of an ssh2 SFTP error, if it carries one. */
export function statusOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** Where in an operation a failure happened; words the message. */
export type SftpStep = 'folder' | 'temp' | 'write' | 'fsync' | 'publish' | 'read' | 'list';

const STEP_WORDS: Record<SftpStep, string> = {
  folder: 'checking the drop folder',
  temp: 'creating the temporary file',
  write: 'writing the file',
  fsync: 'flushing the file to disk',
  publish: 'publishing the file under its final name',
  read: 'reading a file',
  list: 'listing the drop folder',
};

export function connectorError(code: SftpErrorCode, message: string, retryable: boolean, extra: { cause?: unknown; details?: Record<string, unknown> } = {}): ConnectorError {
  return new ConnectorError(code, message, { retryable, ...extra });
}

/** True for the errors ssh2 gives when the channel or connection went away under a request. */
export function isConnectionGone(err: unknown): boolean {
  const status = statusOf(err);
  if (status === SFTP_STATUS.NO_CONNECTION || status === SFTP_STATUS.CONNECTION_LOST) return true;
  if (status !== undefined) return false;
  const message = (err as { message?: unknown } | null)?.message;
  return typeof message === 'string' && /No response from server|Not connected|channel|closed|ECONNRESET|EPIPE|write after end/i.test(message);
}

export function connectionLost(cause?: unknown): ConnectorError {
  return connectorError(
    SFTP_ERRORS.CONNECTION_LOST,
    'The SFTP server closed the connection in the middle of the operation; nothing was published under the final name by this attempt, and the push will be retried.',
    true,
    { cause },
  );
}

/**
 * Maps an SFTP failure to a ConnectorError. Messages name the problem and the fix, never a config
 * value (host, account or folder), only field names. `diskFull` says whether the server reported
 * (statvfs) no space left, for the generic FAILURE status OpenSSH sends for ENOSPC/EDQUOT.
 */
export function sftpError(err: unknown, step: SftpStep, diskFull = false): ConnectorError {
  if (err instanceof ConnectorError) return err;
  if (isConnectionGone(err)) return connectionLost(err);
  const status = statusOf(err);
  const details = { sftpStatus: status ?? null, step };
  if (diskFull || status === SFTP_STATUS.NO_SPACE_ON_FILESYSTEM || status === SFTP_STATUS.QUOTA_EXCEEDED) {
    return connectorError(
      SFTP_ERRORS.DISK_FULL,
      `The SFTP server's file system is full or the account is over its quota (while ${STEP_WORDS[step]}): ask the ERP's administrators to free space; the push will be retried.`,
      true,
      { cause: err, details },
    );
  }
  switch (status) {
    case SFTP_STATUS.NO_SUCH_FILE:
      return folderMissing(err, details);
    case SFTP_STATUS.PERMISSION_DENIED:
      return connectorError(
        SFTP_ERRORS.NOT_WRITABLE,
        `The SFTP server refused permission while ${STEP_WORDS[step]}: the account (username) needs read and write access to remotePath; the push will be retried.`,
        true,
        { cause: err, details },
      );
    default:
      return connectorError(
        SFTP_ERRORS.IO_ERROR,
        `The SFTP server failed while ${STEP_WORDS[step]} (SFTP status ${status ?? 'unknown'}): check the server's disk and logs; the push will be retried, rewriting the file from scratch.`,
        true,
        { cause: err, details },
      );
  }
}

export function folderMissing(cause?: unknown, details?: Record<string, unknown>): ConnectorError {
  return connectorError(
    SFTP_ERRORS.FOLDER_MISSING,
    'The drop folder (remotePath) does not exist on the SFTP server: create it there or fix remotePath; the push will be retried.',
    true,
    { cause, ...(details ? { details } : {}) },
  );
}

export function notADirectory(what: string): ConnectorError {
  return connectorError(SFTP_ERRORS.NOT_A_DIRECTORY, `${what} on the SFTP server is not a directory: point remotePath at a directory, or remove the entry.`, false);
}

export function unsafePath(what: string): ConnectorError {
  return connectorError(
    SFTP_ERRORS.UNSAFE_PATH,
    `${what} in the drop folder is a symbolic link or not a regular entry: remove it; nothing was published.`,
    false,
  );
}

export function abortedError(): ConnectorError {
  return connectorError(
    SFTP_ERRORS.ABORTED,
    'The SFTP server did not finish the operation before the time limit: check the server and the network; the push will be retried.',
    true,
  );
}

export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw abortedError();
}
