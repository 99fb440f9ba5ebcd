import { join } from 'node:path';
import { ConnectorError } from '@erpc/sdk';
import type { DropzoneConfig } from './config.js';
import { DROPZONE_ERRORS, errnoOf, fsError, unsafePath } from './errors.js';
import type { DropzoneTransport } from './transport.js';
import { throwIfAborted } from './abort.js';

/** Mode of the per-type folders the connector creates. */
export const FOLDER_MODE = 0o750;

/** Resolves rootPath (realpath, once per operation). */
export async function resolveRoot(t: DropzoneTransport, config: DropzoneConfig, signal: AbortSignal): Promise<string> {
  let root: string;
  try {
    root = await t.realpath(config.rootPath);
  } catch (err) {
    throw fsError(err, 'folder');
  }
  // No separate is-it-a-directory check: a root that is a file makes the next call fail with
  // ENOTDIR, which maps to DROPZONE_NOT_A_DIRECTORY, and one fewer metadata call per push matters
  // on network mounts.
  throwIfAborted(signal);
  return root;
}

/**
 * The folder a document goes to: the root, or `<root>/<documentType>` created on demand. A type
 * folder must be a real directory, never a symlink (which could lead outside rootPath).
 */
export async function targetFolder(
  t: DropzoneTransport,
  root: string,
  config: DropzoneConfig,
  documentType: string,
  signal: AbortSignal,
): Promise<{ dir: string; relDir: string }> {
  if (config.layout === 'flat') return { dir: root, relDir: '' };
  const dir = join(root, documentType);
  try {
    let info = await t.lstat(dir);
    if (info === null) {
      throwIfAborted(signal);
      try {
        await t.mkdir(dir, FOLDER_MODE);
        // Make the new folder's entry durable before files inside it are reported delivered.
        if (config.fsync) await t.syncDirectory(root);
      } catch (err) {
        if (errnoOf(err) !== 'EEXIST') throw err; // a concurrent push created it: check what it is
      }
      info = await t.lstat(dir);
    }
    if (info === null) throw Object.assign(new Error('type folder vanished'), { code: 'ENOENT' });
    if (info.isSymbolicLink) throw unsafePath(`The folder for document type "${documentType}"`);
    if (!info.isDirectory) {
      throw new ConnectorError(
        DROPZONE_ERRORS.NOT_A_DIRECTORY,
        `The drop folder holds a non-directory named "${documentType}" where the by-document-type layout needs a folder: remove or rename it.`,
        { retryable: false },
      );
    }
  } catch (err) {
    throw fsError(err, 'folder');
  }
  throwIfAborted(signal);
  return { dir, relDir: documentType };
}
