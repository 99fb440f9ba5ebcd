// Migration 0007 (the push table's indexes and fill factor, ADR 0038) on a database with pushes in it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends, type TestDatabase } from '../support/db.js';
import { MIGRATIONS_TABLE, migrateLatest, migrationSource } from '../../src/storage/index.js';
import { pushHarness } from '../push/fixtures.js';

// This test's own schema only: another schema of the same database may hold a push table too.
const indexes = async (t: TestDatabase): Promise<string[]> =>
  ((await t.db.raw(`SELECT indexname FROM pg_indexes WHERE tablename = 'push' AND schemaname = current_schema() ORDER BY indexname`)) as { rows: { indexname: string }[] }).rows.map((r) => r.indexname);

describe.each(testBackends())('migration 0007 on $name', (backend) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await backend.open();
  });
  afterAll(async () => t.close());

  it('upgrades a database with pushes in place: the same rows, listings and deliveries, the new indexes', async () => {
    const config = { migrationSource, tableName: MIGRATIONS_TABLE };
    // Back to before 0007 (it is the newest of this branch).
    while ((await indexes(t)).includes('push_org_failed_created_idx')) await t.db.migrate.down(config);
    expect(await indexes(t)).toContain('push_org_status_created_idx');
    const h = await pushHarness(t.db, backend.name);
    const org = await h.newOrg();
    await h.newConnection(org, 'MOCK', {});
    // Pushes accepted before the upgrade: some delivered, some dead, some pending.
    const before = await h.service.acceptMany(org, Array.from({ length: 30 }, (_, i) => ({ documentType: 'invoice', documentId: `B-${i}`, payload: { i } })));
    expect(before.every((r) => r.ok && r.created)).toBe(true);
    expect(await h.worker().runOnce()).toBeGreaterThan(0);
    const rowsBefore = await t.db('push').orderBy('id').select('id', 'status', 'payload_text', 'attempts');
    const listBefore = await h.service.list(org, { status: 'DELIVERED', limit: 500 });

    await migrateLatest(t.db);
    expect(await indexes(t)).toEqual(expect.arrayContaining(['push_org_failed_created_idx', 'push_org_created_idx', 'push_pending_due_idx']));
    expect(await indexes(t)).not.toContain('push_org_status_created_idx');
    expect(await indexes(t)).not.toContain('push_dead_idx');
    const options = ((await t.db.raw(`SELECT reloptions FROM pg_class WHERE oid = 'push'::regclass`)) as { rows: { reloptions: string[] | null }[] }).rows[0]!.reloptions;
    expect(options).toEqual(['fillfactor=90']);
    // Nothing changed in the rows, listings read the same.
    expect(await t.db('push').orderBy('id').select('id', 'status', 'payload_text', 'attempts')).toEqual(rowsBefore);
    expect(await h.service.list(org, { status: 'DELIVERED', limit: 500 })).toEqual(listBefore);
    // And the queue goes on: the rest delivered, new ones accepted and delivered.
    const after = await h.service.accept(org, { documentType: 'invoice', documentId: 'A-1', payload: { after: true } });
    while ((await h.worker().runOnce()) > 0);
    expect((await h.service.get(org, after.push.id)).status).toBe('DELIVERED');
    expect((await h.service.stats(org)).counts.DELIVERED).toBe(31);
    // Down restores the indexes 0007 dropped (and undoes the migrations after it first).
    while ((await indexes(t)).includes('push_org_failed_created_idx')) await t.db.migrate.down(config);
    expect(await indexes(t)).toEqual(expect.arrayContaining(['push_org_status_created_idx', 'push_dead_idx']));
    await migrateLatest(t.db);
  });
});
