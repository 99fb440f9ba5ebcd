/**
 * What key rotation and the key status need of storage: the connection table across every
 * organisation. The storage module's ConnectionRepository implements it (container.ts binds it).
 */
import type { ConfigRewrite, KeyIdCount, RotationFilter, StoredConfigRow } from '../storage/repositories/connection-repository.js';

export type { ConfigRewrite, KeyIdCount, RotationFilter, StoredConfigRow };

/** The statements one rotation batch runs inside its transaction. */
export interface RotationBatchStore {
  /** Locks and returns up to `limit` rotatable rows after `afterId` (FOR UPDATE SKIP LOCKED). */
  claimForRotation(filter: RotationFilter, afterId: string | null, limit: number): Promise<StoredConfigRow[]>;
  /** Writes the rewrites whose row still holds its expected key; returns the ids written. */
  rewriteConfigs(newKeyId: string, rewrites: readonly ConfigRewrite[]): Promise<string[]>;
}

export interface KeyStore {
  /** Rows per key id, legacy rows included, sorted by key id. */
  keyIdCounts(): Promise<KeyIdCount[]>;
  /** Rows a rotation with this filter could still take (locked or not). */
  countRotatable(filter: RotationFilter): Promise<number>;
  /** The dry run's walk: up to `limit` rotatable rows after `afterId`, without locking. */
  scanForRotation(filter: RotationFilter, afterId: string | null, limit: number): Promise<StoredConfigRow[]>;
  idsUnderKeys(keyIds: readonly string[]): Promise<{ id: string; keyId: string }[]>;
  firstLegacyRow(): Promise<StoredConfigRow | undefined>;
  /** Runs `fn` in one transaction. */
  transaction<T>(fn: (tx: RotationBatchStore) => Promise<T>): Promise<T>;
}
