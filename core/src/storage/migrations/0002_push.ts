import type { Knex } from 'knex';

/**
 * The push table: the outbox and the record of every delivery (issue D, ADR "push queue").
 * Raw SQL so the partial indexes the worker's claim queries rely on are exactly what we mean.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE push (
      id                  uuid PRIMARY KEY,
      org_id              uuid NOT NULL REFERENCES organization (id) ON DELETE CASCADE,
      -- Fixed when the push is accepted: a push never moves to another connection.
      connection_id       uuid NOT NULL REFERENCES erp_connection (id),
      connector_type      text NOT NULL,
      document_type       text NOT NULL,
      document_id         text NOT NULL,
      idempotency_key     text NOT NULL,
      payload             jsonb NOT NULL,
      payload_sha256      text NOT NULL,
      status              text NOT NULL CHECK (status IN
                            ('PENDING', 'PROCESSING', 'DELIVERED', 'ACKNOWLEDGED', 'REJECTED', 'DEAD')),
      attempts            integer NOT NULL DEFAULT 0,
      next_attempt_at     timestamptz,
      -- The lease: who holds the push and until when. attempts doubles as the fencing token.
      locked_by           text,
      locked_until        timestamptz,
      last_error_code     text,
      last_error_message  text,
      external_ref        text,
      receipt_details     jsonb,
      ack_details         jsonb,
      ack_deadline        timestamptz,
      next_ack_check_at   timestamptz,
      ack_checks          integer NOT NULL DEFAULT 0,
      -- Manual retries of dead letters / rejections (POST /v1/pushes/:id/retry).
      manual_retries      integer NOT NULL DEFAULT 0,
      retried_at          timestamptz,
      created_at          timestamptz NOT NULL,
      updated_at          timestamptz NOT NULL,
      last_attempt_at     timestamptz,
      delivered_at        timestamptz,
      acknowledged_at     timestamptz,
      rejected_at         timestamptz,
      dead_at             timestamptz,
      CONSTRAINT push_org_idempotency_key UNIQUE (org_id, idempotency_key)
    )
  `);
  // Claiming: only due PENDING rows, oldest due first.
  await knex.raw(`CREATE INDEX push_pending_due_idx ON push (next_attempt_at) WHERE status = 'PENDING'`);
  // Finding expired leases (workers that died): only PROCESSING rows, a small set.
  await knex.raw(`CREATE INDEX push_processing_lease_idx ON push (locked_until) WHERE status = 'PROCESSING'`);
  // The acknowledgement checker: DELIVERED rows still waiting for the ERP's answer.
  await knex.raw(
    `CREATE INDEX push_ack_due_idx ON push (next_ack_check_at) WHERE status = 'DELIVERED' AND next_ack_check_at IS NOT NULL`,
  );
  // Dead letters, for the queue-depth gauge and operators' queries.
  await knex.raw(`CREATE INDEX push_dead_idx ON push (dead_at) WHERE status = 'DEAD'`);
  // Keyset listing per organisation, newest first, optionally by status.
  await knex.raw(`CREATE INDEX push_org_created_idx ON push (org_id, created_at DESC, id DESC)`);
  await knex.raw(`CREATE INDEX push_org_status_created_idx ON push (org_id, status, created_at DESC, id DESC)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS push');
}
