import type { Knex } from 'knex';

/**
 * Each running worker's heartbeat (`erpc workers list`): who it is, since when, when it was last
 * seen and how many deliveries it holds. `interval_ms` is the worker's own heartbeat interval,
 * so "stale" (3 intervals without a heartbeat) is judged by the worker's setting, not the
 * reader's. A worker deletes its row when it stops; a killed one leaves it behind, stale.
 * Also `push.request_id`: the id of the HTTP request that accepted a push, so the worker's log
 * lines about it name the request (NULL for pushes accepted outside a request).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE worker_heartbeat (
      id text PRIMARY KEY,
      host text NOT NULL,
      pid integer NOT NULL,
      started_at timestamptz NOT NULL,
      last_seen_at timestamptz NOT NULL,
      in_flight integer NOT NULL DEFAULT 0,
      interval_ms integer NOT NULL CHECK (interval_ms > 0)
    )`);
  await knex.raw('ALTER TABLE push ADD COLUMN request_id text');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE push DROP COLUMN IF EXISTS request_id');
  await knex.raw('DROP TABLE IF EXISTS worker_heartbeat');
}
