import { join } from 'node:path';
import { ConnectorError, type ConnectionRef, type PushDocument, type PushReceipt } from '@erpc/sdk';
import type { DropzoneConfig } from './config.js';
import { DocumentInvalidError, buildEnvelopeBytes, externalRefOf, finalFileName, isEnvelopeOf, isTempFileOf, tempFileName } from '@erpc/dropzone-format';
import { DROPZONE_ERRORS, documentInvalid, errnoOf, fsError, unsafePath, type FsStep } from './errors.js';
import type { DropzoneTransport, WritableFile } from './transport.js';
import type { DirectorySync } from './directory-sync.js';
import { throwIfAborted } from './abort.js';
import { resolveRoot, targetFolder } from './drop-folder.js';

/** Mode of every file the connector writes (umask still applies). */
export const FILE_MODE = 0o640;

/** Errors from link() meaning "this file system has no hard links": fall back to rename. */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV', 'EMLINK']);

/**
 * Writes one document. See docs/adr for the approach: write a hidden temp beside the final name,
 * fsync, close, then publish it with link() (atomic and never overwrites: of two concurrent
 * callers exactly one wins, the other sees EEXIST), unlink the temp and fsync the folder through
 * `directorySync` (an fsync that started after the link; one serves every push into the folder
 * that linked before it started).
 */
export async function pushDocument(
  t: DropzoneTransport,
  config: DropzoneConfig,
  document: PushDocument,
  connection: ConnectionRef,
  signal: AbortSignal,
  directorySync: DirectorySync,
): Promise<PushReceipt> {
  let bytes: Buffer;
  try {
    ({ bytes } = buildEnvelopeBytes(document, connection));
  } catch (err) {
    if (err instanceof DocumentInvalidError) throw documentInvalid(err.message);
    throw err;
  }
  if (bytes.byteLength > config.maxFileBytes) {
    throw new ConnectorError(
      DROPZONE_ERRORS.FILE_TOO_LARGE,
      `The document's file would be ${bytes.byteLength} bytes, over the connection's maxFileBytes: split the document or raise maxFileBytes.`,
      { retryable: false, details: { bytes: bytes.byteLength, maxFileBytes: config.maxFileBytes } },
    );
  }

  const root = await resolveRoot(t, config, signal);
  const { dir, relDir } = await targetFolder(t, root, config, document.documentType, signal);
  const finalName = finalFileName(config.filePrefix, document.documentType, document.documentId, document.idempotencyKey);
  const finalPath = join(dir, finalName);
  const externalRef = externalRefOf(relDir, finalName);
  const receipt = (duplicate: boolean): PushReceipt => ({
    externalRef,
    details: { bytes: bytes.byteLength, ...(duplicate ? { alreadyDelivered: true } : {}) },
    // Without .ack/.err files there is nothing to check: the host schedules no delivery check.
    ...(config.acknowledgements.enabled ? {} : { expectAcknowledgement: false }),
  });

  // Fast path for a retry of a push that already landed: no second file. A first attempt skips
  // the lstat (one metadata call per push): a file already at the final name (a manual retry of
  // a delivered push, or a foreign file) makes link() fail with EEXIST below, and the same
  // existingDelivery check then decides, after the unused temp is removed.
  if ((document.attempt ?? 1) > 1 && (await existingDelivery(t, finalPath, document, connection))) {
    await sweepAbandonedTemps(t, dir, finalName, document, undefined);
    return receipt(true);
  }
  throwIfAborted(signal);

  const tempPath = join(dir, tempFileName(finalName));
  let file: WritableFile | undefined;
  let tempExists = false;
  let step: FsStep = 'temp';
  let duplicate = false;
  try {
    file = await t.createExclusive(tempPath, FILE_MODE, config.fsync);
    tempExists = true;
    throwIfAborted(signal);
    step = 'write';
    await file.write(bytes);
    throwIfAborted(signal);
    if (config.fsync) {
      // On failure the error propagates and the temp is deleted: the page cache state after a
      // failed fsync is unknowable, so the retry rewrites from scratch (never fsync the same fd twice).
      step = 'fsync';
      await file.sync();
    }
    step = 'publish';
    const closing = file;
    file = undefined;
    await closing.close();
    throwIfAborted(signal);
    duplicate = !(await publish(t, tempPath, finalPath));
    if (tempExists) {
      // After link() the temp is a second name of the final file (or, on a duplicate, an unused
      // copy); either way it goes.
      await t.unlink(tempPath);
      tempExists = false;
    }
    if (duplicate && !(await existingDelivery(t, finalPath, document, connection))) {
      // existingDelivery throws for foreign files and symlinks; reaching here means it vanished in between.
      throw Object.assign(new Error('final file vanished during publish'), { code: 'EAGAIN' });
    }
    await sweepAbandonedTemps(t, dir, finalName, document, tempPath);
    // Shared with the other pushes into this folder (ADR 0017).
    if (config.fsync) await directorySync.sync(dir);
  } catch (err) {
    if (err instanceof ConnectorError) throw err;
    throw fsError(err, step);
  } finally {
    if (file) await file.close().catch(() => undefined);
    if (tempExists) await t.unlink(tempPath).catch(() => undefined);
  }
  return receipt(duplicate);

  /** Returns true when this call published the file, false when another caller already had. */
  async function publish(tr: DropzoneTransport, from: string, to: string): Promise<boolean> {
    try {
      await tr.link(from, to);
      return true;
    } catch (err) {
      const errno = errnoOf(err);
      if (errno === 'EEXIST') return false; // symlink or foreign file at `to` is vetted by the caller
      if (errno === undefined || !NO_HARD_LINKS.has(errno)) throw err;
    }
    // No hard links here (some SMB/FUSE mounts): rename after a check. A concurrent same-key
    // push can slip between check and rename; it replaces the file with identical content.
    const there = await tr.lstat(to);
    if (there !== null) return false;
    await tr.rename(from, to);
    tempExists = false;
    return true;
  }
}

