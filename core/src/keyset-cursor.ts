import { ErpcError } from './errors/index.js';
import { isUuid } from './uuid.js';

/** A keyset position: the last row of the previous page, by (created_at, id). */
export interface KeysetPosition {
  createdAt: Date;
  id: string;
}

/**
 * The one cursor of every listing: opaque to clients, base64url of `[createdAtISO, id]`. It
 * carries no secret and is not signed: a forged cursor can only skip rows of the caller's own
 * organisation, since every query is scoped to it.
 */
export function encodeCursor(position: KeysetPosition): string {
  return Buffer.from(JSON.stringify([position.createdAt.toISOString(), position.id]), 'utf8').toString('base64url');
}

/** Parses a cursor from {@link encodeCursor}; anything else is ERPC_ERR_CURSOR_INVALID (400). */
export function decodeCursor(cursor: string): KeysetPosition {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && typeof value[1] === 'string') {
      const createdAt = new Date(value[0]);
      if (!Number.isNaN(createdAt.getTime()) && isUuid(value[1])) return { createdAt, id: value[1] };
    }
  } catch {
    // fall through
  }
  throw new ErpcError('ERPC_ERR_CURSOR_INVALID');
}
