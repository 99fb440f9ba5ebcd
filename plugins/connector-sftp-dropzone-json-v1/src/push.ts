import { posix } from 'node:path';
import { ConnectorError, type ConnectionRef, type PushDocument, type PushReceipt } from '@erpc/sdk';
import {
  DocumentInvalidError,
  assertDocumentType,
  buildEnvelopeBytes,
  externalRefOf,
  finalFileName,
  isEnvelopeOf,
  isTempFileOf,
  tempFileName,
  typeFolderOf,
} from '@erpc/dropzone-format';
import type { SftpDropzoneConfig } from './config.js';
import {
  SFTP_ERRORS,
  SFTP_STATUS,
  connectorError,
  folderMissing,
  isConnectionGone,
  sftpError,
  statusOf,
  throwIfAborted,
  unsafePath,
  type SftpStep,
} from './errors.js';
import type { Session } from './session.js';
import type { SftpChannel } from './ssh.js';
import { checkRoot, ensureTypeFolder, rootOf } from './drop-folder.js';

/** Mode of every file the connector writes (the server's umask still applies). */
export const FILE_MODE = 0o640;

/**
 * Delivers one document (docs/adr/0030): the envelope goes to a hidden temporary name in the
 * target folder (exclusive create), is written, flushed with fsync@openssh.com when the server
 * offers it, closed, then published under its final name without overwriting: hardlink@openssh.com
 * and the temporary removed, or, on a server without it, a plain rename after checking that the
 * final name is free. A file already under the final name that is this push's (same organisation
 * and idempotency key) makes the push a duplicate with the same externalRef; a retry (attempt > 1)
 * also removes temporaries of this final name that a killed attempt left behind.
 */
export async function pushDocument(
  session: Session,
  config: SftpDropzoneConfig,
  document: PushDocument,
  connection: ConnectionRef,
  signal: AbortSignal,
): Promise<PushReceipt> {
  try {
    assertDocumentType(document.documentType); // it names a folder and the file: checked before either is used
  } catch (err) {
    throw documentError(err);
  }
  const root = rootOf(config);
  const relDir = typeFolderOf(config.layout, document.documentType);
  // Built up front unless this connection already knows the folder: a document that cannot
  // become a file then touches nothing on the server, not even a new per-type folder.
  const early =
    typeof document.documentId !== 'string' || typeof document.idempotencyKey !== 'string' || !session.knownFolders.has(relDir ? posix.join(root, relDir) : root)
      ? envelopeOf(document, connection, config)
      : undefined;
  const finalName = finalFileName(config.filePrefix, document.documentType, document.documentId, document.idempotencyKey);
  const externalRef = externalRefOf(relDir, finalName);
  const retry = (document.attempt ?? 1) > 1;
  const receipt = (bytes: Buffer, duplicate: boolean): PushReceipt => ({
    externalRef,
    details: { bytes: bytes.byteLength, ...(duplicate ? { alreadyDelivered: true } : {}) },
    ...(config.acknowledgements.enabled ? {} : { expectAcknowledgement: false }),
  });

  return session.withChannel(signal, async (ch) => {
    await checkRoot(ch, session, root, signal);
    const dir = await ensureTypeFolder(ch, session, root, relDir, signal);
    const finalPath = posix.join(dir, finalName);

    // A retry of a push that may have landed: look first. A first attempt skips the lstat (one
    // round trip per push); a file already there makes the publish fail, and the same check decides.
    if (retry && (await existingDelivery(ch, finalPath, document, connection))) {
      const bytes = early ?? envelopeOf(document, connection, config);
      await sweepAbandonedTemps(ch, dir, finalName, undefined);
      return receipt(bytes, true);
    }
    throwIfAborted(signal);

    const tempPath = posix.join(dir, tempFileName(finalName));
    // The exclusive create goes out first and the envelope is built while the server works on
    // it: the envelope's CPU overlaps a round trip instead of adding to it (ADR 0030). A document
    // that cannot become a file then removes the temporary it never wrote to.
    const opening = ch.createExclusive(tempPath, FILE_MODE);
    opening.catch(() => undefined);
    let bytes: Buffer;
    try {
      bytes = early ?? envelopeOf(document, connection, config);
    } catch (err) {
      await opening.then(
        (h) => ch.close(h).finally(() => ch.unlink(tempPath)),
        () => undefined,
      ).catch(() => undefined);
      throw err;
    }
    let handle: Buffer | undefined;
    let tempExists = false;
    let step: SftpStep = 'temp';
    try {
      try {
        handle = await opening;
      } catch (err) {
        if (statusOf(err) === SFTP_STATUS.NO_SUCH_FILE) {
          // The folder went away since this connection checked it.
          session.knownFolders.delete(dir);
          session.knownFolders.delete(root);
          throw folderMissing(err);
        }
        throw err;
      }
      tempExists = true;
      throwIfAborted(signal);
      step = 'write';
      await ch.write(handle, bytes);
      if (ch.canFsync) {
        // A failed flush is never retried on the same handle: the temporary goes and the retry rewrites.
        step = 'fsync';
        await ch.fsync(handle);
      }
      step = 'publish';
      const closing = handle;
      handle = undefined;
      await ch.close(closing);
      throwIfAborted(signal);
      const published = await publish(ch, tempPath, finalPath);
      if (published === 'renamed') tempExists = false;
      if (tempExists) {
        // After the hard link the temporary is a second name of the final file (or, on a
        // duplicate, an unused copy); either way it goes.
        await ch.unlink(tempPath);
        tempExists = false;
      }
      if (published === 'taken' && !(await existingDelivery(ch, finalPath, document, connection))) {
        // existingDelivery throws for foreign files and symlinks; here the file vanished in between
        // (the ERP took it): the retry writes it again.
        throw connectorError(SFTP_ERRORS.IO_ERROR, 'The final file vanished while it was being published; the push will be retried.', true);
      }
      if (retry) await sweepAbandonedTemps(ch, dir, finalName, tempPath);
      return receipt(bytes, published === 'taken');
    } catch (err) {
      if (err instanceof ConnectorError || isConnectionGone(err)) throw sftpError(err, step);
      const full = step === 'write' || step === 'fsync' || step === 'temp' ? await ch.isFull(dir, bytes.byteLength).catch(() => false) : false;
      throw sftpError(err, step, full);
    } finally {
      if (handle) await ch.close(handle).catch(() => undefined);
      if (tempExists) await ch.unlink(tempPath).catch(() => undefined);
    }
  });
}

