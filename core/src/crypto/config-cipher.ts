import { createCipheriv, createDecipheriv, randomBytes, type KeyObject } from 'node:crypto';
import { ErpcError } from '../errors/index.js';
import { KEY_ID_BYTES, Keyring, keyMaterial } from './keyring.js';

/** The row marker (`erp_connection.config_key_id`) of a config stored in the original Python format. */
export const LEGACY_KEY_ID = 'legacy';
/** Version byte of the current stored form. */
export const FORMAT_VERSION = 0x01;
/** Purpose label in the associated data: a ciphertext made for something else never decrypts as a connection config. */
export const CONFIG_PURPOSE = 'erp_connection.config';

const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + KEY_ID_BYTES;
const KEY_ID_PATTERN = /^[0-9a-f]{16}$/;

/** Why a stored config did not decrypt. */
export type ConfigDecryptErrorCode = 'BAD_FORMAT' | 'UNKNOWN_KEY' | 'AUTH_FAILED';

/**
 * A stored config that does not decrypt. The message names the connection and the reason, never
 * plaintext, ciphertext or key. The API answers it with {@link ConfigDecryptError.toErpcError}.
 */
export class ConfigDecryptError extends Error {
  readonly code: ConfigDecryptErrorCode;
  readonly connectionId: string | undefined;

  constructor(code: ConfigDecryptErrorCode, reason: string, connectionId?: string) {
    super(`The stored config${connectionId === undefined ? '' : ` of connection ${connectionId}`} does not decrypt (${code}): ${reason}`);
    this.name = 'ConfigDecryptError';
    this.code = code;
    this.connectionId = connectionId;
  }

  /** ERPC_ERR_CONFIG_DECRYPT_FAILED (HTTP 500, message exactly "Configuration error"), with this error as cause. */
  toErpcError(): ErpcError {
    return new ErpcError('ERPC_ERR_CONFIG_DECRYPT_FAILED', {}, { cause: this });
  }
}

/** True for a {@link ConfigDecryptError}, also across module copies. */
export function isConfigDecryptError(err: unknown): err is ConfigDecryptError {
  return err instanceof ConfigDecryptError || (err instanceof Error && err.name === 'ConfigDecryptError' && typeof (err as { code?: unknown }).code === 'string');
}

/** The row a config belongs to; bound into the associated data. */
export interface ConfigBinding {
  orgId: string;
  connectionId: string;
}

/** A stored config as its row holds it: the blob's key id, or {@link LEGACY_KEY_ID}. */
export interface StoredConfigRef extends ConfigBinding {
  keyId: string;
}

/** What `encrypt` returns: store both in the row. */
export interface EncryptedConfig {
  blob: Buffer;
  keyId: string;
}

type ConfigObject = Record<string, unknown>;

const PURPOSE_BYTES = Buffer.from(CONFIG_PURPOSE, 'utf8');

/**
 * header ‖ len‖purpose ‖ len‖orgId ‖ len‖connectionId, lengths uint32 BE: length prefixes make
 * every (orgId, connectionId) pair encode differently. Built in one allocation (hot in rotation).
 */
function associatedData(header: Buffer, binding: ConfigBinding): Buffer {
  const org = Buffer.byteLength(binding.orgId, 'utf8');
  const conn = Buffer.byteLength(binding.connectionId, 'utf8');
  const out = Buffer.allocUnsafe(header.length + 12 + PURPOSE_BYTES.length + org + conn);
  let at = header.copy(out, 0);
  at = out.writeUInt32BE(PURPOSE_BYTES.length, at);
  at += PURPOSE_BYTES.copy(out, at);
  at = out.writeUInt32BE(org, at);
  at += out.write(binding.orgId, at, 'utf8');
  at = out.writeUInt32BE(conn, at);
  out.write(binding.connectionId, at, 'utf8');
  return out;
}

function checkBinding(binding: ConfigBinding): void {
  if (typeof binding?.orgId !== 'string' || binding.orgId === '' || typeof binding.connectionId !== 'string' || binding.connectionId === '') {
    throw new TypeError('ConfigCipher needs a non-empty orgId and connectionId to bind the config to its row');
  }
}

function asBuffer(blob: Uint8Array): Buffer {
  // PGlite returns bytea as Uint8Array, pg as Buffer; view without copying.
  return Buffer.isBuffer(blob) ? blob : Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Parses authenticated plaintext; anything but a JSON object is BAD_FORMAT (and the text is never quoted). */
function parseConfig(plaintext: Buffer, connectionId?: string): ConfigObject {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(plaintext));
  } catch {
    throw new ConfigDecryptError('BAD_FORMAT', 'the decrypted config is not valid UTF-8 JSON', connectionId);
  } finally {
    plaintext.fill(0);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigDecryptError('BAD_FORMAT', 'the decrypted config is not a JSON object', connectionId);
  }
  return value as ConfigObject;
}

/** AES-256-GCM open; returns the plaintext only after final() has verified the tag, else undefined. */
function open(key: KeyObject, iv: Buffer, ciphertext: Buffer, tag: Buffer, aad: Buffer | undefined): Buffer | undefined {
  const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  if (aad !== undefined) decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  const head = decipher.update(ciphertext);
  try {
    const tail = decipher.final();
    return Buffer.concat([head, tail]);
  } catch {
    head.fill(0);
    return undefined;
  }
}

