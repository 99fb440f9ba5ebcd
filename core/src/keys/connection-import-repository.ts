import type { Knex } from 'knex';

/** A connection row to insert as imported. */
export interface ImportedConnection {
  id: string;
  orgId: string;
  connectorType: string;
  name: string;
  status: 'ACTIVE' | 'DISABLED';
  blob: Buffer;
  keyId: string;
  /** SHA-256 (hex) of the exported row's connector type and ciphertext: recognises a re-import. */
  source: string;
}

/** Rows per multi-row INSERT: far below PostgreSQL's 65,535 parameters, few round trips. */
const INSERT_CHUNK = 500;

/** The SQL of `erpc connections import`. Every method runs on the transaction it is given. */
export class ConnectionImportRepository {
  /** The ACTIVE connections of these organisations (id and org id only). */
  async activeConnections(trx: Knex.Transaction, orgIds: readonly string[]): Promise<{ id: string; orgId: string }[]> {
    if (orgIds.length === 0) return [];
    const rows = (await trx('erp_connection')
      .select('id', 'org_id')
      .where('status', 'ACTIVE')
      .whereIn('org_id', [...orgIds])
      .orderBy('org_id')) as { id: string; org_id: string }[];
    return rows.map((r) => ({ id: r.id, orgId: r.org_id }));
  }

  /** The connections imported before from these fingerprints, by `${orgId} ${source}` (ParsedRow.key). */
  async importedSources(trx: Knex.Transaction, sources: readonly string[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    const unique = [...new Set(sources)];
    for (let i = 0; i < unique.length; i += INSERT_CHUNK) {
      const rows = (await trx('erp_connection')
        .select('id', 'org_id', 'import_source_sha256')
        .whereIn('import_source_sha256', unique.slice(i, i + INSERT_CHUNK))) as { id: string; org_id: string; import_source_sha256: string }[];
      for (const r of rows) found.set(`${r.org_id} ${r.import_source_sha256}`, r.id);
    }
    return found;
  }

  /**
   * Creates the organisations that do not exist yet, keeping the ids of the original system.
   * Their name is a placeholder (`Imported <id>`), to be renamed. Returns how many were created.
   */
  async createMissingOrganizations(trx: Knex.Transaction, orgIds: readonly string[]): Promise<number> {
    let created = 0;
    for (let i = 0; i < orgIds.length; i += INSERT_CHUNK) {
      const chunk = orgIds.slice(i, i + INSERT_CHUNK);
      const now = new Date();
      const rows = await trx('organization')
        .insert(chunk.map((id) => ({ id, name: `Imported ${id}`, created_at: now, updated_at: now })))
        .onConflict('id')
        .ignore()
        .returning('id');
      created += rows.length;
    }
    return created;
  }

  /** Inserts the connections in chunks of multi-row INSERTs. */
  async insertConnections(trx: Knex.Transaction, rows: readonly ImportedConnection[], onChunk?: (done: number) => void): Promise<void> {
    for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
      const chunk = rows.slice(i, i + INSERT_CHUNK);
      const now = new Date();
      await trx('erp_connection').insert(
        chunk.map((r) => ({
          id: r.id,
          org_id: r.orgId,
          connector_type: r.connectorType,
          name: r.name,
          status: r.status,
          config_encrypted: r.blob,
          config_key_id: r.keyId,
          import_source_sha256: r.source,
          created_at: now,
          updated_at: now,
        })),
      );
      onChunk?.(Math.min(i + INSERT_CHUNK, rows.length));
    }
  }
}
