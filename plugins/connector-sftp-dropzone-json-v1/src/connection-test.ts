import { posix } from 'node:path';
import type { ConnectionTestResult } from '@erpc/sdk';
import { probeFileName } from '@erpc/dropzone-format';
import type { SftpDropzoneConfig } from './config.js';
import { SFTP_ERRORS, sftpError, throwIfAborted } from './errors.js';
import { Session } from './session.js';
import { checkRoot, rootOf } from './drop-folder.js';
import { FILE_MODE } from './push.js';

/**
 * Connects afresh (never a pooled connection: the point is to prove that connecting, the host
 * key and the credentials work now), checks remotePath, creates a hidden probe file there with
 * the push's flags, writes, flushes, closes and deletes it, and checks it is gone. Throws
 * ConnectorErrors; the connector turns them into `ok: false`.
 */
export async function probeServer(config: SftpDropzoneConfig, signal: AbortSignal): Promise<void> {
  const session = new Session(config, 0, () => undefined);
  try {
    await session.withChannel(signal, async (ch) => {
      const root = rootOf(config);
      await checkRoot(ch, session, root, signal);
      const probePath = posix.join(root, probeFileName());
      let handle: Buffer | undefined;
      let created = false;
      try {
        handle = await ch.createExclusive(probePath, FILE_MODE);
        created = true;
        throwIfAborted(signal);
        await ch.write(handle, Buffer.from('erpc connection test\n', 'utf8'));
        if (ch.canFsync) await ch.fsync(handle);
        const closing = handle;
        handle = undefined;
        await ch.close(closing);
        await ch.unlink(probePath);
        created = false;
        if ((await ch.lstat(probePath)) !== null) throw Object.assign(new Error('probe file still present after removal'), { code: 4 });
      } catch (err) {
        throw sftpError(err, created ? 'write' : 'temp');
      } finally {
        if (handle) await ch.close(handle).catch(() => undefined);
        if (created) await ch.unlink(probePath).catch(() => undefined);
      }
    });
  } finally {
    void session.close().catch(() => undefined);
  }
}

/** The message for a failed test: the connector's own messages are written for a person. */
export function failedTest(err: unknown, latencyMs: number): ConnectionTestResult {
  const e = err as { message?: unknown; code?: unknown } | null;
  const message =
    typeof e?.message === 'string' && typeof e?.code === 'string' && e.code.startsWith('SFTP_DROPZONE_')
      ? e.message
      : `The SFTP server could not be tested (${SFTP_ERRORS.IO_ERROR}).`;
  return { ok: false, latencyMs, message };
}
