// Migration 0009 (a claim is a HOT update, ADR 0049) on a database with pushes in every state.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends, type TestDatabase } from '../support/db.js';
import { MIGRATIONS_TABLE, Repositories, migrateLatest, migrationSource } from '../../src/storage/index.js';
import { PUSH_STATUSES } from '../../src/push/push-types.js';
import { pushHarness } from '../push/fixtures.js';

type Rows<T> = { rows: T[] };
const config = { migrationSource, tableName: MIGRATIONS_TABLE };
const applied = async (t: TestDatabase): Promise<string[]> =>
  ((await t.db.raw(`SELECT name FROM ${MIGRATIONS_TABLE} ORDER BY id`)) as Rows<{ name: string }>).rows.map((r) => r.name);
const indexes = async (t: TestDatabase): Promise<string[]> =>
  ((await t.db.raw(`SELECT indexname FROM pg_indexes WHERE tablename = 'push' ORDER BY indexname`)) as Rows<{ indexname: string }>).rows.map((r) => r.indexname);
/** Index definitions of the push table that mention one of the columns a claim writes. */
const indexesNamingClaimColumns = async (t: TestDatabase): Promise<string[]> =>
  ((await t.db.raw(`SELECT indexdef FROM pg_indexes WHERE tablename = 'push'`)) as Rows<{ indexdef: string }>).rows
    .map((r) => r.indexdef)
    .filter((d) => /\b(status|locked_by|locked_until|attempts|last_attempt_at|updated_at)\b/.test(d));

