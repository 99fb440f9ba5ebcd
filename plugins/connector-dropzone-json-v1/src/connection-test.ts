import { join } from 'node:path';
import type { ConnectionTestResult } from '@erpc/sdk';
import { probeFileName } from '@erpc/dropzone-format';
import type { DropzoneConfig } from './config.js';
import { DROPZONE_ERRORS, errnoOf, fsError } from './errors.js';
import type { DropzoneTransport, WritableFile } from './transport.js';
import { throwIfAborted } from './abort.js';
import { resolveRoot } from './drop-folder.js';
import { FILE_MODE } from './push.js';

/**
 * The seed's rule: create a hidden temp file in rootPath with the push's flags, write, fsync,
 * delete, and check it is gone. Throws ConnectorErrors; the connector turns them into `ok: false`.
 */
export async function probeFolder(t: DropzoneTransport, config: DropzoneConfig, signal: AbortSignal): Promise<void> {
  const root = await resolveRoot(t, config, signal);
  const probePath = join(root, probeFileName());
  let file: WritableFile | undefined;
  let created = false;
  try {
    file = await t.createExclusive(probePath, FILE_MODE, true);
    created = true;
    throwIfAborted(signal);
    await file.write(Buffer.from('erpc connection test\n', 'utf8'));
    await file.sync();
    const closing = file;
    file = undefined;
    await closing.close();
    throwIfAborted(signal);
    await t.unlink(probePath);
    created = false;
    if ((await t.lstat(probePath)) !== null) {
      throw Object.assign(new Error('probe file still present after unlink'), { code: 'EIO' });
    }
    await t.syncDirectory(root);
  } catch (err) {
    throw fsError(err, created ? 'write' : 'temp');
  } finally {
    if (file) await file.close().catch(() => undefined);
    if (created) {
      await t.unlink(probePath).catch((err: unknown) => {
        if (errnoOf(err) !== 'ENOENT') throw err;
      }).catch(() => undefined);
    }
  }
}

/** The message for a failed test: the error's own message is already written for a person. */
export function failedTest(err: unknown, latencyMs: number): ConnectionTestResult {
  const message =
    typeof (err as { message?: unknown })?.message === 'string' && typeof (err as { code?: unknown })?.code === 'string' && String((err as { code: string }).code).startsWith('DROPZONE_')
      ? (err as { message: string }).message
      : `The drop folder could not be tested (${DROPZONE_ERRORS.IO_ERROR}).`;
  return { ok: false, latencyMs, message };
}
