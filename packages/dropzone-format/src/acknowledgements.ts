import type { DeliveryStatus } from '@erpc/sdk';

/** The most of an `.ack` file that is read (JSON with the ERP's document number). */
export const MAX_ACK_BYTES = 64 * 1024;
/** The most of an `.err` file that is read, and the longest reason reported. */
export const MAX_ERR_BYTES = 16 * 1024;
export const MAX_REASON_CHARS = 2000;

/** Keys an `.ack` JSON object may use for the ERP's document number, in order of preference. */
const DOCUMENT_NUMBER_KEYS = ['erpDocumentNumber', 'documentNumber', 'docNumber', 'number', 'id'];

/** What is known of an entry under a marker name (or the file itself), from lstat or a listing. */
export interface MarkerEntry {
  isFile: boolean;
  isSymbolicLink: boolean;
  mtimeMs: number;
}

/** Reads at most `maxBytes` of `<final name><suffix>`, never following a symlink. */
export type MarkerReader = (suffix: '.ack' | '.err', maxBytes: number) => Promise<{ bytes: Buffer; truncated: boolean }>;

/**
 * The delivery state of the file `ref` from what sits beside it: `<name>.ack` (imported) or
 * `<name>.err` (rejected). Only regular files count (a symlink or folder under a marker name is
 * ignored and reported); when both exist, the newer one decides (an ERP that rejected, then
 * imported after a fix, leaves both). Markers are read only up to a cap.
 */
export async function deliveryStatusOf(
  ref: string,
  entries: { ack: MarkerEntry | null; err: MarkerEntry | null; file: MarkerEntry | null },
  read: MarkerReader,
): Promise<DeliveryStatus> {
  const { ack, err, file } = entries;
  const useful = (i: MarkerEntry | null): i is MarkerEntry => i !== null && i.isFile && !i.isSymbolicLink;
  const ackOk = useful(ack);
  const errOk = useful(err);
  if (errOk && (!ackOk || err.mtimeMs > ack.mtimeMs)) {
    const { bytes, truncated } = await read('.err', MAX_ERR_BYTES);
    return {
      state: 'rejected',
      message: reasonText(bytes, truncated),
      details: { marker: `${ref}.err`, ...(ackOk ? { ackAlsoPresent: true } : {}) },
    };
  }
  if (ackOk) {
    const { bytes, truncated } = await read('.ack', MAX_ACK_BYTES);
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
}

/** The `.err` text as a person reads it: UTF-8, control characters removed, capped. */
export function reasonText(bytes: Buffer, truncated: boolean): string {
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

/** The `.ack` content as details: the ERP's document number when its JSON names one. */
export function ackDetails(bytes: Buffer, truncated: boolean): Record<string, unknown> {
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
