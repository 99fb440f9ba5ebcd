import { posix } from 'node:path';
import type { DeliveryStatus, PushReceipt } from '@erpc/sdk';
import { EXTERNAL_REF, deliveryStatusOf } from '@erpc/dropzone-format';
import type { SftpDropzoneConfig } from './config.js';
import { SFTP_ERRORS, SFTP_STATUS, connectorError, sftpError, statusOf } from './errors.js';
import { raceAbort, type Session } from './session.js';
import type { RemoteEntry, SftpChannel } from './ssh.js';
import { checkRoot, rootOf } from './drop-folder.js';

type Listing = Map<string, RemoteEntry>;

interface FolderState {
  /** The listing that has not started yet: callers that arrive before it starts share it. */
  next: Promise<Listing> | undefined;
}

/**
 * Folder listings shared by the delivery checks that arrive together. The host checks a batch
 * of pushes at once (one checkDelivery call each); every call for the same folder of the same
 * session that arrives before the folder's next listing starts (it starts on the next turn of
 * the event loop) gets that one listing, so a batch costs one READDIR per folder instead of
 * three LSTATs per push. A listing always starts after the call that uses it, so it sees every
 * marker written before the check was asked for.
 */
export class FolderListings {
  readonly #folders = new Map<string, FolderState>();

  list(key: string, run: () => Promise<Listing>): Promise<Listing> {
    let state = this.#folders.get(key);
    if (state?.next) return state.next;
    state = { next: undefined };
    this.#folders.set(key, state);
    const folder = state;
    folder.next = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      // From here on, new callers wait for the listing after this one.
      folder.next = undefined;
      if (this.#folders.get(key) === folder) this.#folders.delete(key);
      return run();
    });
    return folder.next;
  }
}

/**
 * Looks for `<final name>.ack` (imported) and `<final name>.err` (rejected) beside the file a
 * push returned, from one listing of its folder shared with the other checks of the batch; only
 * a marker that is there is opened, and read up to a cap. Symlinks and folders under a marker
 * name are ignored (the listing reports lstat attributes, so they are never followed).
 */
export async function checkDelivery(
  session: Session,
  listings: FolderListings,
  config: SftpDropzoneConfig,
  receipt: PushReceipt,
  signal: AbortSignal,
): Promise<DeliveryStatus> {
  if (!config.acknowledgements.enabled) {
    throw connectorError(
      SFTP_ERRORS.ACKS_DISABLED,
      'Acknowledgements are disabled for this connection: set acknowledgements.enabled to true if the ERP writes .ack/.err files.',
      false,
    );
  }
  const ref = typeof receipt?.externalRef === 'string' ? receipt.externalRef : '';
  const match = EXTERNAL_REF.exec(ref);
  if (!match) throw connectorError(SFTP_ERRORS.RECEIPT_INVALID, 'The receipt\'s externalRef is not a file name this connector produced.', false);
  const root = rootOf(config);
  const name = match[2]!;
  const dir = match[1] ? posix.join(root, match[1]) : root;

  let listing: Listing;
  try {
    // Shared by every check of the batch, so it runs to its end whoever aborts; each caller
    // stops waiting on its own signal.
    const shared = new AbortController().signal;
    const run = listings.list(`${config.sessionKey}\u0000${dir}`, () =>
      session.withChannel(shared, async (ch) => {
        await checkRoot(ch, session, root, shared);
        try {
          return await ch.list(dir);
        } catch (err) {
          // A type folder that does not exist yet holds no file and no marker.
          if (statusOf(err) === SFTP_STATUS.NO_SUCH_FILE && dir !== root) return new Map();
          throw err;
        }
      }),
    );
    listing = await raceAbort(run, signal);
  } catch (err) {
    throw sftpError(err, 'list');
  }
  const entries = { ack: listing.get(`${name}.ack`) ?? null, err: listing.get(`${name}.err`) ?? null, file: listing.get(name) ?? null };
  try {
    return await deliveryStatusOf(ref, entries, (suffix, maxBytes) =>
      session.withChannel(signal, (ch: SftpChannel) => ch.readCapped(posix.join(dir, `${name}${suffix}`), maxBytes)),
    );
  } catch (err) {
    if (statusOf(err) === SFTP_STATUS.NO_SUCH_FILE) return { state: 'pending', details: { filePresent: false } }; // marker vanished mid-read
    throw sftpError(err, 'read');
  }
}
