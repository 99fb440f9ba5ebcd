import type { Knex } from 'knex';

/**
 * Issue M (ADR 0049): the claim is a HOT update. PostgreSQL writes an UPDATE as a HOT update (no
 * new index entries) only when no column that any index uses changes, predicates included. The
 * claim changes `status`, `locked_by`, `locked_until`, `attempts` and `last_attempt_at`; after 0007
 * `status` was in five partial-index predicates and `locked_until` was the lease index's key, so
 * every claim wrote four index entries. Here no index mentions any of them:
 * - `push_due_idx (next_attempt_at) WHERE next_attempt_at IS NOT NULL` serves the claim (filtering
 *   `status = 'PENDING'`) and the expired-lease requeue (filtering `status = 'PROCESSING'` over the
 *   front of the queue): `next_attempt_at` is set exactly while a push is PENDING or PROCESSING and
 *   kept through the claim, and set to NULL by every outcome that leaves the queue;
 * - `push_ack_check_idx (next_ack_check_at) WHERE next_ack_check_at IS NOT NULL`: the column is set
 *   only while a DELIVERED push waits for its acknowledgement;
 * - `push_dead_at_org_idx (org_id, dead_at, id) WHERE dead_at IS NOT NULL`: `dead_at` is set only
 *   while a push is DEAD (a retry clears it);
 * - `push_org_failed_idx (org_id, created_at DESC, id DESC) WHERE rejected_at IS NOT NULL OR
 *   dead_at IS NOT NULL`: listing REJECTED or DEAD newest first (`status` filtered on the row).
 * Fill factor 50: a claim's new versions find room on their page, which they need to be HOT (a claim
 * takes up to 16 pushes, about as many as a page holds at 50 %, all in one statement; at 60 % a
 * third of them measured not HOT). The cost is disk: a page keeps half its room for new versions.
 * In place, in the migration's transaction; rows that break those invariants (none that erpc
 * wrote) are put right first, so no index misses a row the old one held.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    UPDATE push
       SET next_attempt_at = CASE WHEN status IN ('PENDING', 'PROCESSING') THEN next_attempt_at END,
           next_ack_check_at = CASE WHEN status = 'DELIVERED' THEN next_ack_check_at END,
           dead_at = CASE WHEN status = 'DEAD' THEN COALESCE(dead_at, updated_at) END,
           rejected_at = CASE WHEN status = 'REJECTED' THEN COALESCE(rejected_at, updated_at) END
     WHERE (next_attempt_at IS NOT NULL AND status NOT IN ('PENDING', 'PROCESSING'))
        OR (next_ack_check_at IS NOT NULL AND status <> 'DELIVERED')
        OR ((dead_at IS NOT NULL) <> (status = 'DEAD'))
        OR ((rejected_at IS NOT NULL) <> (status = 'REJECTED'))`);
  for (const name of ['push_pending_due_idx', 'push_processing_lease_idx', 'push_ack_due_idx', 'push_dead_org_idx', 'push_org_failed_created_idx']) {
    await knex.raw(`DROP INDEX IF EXISTS ${name}`);
  }
  await knex.raw('CREATE INDEX push_due_idx ON push (next_attempt_at) WHERE next_attempt_at IS NOT NULL');
  await knex.raw('CREATE INDEX push_ack_check_idx ON push (next_ack_check_at) WHERE next_ack_check_at IS NOT NULL');
  await knex.raw('CREATE INDEX push_dead_at_org_idx ON push (org_id, dead_at, id) WHERE dead_at IS NOT NULL');
  await knex.raw('CREATE INDEX push_org_failed_idx ON push (org_id, created_at DESC, id DESC) WHERE rejected_at IS NOT NULL OR dead_at IS NOT NULL');
  await knex.raw('ALTER TABLE push SET (fillfactor = 50)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE push SET (fillfactor = 90)');
  for (const name of ['push_due_idx', 'push_ack_check_idx', 'push_dead_at_org_idx', 'push_org_failed_idx']) {
    await knex.raw(`DROP INDEX IF EXISTS ${name}`);
  }
  await knex.raw(`CREATE INDEX push_pending_due_idx ON push (next_attempt_at) WHERE status = 'PENDING'`);
  await knex.raw(`CREATE INDEX push_processing_lease_idx ON push (locked_until) WHERE status = 'PROCESSING'`);
  await knex.raw(`CREATE INDEX push_ack_due_idx ON push (next_ack_check_at) WHERE status = 'DELIVERED' AND next_ack_check_at IS NOT NULL`);
  await knex.raw(`CREATE INDEX push_dead_org_idx ON push (org_id, dead_at, id) WHERE status = 'DEAD'`);
  await knex.raw(
    `CREATE INDEX push_org_failed_created_idx ON push (org_id, status, created_at DESC, id DESC) WHERE status IN ('REJECTED', 'DEAD')`,
  );
}
