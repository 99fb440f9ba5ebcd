import { createHash, randomBytes } from 'node:crypto';
import { documentInvalid } from './document-invalid.js';

/** The longest final file name the connector builds. */
export const MAX_FILE_NAME = 200;

/** Document types follow the manifest's rule, so they are safe as names and folder names as they are. */
const DOCUMENT_TYPE = /^[a-z][a-z0-9_]{0,63}$/;

/** A final file name this connector could have built (used to vet receipts). */
export const FINAL_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,194}\.json$/;
/** A receipt's externalRef: an optional type folder, then a final name. */
export const EXTERNAL_REF = /^(?:([a-z][a-z0-9_]{0,63})\/)?([A-Za-z0-9_-][A-Za-z0-9._-]{0,194}\.json)$/;

export function assertDocumentType(documentType: unknown): asserts documentType is string {
  if (typeof documentType !== 'string' || !DOCUMENT_TYPE.test(documentType)) {
    throw documentInvalid('The document type must match ^[a-z][a-z0-9_]{0,63}$ (e.g. invoice, credit_note).');
  }
}

/** First 16 hex characters of SHA-256 of the idempotency key. */
export function keyHash(idempotencyKey: string): string {
  return createHash('sha256').update(idempotencyKey, 'utf8').digest('hex').slice(0, 16);
}

/**
 * `<prefix><documentType>_<documentId sanitised>_<keyHash>.json`. The document id is arbitrary
 * text: every character outside [A-Za-z0-9._-] (slashes, NUL, spaces, non-ASCII) becomes `_`
 * and it is cut so the whole name stays within {@link MAX_FILE_NAME}. Uniqueness comes from the
 * key hash, not from the id, so lossy sanitising cannot make two pushes collide. The name cannot
 * start with a dot: it starts with the prefix or the document type.
 */
export function finalFileName(prefix: string, documentType: string, documentId: string, idempotencyKey: string): string {
  const hash = keyHash(idempotencyKey);
  const fixed = prefix.length + documentType.length + 1 + 1 + hash.length + '.json'.length;
  const room = MAX_FILE_NAME - fixed;
  // Slice by code point before replacing so a cut never splits a surrogate pair into garbage.
  const id = Array.from(documentId).slice(0, room).join('').replace(/[^A-Za-z0-9._-]/g, '_').slice(0, room);
  return `${prefix}${documentType}_${id}_${hash}.json`;
}

/**
 * A hidden temp name beside the final one: leading dot (import jobs skip hidden files), a random
 * part (concurrent writers never share a temp), and `.tmp`, never `.json`.
 */
export function tempFileName(finalName: string): string {
  return `.${finalName.slice(0, -'.json'.length)}.${randomBytes(6).toString('hex')}.tmp`;
}

/** The hidden file testConnection writes and deletes. */
export function probeFileName(): string {
  return `.erpc-connection-test.${randomBytes(6).toString('hex')}.tmp`;
}

const TEMP_SUFFIX = /^[0-9a-f]{12}\.tmp$/;

/**
 * True when `name` has exactly the shape {@link tempFileName} makes for `finalName` (its stem,
 * 12 hex, `.tmp`): a temp of this idempotency key, possibly abandoned by a killed attempt. The
 * stem holds the key hash, so another key's temps never match.
 */
export function isTempFileOf(name: string, finalName: string): boolean {
  const stem = `.${finalName.slice(0, -'.json'.length)}.`;
  return name.startsWith(stem) && TEMP_SUFFIX.test(name.slice(stem.length));
}
