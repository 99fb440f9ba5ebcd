import type { Knex } from 'knex';

/**
 * Issue M (ADR 0038): the push table's indexes are the ones its queries need and no more.
 * Every claim and outcome UPDATE changes `status`, so none can be a HOT update while any index
 * mentions `status` (the partial indexes the claims need do): each writes a new entry into every
 * index whose predicate the new row version matches. So:
 * - `push_org_status_created_idx` (org_id, status, created_at DESC, id DESC), a full index that
 *   took an entry on the insert and on each of the two hot-path updates, is dropped: a listing by
 *   status is a filtered scan of `push_org_created_idx` (the newest rows first, where the queue's
 *   PENDING and PROCESSING pushes are; DELIVERED and ACKNOWLEDGED are most rows), or of the
 *   PENDING / PROCESSING partial indexes when the planner sees few such rows;
 * - the rare terminal failures get their own small partial index, which takes an entry only when
 *   a push is REJECTED or becomes DEAD, so listing them stays an index range however many
 *   delivered rows there are;
 * - `push_dead_idx` (dead_at) WHERE DEAD is dropped: the queue-depth gauge counts dead letters
 *   through `push_dead_org_idx` (org_id, dead_at, id) WHERE DEAD just as well;
 * - fill factor 90: the two updates of a fresh row find room on its own page more often (fewer
 *   pages dirtied, and fewer full-page images after a checkpoint). It applies to pages written
 *   from now on; existing pages keep theirs (no table rewrite).
 * In place, in the migration's transaction: the new index scans the table once, while writes wait.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS push_org_status_created_idx');
  await knex.raw('DROP INDEX IF EXISTS push_dead_idx');
  await knex.raw(
    `CREATE INDEX push_org_failed_created_idx ON push (org_id, status, created_at DESC, id DESC) WHERE status IN ('REJECTED', 'DEAD')`,
  );
  await knex.raw('ALTER TABLE push SET (fillfactor = 90)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE push RESET (fillfactor)');
  await knex.raw('DROP INDEX IF EXISTS push_org_failed_created_idx');
  await knex.raw(`CREATE INDEX IF NOT EXISTS push_dead_idx ON push (dead_at) WHERE status = 'DEAD'`);
  await knex.raw('CREATE INDEX IF NOT EXISTS push_org_status_created_idx ON push (org_id, status, created_at DESC, id DESC)');
}