describe.each(testBackends())('migration 0009 on $name', (backend) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await backend.open();
  });
  afterAll(async () => t.close());

  it('upgrades a database with pushes in every state in place; afterwards a claim writes no index entry', async () => {
    while ((await applied(t)).includes('0009_hot_claims')) await t.db.migrate.down(config);
    expect(await indexes(t)).toContain('push_pending_due_idx');
    const h = await pushHarness(t.db, backend.name);
    const org = await h.newOrg();
    await h.newConnection(org, 'MOCK', {});
    const accepted = await h.service.acceptMany(org, Array.from({ length: 40 }, (_, i) => ({ documentType: 'invoice', documentId: `B-${i}`, payload: { i } })));
    expect(accepted.every((r) => r.ok && r.created)).toBe(true);
    const ids = accepted.map((r) => (r.ok ? r.push.id : ''));
    // 10 delivered by the worker; then, by hand, the other states a live database holds.
    expect(await h.worker({ batchSize: 10 }).runOnce()).toBe(10);
    const at = h.clock.now();
    const set = (id: string, values: Record<string, unknown>) => t.db('push').where({ id }).update(values);
    await set(ids[10]!, { status: 'DEAD', next_attempt_at: null, dead_at: at, last_error_code: 'X' });
    await set(ids[11]!, { status: 'REJECTED', next_attempt_at: null, rejected_at: at });
    await set(ids[12]!, { status: 'DELIVERED', next_attempt_at: null, delivered_at: at, external_ref: 'r', next_ack_check_at: at });
    // A lease that expired a minute ago.
    await set(ids[13]!, { status: 'PROCESSING', attempts: 1, locked_by: 'gone', locked_until: new Date(at.getTime() - 60_000) });
    // A row no erpc version writes (DELIVERED, still due): the migration clears its due time.
    await set(ids[14]!, { status: 'DELIVERED', delivered_at: at, external_ref: 'r' });
    const columns = ['id', 'status', 'payload_text', 'attempts', 'next_attempt_at', 'dead_at', 'rejected_at', 'next_ack_check_at', 'locked_until'];
    const rowsBefore = await t.db('push').orderBy('id').select(columns);
    const lists = async () => Promise.all(PUSH_STATUSES.map((status) => h.service.list(org, { status, limit: 500 })));
    const listsBefore = await lists();
    const depthBefore = await new Repositories(t.db).pushes.queueDepth();
    // MOCK checks acknowledgements by default: the 10 delivered wait for theirs.
    expect(depthBefore).toEqual({ pending: 25, processing: 1, awaitingAck: 11, dead: 1 });

    await migrateLatest(t.db);
    expect(await indexes(t)).toEqual(expect.arrayContaining(['push_due_idx', 'push_ack_check_idx', 'push_dead_at_org_idx', 'push_org_failed_idx']));
    for (const gone of ['push_pending_due_idx', 'push_processing_lease_idx', 'push_ack_due_idx', 'push_dead_org_idx', 'push_org_failed_created_idx']) {
      expect(await indexes(t)).not.toContain(gone);
    }
    expect(await indexesNamingClaimColumns(t)).toEqual([]);
    const options = ((await t.db.raw(`SELECT reloptions FROM pg_class WHERE relname = 'push'`)) as Rows<{ reloptions: string[] | null }>).rows[0]!.reloptions;
    expect(options).toEqual(['fillfactor=50']);
    // The same rows but the one that broke the invariant; the same listings and gauges.
    const fixed = (await t.db('push').orderBy('id').select(columns)) as Record<string, unknown>[];
    expect(fixed.find((r) => r.id === ids[14])!.next_attempt_at).toBeNull();
    expect(fixed.filter((r) => r.id !== ids[14])).toEqual(rowsBefore.filter((r: { id: string }) => r.id !== ids[14]));
    expect(await lists()).toEqual(listsBefore);
    expect(await new Repositories(t.db).pushes.queueDepth()).toEqual(depthBefore);
    expect((await h.service.stats(org)).counts).toMatchObject({ DEAD: 1, REJECTED: 1, PROCESSING: 1, PENDING: 25 });

    // The expired lease is found through the due index's front.
    const requeued = await new Repositories(t.db).pushes.requeueExpiredLeases(at, 5, 100);
    expect(requeued).toEqual([{ id: ids[13], status: 'PENDING' }]);

    // New pushes (pages written at fill factor 50): a claim of them updates without index entries.
    await t.db('push').where('status', 'PENDING').update({ next_attempt_at: new Date(at.getTime() + 3_600_000) });
    const fresh = await h.service.acceptMany(org, Array.from({ length: 5 }, (_, i) => ({ documentType: 'invoice', documentId: `N-${i}`, payload: { i } })));
    expect(fresh.every((r) => r.ok && r.created)).toBe(true);
    await t.db.transaction(async (trx) => {
      // This transaction's own counts (they also hold what came before it in the test's session): the claim's part.
      const counts = async () => {
        const r = ((await trx.raw(`SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relname = 'push'`)) as Rows<{ n_tup_upd: string; n_tup_hot_upd: string }>).rows[0]!;
        return { updated: Number(r.n_tup_upd), hot: Number(r.n_tup_hot_upd) };
      };
      const c0 = await counts();
      const claimed = await new Repositories(trx).pushes.claimDue('w-hot', h.clock.now(), new Date(h.clock.now().getTime() + 60_000), 5);
      expect(claimed.map((r) => r.documentId).sort()).toEqual(fresh.map((r) => (r.ok ? r.push.documentId : '')).sort());
      const c1 = await counts();
      expect({ updated: c1.updated - c0.updated, hot: c1.hot - c0.hot }).toEqual({ updated: 5, hot: 5 });
    });

    // Down restores 0007's indexes; up again.
    while ((await applied(t)).includes('0009_hot_claims')) await t.db.migrate.down(config);
    expect(await indexes(t)).toEqual(expect.arrayContaining(['push_pending_due_idx', 'push_processing_lease_idx', 'push_org_failed_created_idx']));
    await migrateLatest(t.db);
    h.clock.advance(2 * 3_600_000);
    while ((await h.worker().runOnce()) > 0);
    expect((await h.service.stats(org)).counts.PENDING).toBe(0);
  });
});
