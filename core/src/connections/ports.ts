/**
 * What the connection, organisation and API-key services need of storage. The storage module's
 * repositories implement these (container.ts binds them); keeping the shapes here keeps the
 * services independent of SQL.
 */

export interface ConnectionRow {
  id: string;
  orgId: string;
  connectorType: string;
  name: string;
  status: 'ACTIVE' | 'DISABLED';
  configEncrypted: Uint8Array;
  configKeyId: string;
  createdAt: Date;
  updatedAt: Date;
  lastTestAt: Date | null;
  lastTestOk: boolean | null;
  lastTestLatencyMs: number | null;
  lastTestMessage: string | null;
}

export interface ConnectionStore {
  /** Inserts; with `activate`, in one transaction with disabling the org's current ACTIVE row. */
  create(input: {
    id: string;
    orgId: string;
    connectorType: string;
    name: string;
    configEncrypted: Uint8Array;
    configKeyId: string;
    activate: boolean;
    now: Date;
  }): Promise<ConnectionRow>;
  findById(orgId: string, id: string): Promise<ConnectionRow | undefined>;
  /** Oldest first, by (created_at, id), strictly after `after`. */
  listByOrg(orgId: string, options: { limit: number; after?: { createdAt: Date; id: string } | undefined }): Promise<ConnectionRow[]>;
  update(
    orgId: string,
    id: string,
    patch: { name?: string | undefined; configEncrypted?: Uint8Array; configKeyId?: string; now: Date },
  ): Promise<ConnectionRow | undefined>;
  /** One transaction: the org's ACTIVE row becomes DISABLED, this one ACTIVE. 23505 on a race. */
  activate(orgId: string, id: string, now: Date): Promise<ConnectionRow | undefined>;
  disable(orgId: string, id: string, now: Date): Promise<ConnectionRow | undefined>;
  recordTest(orgId: string, id: string, outcome: { at: Date; ok: boolean; latencyMs: number; message: string | null }): Promise<void>;
}

export interface OrganizationRow {
  id: string;
  name: string;
  createdAt: Date;
}

export interface OrganizationStore {
  create(input: { id: string; name: string; now: Date }): Promise<OrganizationRow>;
  /** The organisation and its first API key, atomically. */
  createWithApiKey(input: { id: string; name: string; now: Date; key: { id: string; secretHash: Uint8Array } }): Promise<OrganizationRow>;
  findById(id: string): Promise<OrganizationRow | undefined>;
  list(): Promise<OrganizationRow[]>;
  count(): Promise<number>;
}

export interface ApiKeyRow {
  id: string;
  orgId: string;
  secretHash: Uint8Array;
  createdAt: Date;
  revokedAt: Date | null;
}

export interface ApiKeyStore {
  create(input: { id: string; orgId: string; secretHash: Uint8Array; now: Date }): Promise<void>;
  findById(id: string): Promise<ApiKeyRow | undefined>;
  /** False when no key has this id. */
  revoke(id: string, now: Date): Promise<boolean>;
  listByOrg(orgId: string): Promise<ApiKeyRow[]>;
}
