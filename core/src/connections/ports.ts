/**
 * What the connection services need of storage. The storage module's repositories implement
 * these (container.ts binds them); row types live with their repository.
 */
import type { ConnectionRow, ImportedConnection } from '../storage/repositories/connection-repository.js';
import type { PageOptions } from '../storage/repositories/rows.js';

export type { ConnectionRow, ImportedConnection };

/** The connections of one organisation, as ConnectionService reads and writes them. */
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
  /** Oldest first, by (created_at, id), strictly after `page.after`. */
  listByOrg(orgId: string, page: PageOptions): Promise<ConnectionRow[]>;
  update(
    orgId: string,
    id: string,
    patch: { name?: string | undefined; configEncrypted?: Uint8Array; configKeyId?: string; now: Date },
  ): Promise<ConnectionRow | undefined>;
  /** One transaction: the org's ACTIVE row becomes DISABLED, this one ACTIVE. 23505 on a race. */
  activate(orgId: string, id: string, now: Date): Promise<ConnectionRow | undefined>;
  disable(orgId: string, id: string, now: Date): Promise<ConnectionRow | undefined>;
  recordTest(orgId: string, id: string, outcome: { at: Date; ok: boolean; latencyMs: number; message: string | null }): Promise<unknown>;
}

/** The statements of one import, run in its one transaction. */
export interface ConnectionImportTx {
  readonly connections: {
    /** Connection ids imported before from these fingerprints, keyed `${orgId} ${source}`. */
    importedSources(sources: readonly string[]): Promise<Map<string, string>>;
    /** The ACTIVE connections of these organisations. */
    activeOfOrgs(orgIds: readonly string[]): Promise<{ id: string; orgId: string }[]>;
    insertImported(rows: readonly ImportedConnection[], onChunk?: (done: number) => void): Promise<void>;
  };
  readonly organizations: {
    /** Creates the organisations that do not exist yet (with these ids); returns how many. */
    createMissing(ids: readonly string[]): Promise<number>;
  };
}

export interface ConnectionImportStore {
  transaction<T>(fn: (tx: ConnectionImportTx) => Promise<T>): Promise<T>;
}
