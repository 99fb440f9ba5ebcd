import { hash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * API keys look like `erpc_<keyId>_<secret>`: `keyId` is 16 lowercase hex characters (the row's
 * id, used for the lookup), `secret` is 32 random bytes in base64url (256 bits). Only SHA-256 of
 * the secret is stored: with 256 random bits a slow hash adds nothing (see docs/adr).
 */
export const API_KEY_PREFIX = 'erpc';
const KEY_ID_PATTERN = /^[0-9a-f]{16}$/;
const SECRET_PATTERN = /^[A-Za-z0-9_-]{43}$/;
const SECRET_BYTES = 32;

/** A freshly generated API key. `apiKey` is shown once and never stored. */
export interface GeneratedApiKey {
  readonly id: string;
  readonly apiKey: string;
  /** SHA-256 of the secret part: what the database keeps. */
  readonly secretHash: Buffer;
}

/** Generates a key id, a 256-bit secret and the full key string. */
export function generateApiKey(): GeneratedApiKey {
  const id = randomBytes(8).toString('hex');
  const secret = randomBytes(SECRET_BYTES).toString('base64url');
  return { id, apiKey: `${API_KEY_PREFIX}_${id}_${secret}`, secretHash: hashApiKeySecret(secret) };
}

/** Splits a presented key into its id and secret; undefined when it is not shaped like one. */
export function parseApiKey(presented: string): { id: string; secret: string } | undefined {
  const prefix = `${API_KEY_PREFIX}_`;
  if (!presented.startsWith(prefix)) return undefined;
  const rest = presented.slice(prefix.length);
  const sep = rest.indexOf('_');
  if (sep < 0) return undefined;
  // The secret may itself contain '_' (base64url), the id never does.
  const id = rest.slice(0, sep);
  const secret = rest.slice(sep + 1);
  if (!KEY_ID_PATTERN.test(id) || !SECRET_PATTERN.test(secret)) return undefined;
  return { id, secret };
}

/** SHA-256 of an API key's secret part. */
export function hashApiKeySecret(secret: string): Buffer {
  return hash('sha256', secret, 'buffer');
}

/** Compares the hash of a presented secret with a stored hash in constant time. */
export function apiKeyHashMatches(presentedHash: Uint8Array, storedHash: Uint8Array): boolean {
  const presented = Buffer.from(presentedHash.buffer, presentedHash.byteOffset, presentedHash.byteLength);
  const stored = Buffer.from(storedHash.buffer, storedHash.byteOffset, storedHash.byteLength);
  return stored.length === presented.length && timingSafeEqual(presented, stored);
}
