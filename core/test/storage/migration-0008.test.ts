// Migration 0008 (the push table's references kept by its parents' triggers, ADR 0045) on a
// database with pushes in it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends, type TestDatabase } from '../support/db.js';
import { MIGRATIONS_TABLE, migrateLatest, migrationSource } from '../../src/storage/index.js';
import { pushHarness } from '../push/fixtures.js';

const foreignKeys = async (t: TestDatabase): Promise<string[]> =>
  ((await t.db.raw(`SELECT conname FROM pg_constraint WHERE conrelid = 'push'::regclass AND contype = 'f' ORDER BY conname`)) as { rows: { conname: string }[] }).rows.map((r) => r.conname);
const count = async (t: TestDatabase, table: string, where: Record<string, string>): Promise<number> => Number((await t.db(table).where(where).count({ n: '*' }))[0]!.n);

describe.each(testBackends())('migration 0008 on $name', (backend) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await backend.open();
  });
  afterAll(async () => t.close());

  it('upgrades in place; deleting an organisation still deletes its pushes, deleting a connection that pushes name is still refused', async () => {
    const config = { migrationSource, tableName: MIGRATIONS_TABLE };
    while ((await foreignKeys(t)).length === 0) await t.db.migrate.down(config);
    expect(await foreignKeys(t)).toEqual(['push_connection_id_fkey', 'push_org_id_fkey']);
    const h = await pushHarness(t.db, backend.name);
    const [org, other] = [await h.newOrg(), await h.newOrg()];
    const conn = await h.newConnection(org, 'MOCK', {});
    await h.newConnection(other, 'MOCK', {});
    const accepted = await h.service.acceptMany(org, Array.from({ length: 20 }, (_, i) => ({ documentType: 'invoice', documentId: `B-${i}`, payload: { i } })));
    expect(accepted.every((r) => r.ok && r.created)).toBe(true);
    await h.service.accept(other, { documentType: 'invoice', documentId: 'O-1', payload: { other: true } });
    expect(await h.worker().runOnce()).toBeGreaterThan(0);
    const rowsBefore = await t.db('push').orderBy('id').select('id', 'org_id', 'connection_id', 'status', 'payload_text', 'attempts');

    await migrateLatest(t.db);
    expect(await foreignKeys(t)).toEqual([]);
    expect(await t.db('push').orderBy('id').select('id', 'org_id', 'connection_id', 'status', 'payload_text', 'attempts')).toEqual(rowsBefore);
    // The queue goes on after the upgrade.
    const after = await h.service.accept(org, { documentType: 'invoice', documentId: 'A-1', payload: { after: true } });
    while ((await h.worker().runOnce()) > 0);
    expect((await h.service.get(org, after.push.id)).status).toBe('DELIVERED');

    // A connection that pushes name cannot be deleted (23503, as the foreign key answered)…
    const refused = await t.db('erp_connection').where({ id: conn }).delete().then(
      () => undefined,
      (err: { code?: string; message?: string }) => err,
    );
    expect(refused?.code).toBe('23503');
    expect(refused?.message).toContain('still named by pushes');
    expect(await count(t, 'erp_connection', { id: conn })).toBe(1);
    // …one that none name can.
    const unused = await h.newConnection(org, 'MOCK', {}, 'DISABLED');
    await t.db('erp_connection').where({ id: unused }).delete();
    expect(await count(t, 'erp_connection', { id: unused })).toBe(0);
    // Deleting an organisation deletes its pushes and connections, nobody else's.
    expect(await count(t, 'push', { org_id: org })).toBe(21);
    await t.db('organization').where({ id: org }).delete();
    expect(await count(t, 'push', { org_id: org })).toBe(0);
    expect(await count(t, 'erp_connection', { org_id: org })).toBe(0);
    expect(await count(t, 'push', { org_id: other })).toBe(1);

    // Down restores both foreign keys over the rows that are left.
    await t.db.migrate.down(config);
    expect(await foreignKeys(t)).toEqual(['push_connection_id_fkey', 'push_org_id_fkey']);
    await migrateLatest(t.db);
    expect(await foreignKeys(t)).toEqual([]);
  });
});
