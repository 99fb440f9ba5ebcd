import type { Knex } from 'knex';

/**
 * `erpc connections import` remembers where each imported connection came from: the SHA-256 of
 * the exported row's connector type and ciphertext (ADR 0022). Re-running an import recognises
 * the rows it imported before (even after `keys rotate` rewrote their ciphertext) and skips them;
 * the unique index makes that hold under concurrent imports too.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE erp_connection ADD COLUMN import_source_sha256 text');
  await knex.raw(
    'CREATE UNIQUE INDEX erp_connection_import_source_idx ON erp_connection (org_id, import_source_sha256) WHERE import_source_sha256 IS NOT NULL',
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS erp_connection_import_source_idx');
  await knex.raw('ALTER TABLE erp_connection DROP COLUMN IF EXISTS import_source_sha256');
}
