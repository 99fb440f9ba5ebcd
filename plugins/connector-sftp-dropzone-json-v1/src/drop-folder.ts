import { posix } from 'node:path';
import type { SftpDropzoneConfig } from './config.js';
import { SFTP_STATUS, folderMissing, notADirectory, sftpError, statusOf, throwIfAborted, unsafePath } from './errors.js';
import type { Session } from './session.js';
import type { SftpChannel } from './ssh.js';

/** Mode of the per-type folders the connector creates (the server's umask still applies). */
export const FOLDER_MODE = 0o750;

/** remotePath without a trailing slash (except `/` itself). */
export function rootOf(config: SftpDropzoneConfig): string {
  const normal = posix.normalize(config.remotePath);
  return normal.length > 1 ? normal.replace(/\/+$/, '') : normal;
}

/**
 * Checks that remotePath is a directory, once per SSH connection (the result is kept on the
 * session; a request that later finds it gone forgets it).
 */
export async function checkRoot(ch: SftpChannel, session: Session, root: string, signal: AbortSignal): Promise<void> {
  if (session.knownFolders.has(root)) return;
  let info;
  try {
    info = await ch.lstat(root);
  } catch (err) {
    throw sftpError(err, 'folder');
  }
  if (info === null) throw folderMissing();
  // A symlinked remotePath is the account's business (chroots often use them); lstat says what
  // it points at only if we follow it, so a symlink is accepted here and the next request decides.
  if (!info.isDirectory && !info.isSymbolicLink) throw notADirectory('The drop folder (remotePath)');
  throwIfAborted(signal);
  session.knownFolders.add(root);
}

/**
 * The folder a document goes to: remotePath, or `<remotePath>/<documentType>` created on demand.
 * A type folder must be a real directory, never a symlink (which could lead outside remotePath).
 */
export async function ensureTypeFolder(ch: SftpChannel, session: Session, root: string, relDir: string, signal: AbortSignal): Promise<string> {
  if (relDir === '') return root;
  const dir = posix.join(root, relDir);
  if (session.knownFolders.has(dir)) return dir;
  try {
    let info = await ch.lstat(dir);
    if (info === null) {
      throwIfAborted(signal);
      try {
        await ch.mkdir(dir, FOLDER_MODE);
      } catch (err) {
        // OpenSSH answers FAILURE when the folder exists (a concurrent push made it): look again.
        if (statusOf(err) !== SFTP_STATUS.FAILURE) throw err;
      }
      info = await ch.lstat(dir);
    }
    if (info === null) throw folderMissing();
    if (info.isSymbolicLink) throw unsafePath(`The folder for document type "${relDir}"`);
    if (!info.isDirectory) throw notADirectory(`The entry "${relDir}" where the by-document-type layout needs a folder`);
  } catch (err) {
    throw sftpError(err, 'folder');
  }
  throwIfAborted(signal);
  session.knownFolders.add(dir);
  return dir;
}