function documentError(err: unknown): unknown {
  return err instanceof DocumentInvalidError ? connectorError(SFTP_ERRORS.DOCUMENT_INVALID, err.message, false) : err;
}

/** The file's bytes; a document that cannot be one, or is over maxFileBytes, is a permanent error. */
function envelopeOf(document: PushDocument, connection: ConnectionRef, config: SftpDropzoneConfig): Buffer {
  let bytes: Buffer;
  try {
    ({ bytes } = buildEnvelopeBytes(document, connection));
  } catch (err) {
    throw documentError(err);
  }
  if (bytes.byteLength > config.maxFileBytes) {
    throw connectorError(
      SFTP_ERRORS.FILE_TOO_LARGE,
      `The document's file would be ${bytes.byteLength} bytes, over the connection's maxFileBytes: split the document or raise maxFileBytes.`,
      false,
      { details: { bytes: bytes.byteLength, maxFileBytes: config.maxFileBytes } },
    );
  }
  return bytes;
}

/**
 * Publishes the closed temporary under the final name without replacing anything there:
 * `linked` (the temporary still exists), `renamed` (it does not), or `taken` when a file was
 * already there (vetted by the caller).
 */
async function publish(ch: SftpChannel, tempPath: string, finalPath: string): Promise<'linked' | 'renamed' | 'taken'> {
  if (ch.canHardlink) {
    try {
      await ch.hardlink(tempPath, finalPath);
      return 'linked';
    } catch (err) {
      // OpenSSH reports EEXIST as a generic FAILURE: whether the name is taken is looked up.
      if (isConnectionGone(err)) throw err;
      if ((await ch.lstat(finalPath)) !== null) return 'taken';
      const status = statusOf(err);
      // A file system without hard links (EPERM, EOPNOTSUPP…): fall back to the guarded rename.
      if (status !== SFTP_STATUS.OP_UNSUPPORTED && status !== SFTP_STATUS.PERMISSION_DENIED && status !== SFTP_STATUS.FAILURE) throw err;
    }
  }
  // No hard links: rename after a check (ADR 0030 says what the window between the two risks).
  if ((await ch.lstat(finalPath)) !== null) return 'taken';
  try {
    await ch.rename(tempPath, finalPath);
  } catch (err) {
    // A draft-conforming server refuses to rename onto an existing name: someone got there first.
    if (!isConnectionGone(err) && (await ch.lstat(finalPath)) !== null) return 'taken';
    throw err;
  }
  return 'renamed';
}

/**
 * On a retry, removes temporaries of this final name (its stem, 12 hex, `.tmp`) that an earlier
 * attempt left when its connection or process died between creating and removing them. Best
 * effort: the document is delivered either way. First attempts never list the folder (that would
 * cost a listing of every file the ERP has not picked up yet, per push).
 */
async function sweepAbandonedTemps(ch: SftpChannel, dir: string, finalName: string, ownTemp: string | undefined): Promise<void> {
  let names: Map<string, unknown>;
  try {
    names = await ch.list(dir);
  } catch {
    return;
  }
  for (const name of names.keys()) {
    if (!isTempFileOf(name, finalName)) continue;
    const path = posix.join(dir, name);
    if (path === ownTemp) continue;
    await ch.unlink(path).catch(() => undefined);
  }
}

/**
 * True when the final file exists and is this push's (same organisation and idempotency key). A
 * symlink there is refused; another organisation's or key's file under the same name (two
 * connections sharing a folder) is a permanent name conflict.
 */
async function existingDelivery(ch: SftpChannel, finalPath: string, document: PushDocument, connection: ConnectionRef): Promise<boolean> {
  let info;
  try {
    info = await ch.lstat(finalPath);
  } catch (err) {
    throw sftpError(err, 'folder');
  }
  if (info === null) return false;
  if (info.isSymbolicLink || !info.isFile) throw unsafePath('The entry at the final file name');
  try {
    const { bytes, truncated } = await ch.readCapped(finalPath, Math.max(info.size, 0) + 1024);
    if (isEnvelopeOf(bytes, truncated, connection.orgId, document.idempotencyKey)) return true;
  } catch (err) {
    if (statusOf(err) === SFTP_STATUS.NO_SUCH_FILE) return false; // the ERP took it between lstat and open
    throw sftpError(err, 'read');
  }
  throw connectorError(
    SFTP_ERRORS.NAME_CONFLICT,
    'A different file already has this document\'s file name in the drop folder (another connection or organisation writes there): give each connection its own folder or filePrefix.',
    false,
  );
}
