import { join } from 'node:path';
import { ConnectorError, type DeliveryStatus, type PushReceipt } from '@erpc/sdk';
import type { DropzoneConfig } from './config.js';
import { DROPZONE_ERRORS, errnoOf, fsError } from './errors.js';
import { EXTERNAL_REF } from './file-name.js';
import type { DropzoneTransport, EntryInfo } from './transport.js';
import { throwIfAborted } from './abort.js';
import { resolveRoot } from './drop-folder.js';

/** The most of an `.ack` file that is read (JSON with the ERP's document number). */
export const MAX_ACK_BYTES = 64 * 1024;
/** The most of an `.err` file that is read, and the longest reason reported. */
export const MAX_ERR_BYTES = 16 * 1024;
export const MAX_REASON_CHARS = 2000;

/** Keys an `.ack` JSON object may use for the ERP's document number, in order of preference. */
const DOCUMENT_NUMBER_KEYS = ['erpDocumentNumber', 'documentNumber', 'docNumber', 'number', 'id'];

/**
 * Looks for `<final name>.ack` (imported) and `<final name>.err` (rejected) beside the file a
 * push returned. Both are opened with O_NOFOLLOW and read only up to a cap, so a planted symlink
 * or a huge marker can neither leak another file nor exhaust memory. When both exist, the newer
 * one decides (an ERP that rejected, then imported after a fix, leaves both).
 */
export async function checkDelivery(
  t: DropzoneTransport,
  config: DropzoneConfig,
  receipt: PushReceipt,
  signal: AbortSignal,
): Promise<DeliveryStatus> {
  if (!config.acknowledgements.enabled) {
    throw new ConnectorError(
      DROPZONE_ERRORS.ACKS_DISABLED,
      'Acknowledgements are disabled for this connection: set acknowledgements.enabled to true if the ERP writes .ack/.err files.',
      { retryable: false },
    );
  }
  const ref = typeof receipt?.externalRef === 'string' ? receipt.externalRef : '';
  const match = EXTERNAL_REF.exec(ref);
  if (!match) {
    throw new ConnectorError(DROPZONE_ERRORS.RECEIPT_INVALID, 'The receipt\'s externalRef is not a file name this connector produced.', {
      retryable: false,
    });
  }
  const root = await resolveRoot(t, config, signal);
  const finalPath = join(root, ref);
  try {
    const [ack, err, file] = await Promise.all([
      t.lstat(`${finalPath}.ack`),
      t.lstat(`${finalPath}.err`),
      t.lstat(finalPath),
    ]);
    throwIfAborted(signal);
    const useful = (i: EntryInfo | null): i is EntryInfo => i !== null && i.isFile && !i.isSymbolicLink;
    const ackOk = useful(ack);
    const errOk = useful(err);
    if (errOk && (!ackOk || err.mtimeMs > ack.mtimeMs)) {
      const { bytes, truncated } = await t.readCapped(`${finalPath}.err`, MAX_ERR_BYTES);
      return {
        state: 'rejected',
        message: reasonText(bytes, truncated),
        details: { marker: `${ref}.err`, ...(ackOk ? { ackAlsoPresent: true } : {}) },
      };
    }
    if (ackOk) {
      const { bytes, truncated } = await t.readCapped(`${finalPath}.ack`, MAX_ACK_BYTES);
      return { state: 'acknowledged', details: { marker: `${ref}.ack`, ...ackDetails(bytes, truncated), ...(errOk ? { errAlsoPresent: true } : {}) } };
    }
    return {
      state: 'pending',
      details: {
        filePresent: file !== null,
        // A symlink or folder under a marker name is ignored, but say so: someone should look.
        ...(ack !== null || err !== null ? { ignoredMarker: true } : {}),
      },
    };
  } catch (e) {
    if (e instanceof ConnectorError) throw e;
    if (errnoOf(e) === 'ENOENT') return { state: 'pending', details: { filePresent: false } }; // marker vanished mid-read
    throw fsError(e, 'read');
  }
}

/** The `.err` text as a person reads it: UTF-8, control characters removed, capped. */
function reasonText(bytes: Buffer, truncated: boolean): string {
  // eslint-disable-next-line no-control-regex
  let text = new TextDecoder('utf-8', { fatal: false }).decode(bytes).replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, ' ').trim();
  let cut = truncated;
  if (text.length > MAX_REASON_CHARS) {
    text = text.slice(0, MAX_REASON_CHARS);
    cut = true;
  }
  if (text.length === 0) return 'The ERP rejected the file without giving a reason.';
  return cut ? `${text}…` : text;
}

function ackDetails(bytes: Buffer, truncated: boolean): Record<string, unknown> {
  if (truncated) return { ackTruncated: true };
  const text = bytes.toString('utf8').trim();
  if (text.length === 0) return {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      const obj = parsed as Record<string, unknown>;
      for (const key of DOCUMENT_NUMBER_KEYS) {
        const v = obj[key];
        if ((typeof v === 'string' && v.length > 0 && v.length <= 200) || (typeof v === 'number' && Number.isFinite(v))) {
          return { erpDocumentNumber: String(v), ack: obj };
        }
      }
      return { ack: obj };
    }
    return {};
  } catch {
    return { ackParseError: true };
  }
}
