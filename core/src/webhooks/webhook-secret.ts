import { randomBytes } from 'node:crypto';
import type { ConfigBinding, ConfigCipher } from '../crypto/index.js';

/** The table marker of a signing secret in key-rotation reports. */
export const WEBHOOK_SECRET_TABLE = 'webhook_endpoint';

/** Random bytes of a signing secret (Standard Webhooks: 24 to 64). */
export const WEBHOOK_SECRET_BYTES = 32;
export const WEBHOOK_SECRET_PREFIX = 'whsec_';

/** How long the previous secret still signs after a rotation (unless expired by hand). */
export const PREVIOUS_SECRET_TTL_MS = 24 * 3_600_000;

/** A new signing secret: `whsec_` + base64 of 32 random bytes. */
export function generateWebhookSecret(): string {
  return WEBHOOK_SECRET_PREFIX + randomBytes(WEBHOOK_SECRET_BYTES).toString('base64');
}

/**
 * The associated-data binding of an endpoint's secrets: its organisation and
 * `webhook_endpoint:<id>` where a connection has its id, so a secret's ciphertext never
 * decrypts as a connection config (connection ids are bare uuids), nor on another row.
 */
export function webhookSecretBindingId(endpointId: string): string {
  return `${WEBHOOK_SECRET_TABLE}:${endpointId}`;
}

function binding(orgId: string, endpointId: string): ConfigBinding {
  return { orgId, connectionId: webhookSecretBindingId(endpointId) };
}

/** The secrets of one endpoint: the current one, and during a rotation the previous one. */
export interface WebhookSecrets {
  current: string;
  previous?: string;
}

/** Encrypts an endpoint's secrets with the connection-config cipher (same keyring and stored form). */
export function encryptSecrets(cipher: ConfigCipher, orgId: string, endpointId: string, secrets: WebhookSecrets): { blob: Buffer; keyId: string } {
  return cipher.encrypt({ ...secrets }, binding(orgId, endpointId));
}

/** Decrypts them; throws ConfigDecryptError (never quoting bytes) when they do not decrypt. */
export function decryptSecrets(cipher: ConfigCipher, orgId: string, endpointId: string, blob: Uint8Array, keyId: string): WebhookSecrets {
  const value = cipher.decrypt(blob, { ...binding(orgId, endpointId), keyId });
  const current = value.current;
  if (typeof current !== 'string') throw new TypeError('stored webhook secret has no current secret');
  return typeof value.previous === 'string' ? { current, previous: value.previous } : { current };
}
