import type { Knex } from 'knex';

/**
 * Issue M (ADR 0045): the push table's two foreign keys are kept by triggers on the parent tables
 * instead of a check per inserted push.
 *
 * A foreign key runs PostgreSQL's referential-integrity trigger for every inserted row: a lookup
 * of the parent row `FOR KEY SHARE`, per key. With two keys (organisation, connection) that was
 * about a third of PostgreSQL's CPU per accepted push in a batch accept (22–27 µs per push with
 * them, 14–21 µs without, on this machine). The accept statement itself takes both values from
 * the connection row it reads (`org_id`, `id` of the ACTIVE connection), so the check on insert
 * proves nothing the statement did not already read; what the keys still guarded is the parents'
 * side, kept here:
 * - deleting an organisation deletes its pushes (was ON DELETE CASCADE): a BEFORE DELETE trigger
 *   on `organization`, which runs before the cascade that deletes the organisation's connections;
 * - deleting a connection that pushes still name is refused with SQLSTATE 23503 (was NO ACTION).
 * erpc itself deletes neither (connections are deactivated, not deleted); these keep the record
 * whole against a hand-written DELETE. Primary keys are never updated.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE push DROP CONSTRAINT IF EXISTS push_org_id_fkey');
  await knex.raw('ALTER TABLE push DROP CONSTRAINT IF EXISTS push_connection_id_fkey');
  await knex.raw(`
    CREATE FUNCTION erpc_organization_delete_pushes() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      DELETE FROM push WHERE org_id = OLD.id;
      RETURN OLD;
    END $$`);
  await knex.raw(`
    CREATE TRIGGER organization_delete_pushes BEFORE DELETE ON organization
      FOR EACH ROW EXECUTE FUNCTION erpc_organization_delete_pushes()`);
  await knex.raw(`
    CREATE FUNCTION erpc_connection_delete_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF EXISTS (SELECT 1 FROM push WHERE connection_id = OLD.id) THEN
        RAISE EXCEPTION 'connection % is still named by pushes: they are its delivery record', OLD.id
          USING ERRCODE = 'foreign_key_violation';
      END IF;
      RETURN OLD;
    END $$`);
  await knex.raw(`
    CREATE TRIGGER erp_connection_delete_guard BEFORE DELETE ON erp_connection
      FOR EACH ROW EXECUTE FUNCTION erpc_connection_delete_guard()`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TRIGGER IF EXISTS erp_connection_delete_guard ON erp_connection');
  await knex.raw('DROP FUNCTION IF EXISTS erpc_connection_delete_guard()');
  await knex.raw('DROP TRIGGER IF EXISTS organization_delete_pushes ON organization');
  await knex.raw('DROP FUNCTION IF EXISTS erpc_organization_delete_pushes()');
  await knex.raw('ALTER TABLE push ADD CONSTRAINT push_org_id_fkey FOREIGN KEY (org_id) REFERENCES organization (id) ON DELETE CASCADE');
  await knex.raw('ALTER TABLE push ADD CONSTRAINT push_connection_id_fkey FOREIGN KEY (connection_id) REFERENCES erp_connection (id)');
}