/**
 * Encrypts connection configs for storage and decrypts them back.
 *
 * Stored form: `0x01 ‖ keyId (8 bytes) ‖ IV (12) ‖ ciphertext ‖ tag (16)`, AES-256-GCM under the
 * active key, associated data = header ‖ len‖"erp_connection.config" ‖ len‖orgId ‖ len‖connectionId.
 * See docs/adr (config encryption format).
 */
export class ConfigCipher {
  constructor(private readonly keyring: Keyring) {}

  /** Encrypts a config (a JSON object) under the active key, bound to its row. */
  encrypt(config: ConfigObject, binding: ConfigBinding): EncryptedConfig {
    checkBinding(binding);
    if (typeof config !== 'object' || config === null || Array.isArray(config)) {
      throw new TypeError('ConfigCipher.encrypt expects a config object');
    }
    const keyId = this.keyring.activeKeyId;
    const key = keyMaterial(this.keyring, keyId)!;
    const header = Buffer.alloc(HEADER_BYTES);
    header[0] = FORMAT_VERSION;
    header.write(keyId, 1, 'hex');
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(associatedData(header, binding));
    const plaintext = Buffer.from(JSON.stringify(config), 'utf8');
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    plaintext.fill(0);
    return { blob: Buffer.concat([header, iv, ciphertext, cipher.getAuthTag()]), keyId };
  }

  /**
   * Decrypts a row's config. `keyId` is what the row holds: a key id, or {@link LEGACY_KEY_ID} for
   * the original Python format. The format is never guessed from the bytes.
   * @throws ConfigDecryptError BAD_FORMAT | UNKNOWN_KEY | AUTH_FAILED
   */
  decrypt(blob: Uint8Array, ref: StoredConfigRef): ConfigObject {
    checkBinding(ref);
    if (ref.keyId === LEGACY_KEY_ID) return this.decryptLegacy(blob, ref.connectionId);
    const data = asBuffer(blob);
    const { connectionId } = ref;
    if (data.length < HEADER_BYTES + IV_BYTES + TAG_BYTES) {
      throw new ConfigDecryptError('BAD_FORMAT', `the blob is ${data.length} bytes, shorter than the smallest valid one`, connectionId);
    }
    if (data[0] !== FORMAT_VERSION) {
      throw new ConfigDecryptError('BAD_FORMAT', `unknown format version ${data[0]}`, connectionId);
    }
    const key = keyMaterial(this.keyring, ref.keyId);
    if (key === undefined) {
      const shown = KEY_ID_PATTERN.test(ref.keyId) ? ref.keyId : 'that is not a key id';
      throw new ConfigDecryptError('UNKNOWN_KEY', `the row's key id (${shown}) is not loaded; add that key to ENCRYPTION_PREVIOUS_KEYS`, connectionId);
    }
    const header = data.subarray(0, HEADER_BYTES);
    if (header.subarray(1).toString('hex') !== ref.keyId) {
      throw new ConfigDecryptError('BAD_FORMAT', "the blob's key id differs from the row's key id", connectionId);
    }
    const iv = data.subarray(HEADER_BYTES, HEADER_BYTES + IV_BYTES);
    const ciphertext = data.subarray(HEADER_BYTES + IV_BYTES, data.length - TAG_BYTES);
    const tag = data.subarray(data.length - TAG_BYTES);
    const plaintext = open(key, iv, ciphertext, tag, associatedData(header, ref));
    if (plaintext === undefined) {
      throw new ConfigDecryptError('AUTH_FAILED', 'authentication failed: the data was altered, copied from another row, or encrypted with another key', connectionId);
    }
    return parseConfig(plaintext, connectionId);
  }

  /**
   * Decrypts the original Python format `IV (12) ‖ ciphertext ‖ tag (16)` (no associated data),
   * trying the active key and then the previous keys; GCM authentication tells the right key.
   * @throws ConfigDecryptError BAD_FORMAT | AUTH_FAILED
   */
  decryptLegacy(blob: Uint8Array, connectionId?: string): ConfigObject {
    const data = asBuffer(blob);
    if (data.length < IV_BYTES + TAG_BYTES) {
      throw new ConfigDecryptError('BAD_FORMAT', `the legacy blob is ${data.length} bytes, shorter than IV and tag`, connectionId);
    }
    const iv = data.subarray(0, IV_BYTES);
    const ciphertext = data.subarray(IV_BYTES, data.length - TAG_BYTES);
    const tag = data.subarray(data.length - TAG_BYTES);
    for (const keyId of this.keyring.keyIds) {
      const plaintext = open(keyMaterial(this.keyring, keyId)!, iv, ciphertext, tag, undefined);
      if (plaintext !== undefined) return parseConfig(plaintext, connectionId);
    }
    throw new ConfigDecryptError('AUTH_FAILED', 'no loaded key authenticates this legacy config: the data was altered or encrypted with a key that is not loaded', connectionId);
  }

  /** True when a row stored under `keyId` should be rewritten under the active key (legacy rows included). */
  needsRotation(keyId: string): boolean {
    return keyId !== this.keyring.activeKeyId;
  }

  /** Decrypts a row's config and encrypts it again under the active key with the same binding. */
  reencrypt(blob: Uint8Array, ref: StoredConfigRef): EncryptedConfig {
    return this.encrypt(this.decrypt(blob, ref), ref);
  }

  toJSON(): { keyring: Keyring } {
    return { keyring: this.keyring };
  }
}
