import type { Knex } from 'knex';

/**
 * Issue I. `payload_text`: the payload as the exact JSON text it was accepted with (ADR 0027):
 * jsonb normalises numbers (`1e400` becomes 401 digits, `-0` becomes `0`) and the drivers parse
 * it with JSON.parse (a 30-digit integer loses digits), so new pushes keep their text here and
 * leave `payload` NULL. Rows accepted before keep their jsonb `payload` and read as before.
 * `last_failure_*`: the most recent failed attempt, kept after delivery clears `last_error_*`
 * (there is no attempt history table).
 * `push_dead_org_idx`: bulk retry of one organisation's dead letters (POST /v1/pushes/retry).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE push ALTER COLUMN payload DROP NOT NULL');
  await knex.raw('ALTER TABLE push ADD COLUMN payload_text text');
  await knex.raw('ALTER TABLE push ADD COLUMN last_failure_code text');
  await knex.raw('ALTER TABLE push ADD COLUMN last_failure_message text');
  await knex.raw('ALTER TABLE push ADD COLUMN last_failure_at timestamptz');
  // Existing rows: a failure recorded so far is also the last failure.
  await knex.raw('UPDATE push SET last_failure_code = last_error_code, last_failure_message = last_error_message, last_failure_at = updated_at WHERE last_error_code IS NOT NULL');
  await knex.raw(`ALTER TABLE push ADD CONSTRAINT push_payload_present CHECK (payload IS NOT NULL OR payload_text IS NOT NULL)`);
  await knex.raw(`CREATE INDEX push_dead_org_idx ON push (org_id, dead_at, id) WHERE status = 'DEAD'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS push_dead_org_idx');
  await knex.raw('ALTER TABLE push DROP CONSTRAINT IF EXISTS push_payload_present');
  await knex.raw(`UPDATE push SET payload = payload_text::jsonb WHERE payload IS NULL`);
  await knex.raw('ALTER TABLE push ALTER COLUMN payload SET NOT NULL');
  for (const column of ['payload_text', 'last_failure_code', 'last_failure_message', 'last_failure_at']) {
    await knex.raw(`ALTER TABLE push DROP COLUMN IF EXISTS ${column}`);
  }
}
