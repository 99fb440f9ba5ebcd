/**
 * What the organisation and API-key services need of storage. The storage module's repositories
 * implement these (container.ts binds them); row types live with their repository.
 */
import type { ApiKeyRow } from '../storage/repositories/api-key-repository.js';
import type { OrganizationRow } from '../storage/repositories/organization-repository.js';

export type { ApiKeyRow, OrganizationRow };

export interface OrganizationStore {
  create(input: { id: string; name: string; now: Date }): Promise<OrganizationRow>;
  /** The organisation and its first API key, atomically. */
  createWithApiKey(input: { id: string; name: string; now: Date; key: { id: string; secretHash: Uint8Array } }): Promise<OrganizationRow>;
  findById(id: string): Promise<OrganizationRow | undefined>;
  list(): Promise<OrganizationRow[]>;
  count(): Promise<number>;
}

export interface ApiKeyStore {
  create(input: { id: string; orgId: string; secretHash: Uint8Array; now: Date }): Promise<unknown>;
  findById(id: string): Promise<ApiKeyRow | undefined>;
  /** False when no key has this id. */
  revoke(id: string, now: Date): Promise<boolean>;
  listByOrg(orgId: string): Promise<ApiKeyRow[]>;
}
