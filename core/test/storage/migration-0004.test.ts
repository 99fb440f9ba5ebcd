// Migration 0004 (exact payload text, lastFailure) on a database that already has pushes.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends, type TestDatabase } from '../support/db.js';
import { MIGRATIONS_TABLE, migrateLatest, migrationSource, Repositories } from '../../src/storage/index.js';
import { pushHarness } from '../push/fixtures.js';

describe.each(testBackends())('migration 0004 on $name', (backend) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await backend.open();
  });
  afterAll(async () => t.close());

  it('upgrades a database with pushes: old rows read as before, new ones keep their exact text', async () => {
    const config = { migrationSource, tableName: MIGRATIONS_TABLE };
    // Back to before 0004 (0005, worker heartbeats and push.request_id, is newer: down first).
    while (await t.db.schema.hasColumn('push', 'payload_text')) await t.db.migrate.down(config);
    expect(await t.db.schema.hasColumn('push', 'payload_text')).toBe(false);
    const h = await pushHarness(t.db, backend.name);
    const org = await h.newOrg();
    const conn = await h.newConnection(org, 'MOCK', {});
    const old = randomUUID();
    const now = h.clock.now();
    // A row written by the previous release: jsonb payload, a failure recorded.
    await t.db('push').insert({
      id: old, org_id: org, connection_id: conn, connector_type: 'MOCK', document_type: 'invoice', document_id: 'OLD-1',
      idempotency_key: 'invoice:OLD-1', payload: JSON.stringify({ total: 118 }), payload_sha256: 'x', status: 'PENDING', attempts: 1,
      next_attempt_at: now, last_error_code: 'MOCK_UNAVAILABLE', last_error_message: 'down', created_at: now, updated_at: now,
    });
    await migrateLatest(t.db);
    expect(await t.db.schema.hasColumn('push', 'payload_text')).toBe(true);
    const repo = new Repositories(t.db).pushes;
    expect(await repo.findById(org, old)).toMatchObject({ payload: { total: 118 }, lastErrorCode: 'MOCK_UNAVAILABLE', lastFailureCode: 'MOCK_UNAVAILABLE' });
    const { push } = await h.service.accept(org, { documentType: 'invoice', documentId: 'NEW-1', payload: { total: JSON.parse('118.5') as number } });
    const row = await t.db('push').where({ id: push.id }).first();
    expect(row).toMatchObject({ payload: null, payload_text: '{"total":118.5}' });
    // Delivery of both: the old row's payload came from jsonb, the new one's from its text.
    expect(await h.worker().runOnce()).toBe(2);
    expect((await h.service.get(org, old)).status).toBe('DELIVERED');
    expect((await h.service.get(org, push.id)).payload).toEqual({ total: 118.5 });
  });
});
