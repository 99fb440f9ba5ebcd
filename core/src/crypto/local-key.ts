import { randomBytes } from 'node:crypto';
import { mkdir, readFile, stat, unlink, writeFile, link } from 'node:fs/promises';
import { join } from 'node:path';
import { ErpcError } from '../errors/index.js';
import { generateKey, keyIdOf } from './keyring.js';

/** Name of the local key file inside the data directory (embedded default only). */
export const LOCAL_KEY_FILE = 'encryption.key';

/** Result of {@link loadOrCreateLocalKey}. */
export interface LocalKey {
  /** The key, 64 hex characters. Pass it on as ENCRYPTION_MASTER_KEY; never log it. */
  readonly key: string;
  readonly keyId: string;
  /** Absolute or data-dir-relative path of the key file. */
  readonly path: string;
  /** True when this call generated the key: the caller warns that it is for local use only. */
  readonly created: boolean;
}

function errnoOf(err: unknown): string {
  return (err as NodeJS.ErrnoException | undefined)?.code ?? 'unknown error';
}

/**
 * The embedded default's key: generated on first start and kept in `<dataDir>/encryption.key`
 * (mode 0600). A file that group or others can access is refused, as ssh refuses such private keys.
 * Concurrent first starts agree on one key: the file appears atomically through link(2).
 */
export async function loadOrCreateLocalKey(dataDir: string): Promise<LocalKey> {
  const path = join(dataDir, LOCAL_KEY_FILE);
  let created = false;
  try {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new ErpcError('ERPC_ERR_KEY_FILE_UNREADABLE', { path, reason: errnoOf(err) }, { cause: err });
  }
  try {
    await stat(path);
  } catch (err) {
    if (errnoOf(err) !== 'ENOENT') throw new ErpcError('ERPC_ERR_KEY_FILE_UNREADABLE', { path, reason: errnoOf(err) }, { cause: err });
    // Write a complete file under a temporary name, then link it into place: link fails if another
    // process won the race, and no reader ever sees a half-written key.
    const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await writeFile(tmp, `${generateKey()}\n`, { mode: 0o600, flag: 'wx' });
      try {
        await link(tmp, path);
        created = true;
      } catch (linkErr) {
        if (errnoOf(linkErr) !== 'EEXIST') throw linkErr;
      }
    } catch (writeErr) {
      throw new ErpcError('ERPC_ERR_KEY_FILE_UNREADABLE', { path, reason: errnoOf(writeErr) }, { cause: writeErr });
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
  }
  let content: string;
  try {
    const info = await stat(path);
    if (process.platform !== 'win32' && (info.mode & 0o077) !== 0) {
      throw new ErpcError('ERPC_ERR_KEY_FILE_INSECURE', { path, mode: (info.mode & 0o777).toString(8).padStart(4, '0') });
    }
    content = await readFile(path, 'utf8');
  } catch (err) {
    if (err instanceof ErpcError) throw err;
    throw new ErpcError('ERPC_ERR_KEY_FILE_UNREADABLE', { path, reason: errnoOf(err) }, { cause: err });
  }
  const key = content.trim();
  const keyId = keyIdOf(validated(key, path));
  return { key: key.toLowerCase(), keyId, path, created };
}

function validated(key: string, path: string): string {
  if (!/^[0-9a-fA-F]{64}$/.test(key)) {
    throw new ErpcError('ERPC_ERR_KEY_INVALID', {
      source: `The local key file ${path}`,
      reason: `it does not hold exactly 64 hex characters`,
    });
  }
  return key;
}
