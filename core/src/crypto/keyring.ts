import { createHmac, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { inspect } from 'node:util';
import { ErpcError } from '../errors/index.js';

/** Key ids are derived from the key, so every process agrees on them without a key table. */
const KEY_ID_LABEL = 'erpc/key-id/v1';
/** Raw bytes of a key id (16 hex characters). */
export const KEY_ID_BYTES = 8;
const KEY_HEX = /^[0-9a-fA-F]{64}$/;

/** A fresh random key: 64 lowercase hex characters (32 bytes). */
export function generateKey(): string {
  return randomBytes(32).toString('hex');
}

/** The key id of a key given as 64 hex characters or 32 bytes: the first 8 bytes of HMAC-SHA256(key, "erpc/key-id/v1") in lowercase hex. */
export function keyIdOf(key: string | Uint8Array): string {
  const bytes = typeof key === 'string' ? parseKeyHex(key, 'key') : Buffer.from(key);
  if (bytes.length !== 32) throw new ErpcError('ERPC_ERR_KEY_INVALID', { source: 'key', reason: `it has ${bytes.length} bytes, expected 32` });
  return createHmac('sha256', bytes).update(KEY_ID_LABEL).digest().subarray(0, KEY_ID_BYTES).toString('hex');
}

/** Parses a key; errors name `source` (a variable and position), never the value. */
function parseKeyHex(value: string, source: string): Buffer {
  const key = value.trim();
  if (KEY_HEX.test(key)) return Buffer.from(key, 'hex');
  let reason: string;
  if (key.length === 0) reason = 'it is empty';
  else if (!/^[0-9a-fA-F]*$/.test(key)) {
    reason = /^[A-Za-z0-9+/]{43}=$/.test(key)
      ? 'it contains characters that are not hexadecimal (it looks like base64)'
      : 'it contains characters that are not hexadecimal';
  } else reason = `it has ${key.length} characters, expected 64`;
  return fail(source, reason);
}

function fail(source: string, reason: string): never {
  throw new ErpcError('ERPC_ERR_KEY_INVALID', { source, reason });
}

/** Key material, kept out of the Keyring object itself so nothing can enumerate, serialise or inspect it. */
const material = new WeakMap<Keyring, ReadonlyMap<string, KeyObject>>();

/**
 * The loaded encryption keys: one active key that encrypts, and previous keys that may only decrypt.
 * Exposes key ids only; `JSON.stringify` and `util.inspect` never print key bytes.
 */
export class Keyring {
  /** Id of the key that encrypts. */
  readonly activeKeyId: string;
  /** Ids of every loaded key, the active one first. */
  readonly keyIds: readonly string[];

  /** Builds a keyring from 64-hex-character keys; duplicates (also of the active key) are ignored. */
  constructor(activeKeyHex: string, previousKeysHex: readonly string[] = [], sources?: { active: string; previous: (index: number) => string }) {
    const keys = new Map<string, KeyObject>();
    const activeBytes = parseKeyHex(activeKeyHex, sources?.active ?? 'the active key');
    this.activeKeyId = keyIdOf(activeBytes);
    keys.set(this.activeKeyId, createSecretKey(activeBytes));
    previousKeysHex.forEach((hex, index) => {
      const bytes = parseKeyHex(hex, sources?.previous(index) ?? `previous key #${index + 1}`);
      const id = keyIdOf(bytes);
      if (!keys.has(id)) keys.set(id, createSecretKey(bytes));
    });
    activeBytes.fill(0);
    this.keyIds = Object.freeze([...keys.keys()]);
    material.set(this, keys);
    Object.freeze(this);
  }

  /** True when the key with this id is loaded. */
  has(keyId: string): boolean {
    return material.get(this)!.has(keyId);
  }

  /** Ids of the keys that may only decrypt. */
  get previousKeyIds(): readonly string[] {
    return this.keyIds.slice(1);
  }

  toJSON(): { activeKeyId: string; keyIds: readonly string[] } {
    return { activeKeyId: this.activeKeyId, keyIds: this.keyIds };
  }

  toString(): string {
    return `Keyring(active ${this.activeKeyId}, ${this.keyIds.length} key${this.keyIds.length === 1 ? '' : 's'})`;
  }

  [inspect.custom](): string {
    return `Keyring { activeKeyId: '${this.activeKeyId}', keyIds: [${this.keyIds.map((id) => `'${id}'`).join(', ')}] }`;
  }
}

/** Internal to core/src/crypto (not exported by the package): the key object for an id. */
export function keyMaterial(keyring: Keyring, keyId: string): KeyObject | undefined {
  return material.get(keyring)?.get(keyId);
}

/** Environment variables read by {@link keyringFromEnv}. */
export interface KeyEnv {
  ENCRYPTION_MASTER_KEY?: string | undefined;
  ENCRYPTION_PREVIOUS_KEYS?: string | undefined;
}

/**
 * Reads the keyring from `ENCRYPTION_MASTER_KEY` (encrypts) and `ENCRYPTION_PREVIOUS_KEYS`
 * (comma-separated, decrypt only). Call it at start-up, before any listener opens: a missing key
 * throws ERPC_ERR_KEY_MISSING, a malformed one ERPC_ERR_KEY_INVALID naming the variable and the
 * position, never the value. The embedded default uses {@link loadOrCreateLocalKey} first.
 */
export function keyringFromEnv(env: KeyEnv | NodeJS.ProcessEnv): Keyring {
  const master = env.ENCRYPTION_MASTER_KEY;
  if (master === undefined || master.trim() === '') throw new ErpcError('ERPC_ERR_KEY_MISSING');
  const rawPrevious = env.ENCRYPTION_PREVIOUS_KEYS ?? '';
  // Positions are 1-based over the comma-separated list as written; empty entries (a trailing comma) are skipped.
  const entries = rawPrevious.split(',').map((value, i) => ({ value: value.trim(), position: i + 1 }));
  const previous = rawPrevious.trim() === '' ? [] : entries.filter((e) => e.value !== '');
  return new Keyring(
    master,
    previous.map((e) => e.value),
    {
      active: 'ENCRYPTION_MASTER_KEY',
      previous: (index) => `ENCRYPTION_PREVIOUS_KEYS (entry ${previous[index]!.position} of ${entries.length})`,
    },
  );
}
