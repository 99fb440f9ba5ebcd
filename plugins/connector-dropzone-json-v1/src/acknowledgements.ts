import { join } from 'node:path';
import { ConnectorError, type DeliveryStatus, type PushReceipt } from '@erpc/sdk';
import type { DropzoneConfig } from './config.js';
import { EXTERNAL_REF, deliveryStatusOf } from '@erpc/dropzone-format';
import { DROPZONE_ERRORS, errnoOf, fsError } from './errors.js';
import type { DropzoneTransport } from './transport.js';
import { throwIfAborted } from './abort.js';
import { resolveRoot } from './drop-folder.js';

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
    return await deliveryStatusOf(ref, { ack, err, file }, (suffix, maxBytes) => t.readCapped(`${finalPath}${suffix}`, maxBytes));
  } catch (e) {
    if (e instanceof ConnectorError) throw e;
    if (errnoOf(e) === 'ENOENT') return { state: 'pending', details: { filePresent: false } }; // marker vanished mid-read
    throw fsError(e, 'read');
  }
}