/**
 * On a retry (attempt > 1), removes hidden temp files that an earlier attempt of the same
 * idempotency key left behind when its process died between creating the temp and unlinking it.
 * Only this key's temps can match (the temp name starts with the final name's stem, which holds
 * the key hash). A concurrent attempt of the same key losing its temp is safe: its link() fails,
 * it reports a retryable error, and its retry finds the published file. First attempts skip the
 * directory listing, which would cost O(files in the folder) per push.
 */
async function sweepAbandonedTemps(
  t: DropzoneTransport,
  dir: string,
  finalName: string,
  document: PushDocument,
  ownTemp: string | undefined,
): Promise<void> {
  if ((document.attempt ?? 1) <= 1) return;
  let names: string[];
  try {
    names = await t.list(dir);
  } catch {
    return; // best effort: the document is delivered either way
  }
  for (const name of names) {
    if (!isTempFileOf(name, finalName)) continue;
    const path = join(dir, name);
    if (path === ownTemp) continue;
    await t.unlink(path).catch(() => undefined);
  }
}

/**
 * True when the final file already exists and is this push's (same organisation and idempotency
 * key). A symlink there is refused; a file written for another organisation or key
 * under the same name (two connections sharing a folder) is a permanent name conflict.
 */
async function existingDelivery(
  t: DropzoneTransport,
  finalPath: string,
  document: PushDocument,
  connection: ConnectionRef,
): Promise<boolean> {
  let info;
  try {
    info = await t.lstat(finalPath);
  } catch (err) {
    throw fsError(err, 'folder');
  }
  if (info === null) return false;
  if (info.isSymbolicLink || !info.isFile) throw unsafePath('The entry at the final file name');
  try {
    const { bytes, truncated } = await t.readCapped(finalPath, 1024 * 1024 * 1024);
    if (isEnvelopeOf(bytes, truncated, connection.orgId, document.idempotencyKey)) return true;
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return false; // the ERP took it between lstat and open
    throw fsError(err, 'read');
  }
  throw new ConnectorError(
    DROPZONE_ERRORS.NAME_CONFLICT,
    'A different file already has this document\'s file name in the drop folder (another connection or organisation writes there): give each connection its own folder or filePrefix.',
    { retryable: false },
  );
}
