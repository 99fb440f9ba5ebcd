import type { Knex } from 'knex';

/**
 * Signed delivery webhooks (issue L, ADR 0035): the endpoints of each organisation, the event
 * outbox written in the transaction of the outcome that causes an event, and one delivery row
 * per (event, endpoint), claimed by workers like pushes (SKIP LOCKED, leases).
 *
 * - `webhook_endpoint.secret_encrypted` holds the signing secret(s), encrypted like connection
 *   configs (same keyring and stored form; the associated data binds it to its row under a
 *   purpose of its own), rewritten by `erpc keys rotate`.
 * - `webhook_event.seq` orders the events of one push; a delivery is claimed only when no
 *   earlier delivery of the same push to the same endpoint is still PENDING or PROCESSING.
 * - The push is not referenced by a foreign key: the event is a snapshot, and the outbox
 *   insert then takes no lock on the push row the outcome just updated.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE webhook_endpoint (
      id uuid PRIMARY KEY,
      org_id uuid NOT NULL REFERENCES organization(id) ON DELETE CASCADE,
      url text NOT NULL,
      description text NOT NULL DEFAULT '',
      events text[] NOT NULL,
      enabled boolean NOT NULL DEFAULT true,
      secret_encrypted bytea NOT NULL,
      secret_key_id text NOT NULL,
      previous_secret_expires_at timestamptz,
      disabled_reason text,
      disabled_at timestamptz,
      failing_since timestamptz,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL
    )`);
  await knex.raw('CREATE INDEX webhook_endpoint_org_idx ON webhook_endpoint (org_id, created_at, id)');
  await knex.raw('CREATE INDEX webhook_endpoint_key_idx ON webhook_endpoint (secret_key_id)');
  await knex.raw(`
    CREATE TABLE webhook_event (
      id uuid PRIMARY KEY,
      seq bigint GENERATED ALWAYS AS IDENTITY,
      org_id uuid NOT NULL,
      type text NOT NULL,
      push_id uuid,
      connection_id uuid,
      data jsonb NOT NULL,
      created_at timestamptz NOT NULL
    )`);
  // No index but the primary key: events are read by id (replay) and through their deliveries;
  // every index here is paid on every outcome of an organisation with webhooks (ADR 0035).
  await knex.raw(`
    CREATE TABLE webhook_delivery (
      id uuid PRIMARY KEY,
      event_id uuid NOT NULL REFERENCES webhook_event(id) ON DELETE CASCADE,
      endpoint_id uuid NOT NULL REFERENCES webhook_endpoint(id) ON DELETE CASCADE,
      org_id uuid NOT NULL,
      event_seq bigint NOT NULL,
      push_id uuid,
      status text NOT NULL CHECK (status IN ('PENDING', 'PROCESSING', 'DELIVERED', 'FAILED')),
      attempts integer NOT NULL DEFAULT 0,
      next_attempt_at timestamptz,
      locked_by text,
      locked_until timestamptz,
      last_status_code integer,
      last_error text,
      last_attempt_at timestamptz,
      delivered_at timestamptz,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      UNIQUE (event_id, endpoint_id)
    )`);
  await knex.raw(`CREATE INDEX webhook_delivery_due_idx ON webhook_delivery (next_attempt_at) WHERE status = 'PENDING'`);
  await knex.raw(`CREATE INDEX webhook_delivery_lease_idx ON webhook_delivery (locked_until) WHERE status = 'PROCESSING'`);
  await knex.raw(
    `CREATE INDEX webhook_delivery_order_idx ON webhook_delivery (endpoint_id, push_id, event_seq) WHERE status IN ('PENDING', 'PROCESSING') AND push_id IS NOT NULL`,
  );
  await knex.raw('CREATE INDEX webhook_delivery_endpoint_idx ON webhook_delivery (endpoint_id, created_at, id)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS webhook_delivery');
  await knex.raw('DROP TABLE IF EXISTS webhook_event');
  await knex.raw('DROP TABLE IF EXISTS webhook_endpoint');
}
