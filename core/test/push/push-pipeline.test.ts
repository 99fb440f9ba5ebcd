import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { testBackends, type TestDatabase } from '../support/db.js';
import { PushRepository } from '../../src/storage/index.js';
import type { MockConnector } from '../../../plugins/connector-mock/src/index.js';
import { pushHarness, type PushHarness } from './fixtures.js';

const invoice = (id: string, payload: Record<string, unknown> = { total: 100, currency: 'EUR' }) => ({ documentType: 'invoice', documentId: id, payload });

describe.each(testBackends())('push pipeline on $name', (backend) => {
  let t: TestDatabase;
  let h: PushHarness;
  // One migrated database per backend (PGlite starts slowly); each test starts from empty tables.
  beforeAll(async () => {
    t = await backend.open();
  });
  afterAll(async () => {
    await t.close();
  });
  beforeEach(async () => {
    await t.db.raw('DELETE FROM push');
    await t.db.raw('DELETE FROM erp_connection');
    await t.db.raw('DELETE FROM organization');
    h = await pushHarness(t.db, backend.name);
  });

  const status = async (id: string) => (await t.db('push').where({ id }).first()) as Record<string, unknown>;

  it('accepts a push as PENDING and delivers it: PENDING → PROCESSING → DELIVERED', async () => {
    const org = await h.newOrg();
    const conn = await h.newConnection(org, 'MOCK', {});
    const { push, created } = await h.service.accept(org, invoice('INV-1'));
    expect(created).toBe(true);
    expect(push).toMatchObject({ status: 'PENDING', connectionId: conn, connectorType: 'MOCK', idempotencyKey: 'invoice:INV-1', attempts: 0 });

    // A claim alone leaves the push PROCESSING under a lease.
    const repo = new PushRepository(t.db);
    const now = h.clock.now();
    const claimed = await repo.claimDue('probe', now, new Date(now.getTime() + 60_000), 10);
    expect(claimed.map((r) => [r.id, r.status, r.attempts, r.lockedBy])).toEqual([[push.id, 'PROCESSING', 1, 'probe']]);
    await repo.release('probe', [{ id: push.id, attempts: 1, at: now }]);
    expect(await status(push.id)).toMatchObject({ status: 'PENDING', attempts: 0, locked_by: null });

    expect(await h.worker().runOnce()).toBe(1);
    const view = await h.service.get(org, push.id);
    expect(view).toMatchObject({ status: 'DELIVERED', attempts: 1, externalRef: `mock:${push.id}`, lastError: null });
    expect(view.deliveredAt).toBe(h.clock.now().toISOString());
    expect(view.payload).toEqual({ total: 100, currency: 'EUR' });
    const mock = h.registry.get('MOCK') as unknown as MockConnector;
    expect(mock.deliveries(conn).map((d) => d.idempotencyKey)).toEqual(['invoice:INV-1']);
    expect(await h.worker().runOnce()).toBe(0);
  });

  it('idempotency: same payload returns the existing push, another payload is a 409, no key derives one', async () => {
    const org = await h.newOrg();
    await h.newConnection(org, 'MOCK', {});
    const first = await h.service.accept(org, { ...invoice('INV-7', { a: 1, b: { c: 2, d: 3 } }), idempotencyKey: 'k-7' });
    // Key order differs: the canonical JSON is the same.
    const again = await h.service.accept(org, { ...invoice('INV-7', { b: { d: 3, c: 2 }, a: 1 }), idempotencyKey: 'k-7' });
    expect(again).toMatchObject({ created: false, push: { id: first.push.id } });
    await expect(h.service.accept(org, { ...invoice('INV-7', { a: 2 }), idempotencyKey: 'k-7' })).rejects.toMatchObject({
      code: 'ERPC_ERR_IDEMPOTENCY_CONFLICT',
      status: 409,
      details: { pushId: first.push.id },
    });
    const derived = await h.service.accept(org, invoice('INV-8'));
    expect(derived.push.idempotencyKey).toBe('invoice:INV-8');
    await expect(h.service.accept(org, invoice('INV-8', { total: 1 }))).rejects.toMatchObject({ code: 'ERPC_ERR_IDEMPOTENCY_CONFLICT' });
    // Another organisation may use the same key.
    const other = await h.newOrg();
    await h.newConnection(other, 'MOCK', {});
    expect((await h.service.accept(other, { ...invoice('INV-7', { a: 1 }), idempotencyKey: 'k-7' })).created).toBe(true);
    expect(Number((await t.db('push').where({ org_id: org }).count({ n: '*' }).first())!.n)).toBe(2);
  });

  it('concurrent duplicates of one key end as one push', async () => {
    const org = await h.newOrg();
    await h.newConnection(org, 'MOCK', {});
    const results = await Promise.all(Array.from({ length: 12 }, () => h.service.accept(org, { ...invoice('INV-C'), idempotencyKey: 'same' })));
    expect(new Set(results.map((r) => r.push.id)).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(Number((await t.db('push').where({ org_id: org }).count({ n: '*' }).first())!.n)).toBe(1);
  });

  it('a batch accept answers each item with the view a later read shows: new, replayed, conflicting and refused items mixed', async () => {
    const org = await h.newOrg();
    await h.newConnection(org, 'MOCK', {});
    const first = await h.service.accept(org, invoice('M-0', { n: 0 }));
    h.clock.advance(1_000);
    const items = await h.service.acceptMany(org, [
      invoice('M-1', { n: 1 }),
      invoice('M-0', { n: 0 }), // replay
      invoice('M-2', { n: 2.5 }),
      invoice('M-0', { n: 'other' }), // conflict
      { documentType: '../x', documentId: 'bad', payload: {} }, // refused at the door
    ]);
    expect(items.map((i) => (i.ok ? (i.created ? 'created' : 'replay') : i.error.code))).toEqual([
      'created', 'replay', 'created', 'ERPC_ERR_IDEMPOTENCY_CONFLICT', 'ERPC_ERR_PUSH_INVALID',
    ]);
    for (const item of items) {
      if (!item.ok) continue;
      const { payload: _payload, ...stored } = await h.service.get(org, item.push.id);
      expect(item.push).toEqual(stored);
    }
    expect(items[1]!.ok && items[1]!.push.id).toBe(first.push.id);
    // All new: the statement returns no id list, and every item is reported created.
    const fresh = await h.service.acceptMany(org, [invoice('M-3'), invoice('M-4')]);
    expect(fresh.map((i) => i.ok && i.created)).toEqual([true, true]);
    expect(Number((await t.db('push').where({ org_id: org }).count({ n: '*' }).first())!.n)).toBe(5);
  });

  it('refuses without an active connection, and document types the connector does not list', async () => {
    const org = await h.newOrg();
    await expect(h.service.accept(org, invoice('X'))).rejects.toMatchObject({ code: 'ERPC_ERR_NO_ACTIVE_CONNECTION', status: 422 });
    await h.newConnection(org, 'DROPZONE_JSON_V1', { rootPath: '/tmp' });
    await expect(h.service.accept(org, { documentType: 'spaceship', documentId: '1', payload: {} })).rejects.toMatchObject({
      code: 'ERPC_ERR_DOCUMENT_TYPE_UNSUPPORTED',
      status: 422,
    });
    await expect(h.service.accept(org, { documentType: '../x', documentId: '1', payload: {} })).rejects.toMatchObject({ code: 'ERPC_ERR_PUSH_INVALID' });
    await expect(h.service.accept(org, { documentType: 'invoice', documentId: '1', payload: [] as never })).rejects.toMatchObject({ code: 'ERPC_ERR_PUSH_INVALID' });
    expect(Number((await t.db('push').count({ n: '*' }).first())!.n)).toBe(0);
  });

  it('retryable failures back off exponentially (5 s, 10 s) on the injected clock, then deliver', async () => {
    const org = await h.newOrg();
    await h.newConnection(org, 'MOCK', { behavior: 'fail-retryable', failTimes: 2 });
    const { push } = await h.service.accept(org, invoice('INV-B'));
    const w = h.worker();
    const t0 = h.clock.now().getTime();
    expect(await w.runOnce()).toBe(1);
    let row = await h.service.get(org, push.id);
    expect(row).toMatchObject({ status: 'PENDING', attempts: 1, lastError: { code: 'MOCK_UNAVAILABLE' } });
    expect(Date.parse(row.nextAttemptAt!)).toBe(t0 + 5_000);
    h.clock.advance(4_999);
    expect(await w.runOnce()).toBe(0);
    h.clock.advance(1);
    expect(await w.runOnce()).toBe(1);
    row = await h.service.get(org, push.id);
    expect(row).toMatchObject({ status: 'PENDING', attempts: 2 });
    expect(Date.parse(row.nextAttemptAt!)).toBe(t0 + 5_000 + 10_000);
    h.clock.advance(10_000);
    expect(await w.runOnce()).toBe(1);
    expect(await h.service.get(org, push.id)).toMatchObject({ status: 'DELIVERED', attempts: 3 });
  });

  it('a push() that outlives pushTimeoutMs is aborted and retried as PUSH_TIMEOUT, not released like a shutdown', async () => {
    const org = await h.newOrg();
    await h.newConnection(org, 'MOCK', { behavior: 'hang' });
    const { push } = await h.service.accept(org, invoice('INV-T'));
    const started = Date.now();
    expect(await h.worker({ pushTimeoutMs: 100, leaseMs: 5_000 }).runOnce()).toBe(1);
    expect(Date.now() - started).toBeLessThan(5_000);
    const row = await h.service.get(org, push.id);
    expect(row).toMatchObject({ status: 'PENDING', attempts: 1, lastError: { code: 'PUSH_TIMEOUT', message: 'push() did not finish within 100 ms and was aborted.' } });
  });

  it('exhausted retries make a dead letter; a manual retry puts it back to PENDING with attempts reset', async () => {
    const org = await h.newOrg();
    await h.newConnection(org, 'MOCK', { behavior: 'fail-retryable' });
    const { push } = await h.service.accept(org, invoice('INV-D'));
    const w = h.worker({ retryPolicy: new (await import('../../src/push/retry-policy.js')).RetryPolicy({ maxAttempts: 3, jitter: 0 }) });
    for (let i = 0; i < 3; i++) {
      expect(await w.runOnce()).toBe(1);
      h.clock.advance(60_000);
    }
    const dead = await h.service.get(org, push.id);
    expect(dead).toMatchObject({ status: 'DEAD', attempts: 3, lastError: { code: 'MOCK_UNAVAILABLE' } });
    expect(dead.lastError!.message).toContain('gave up after 3 attempts');
    expect(dead.deadAt).not.toBeNull();
    expect(await w.runOnce()).toBe(0);
    expect((await h.service.stats(org)).counts.DEAD).toBe(1);

    const other = await h.newOrg();
    await expect(h.service.retry(other, push.id)).rejects.toMatchObject({ code: 'ERPC_ERR_PUSH_NOT_FOUND', status: 404 });
    await expect(h.service.get(other, push.id)).rejects.toMatchObject({ code: 'ERPC_ERR_PUSH_NOT_FOUND' });
    const retried = await h.service.retry(org, push.id);
    expect(retried).toMatchObject({ status: 'PENDING', attempts: 0, manualRetries: 1, deadAt: null });
    await expect(h.service.retry(org, push.id)).rejects.toMatchObject({ code: 'ERPC_ERR_PUSH_NOT_RETRYABLE', status: 409 });
    expect(await w.runOnce()).toBe(1);
  });

  it('a permanent connector error is a dead letter at once', async () => {
    const org = await h.newOrg();
    await h.newConnection(org, 'MOCK', { behavior: 'fail-permanent' });
    const { push } = await h.service.accept(org, invoice('INV-P'));
    await h.worker().runOnce();
    expect(await h.service.get(org, push.id)).toMatchObject({ status: 'DEAD', attempts: 1, lastError: { code: 'MOCK_REJECTED' } });
  });

  it('a connection disabled before delivery makes the push DEAD, never delivered to the new active connection', async () => {
    const org = await h.newOrg();
    const a = await h.newConnection(org, 'MOCK', {});
    const { push } = await h.service.accept(org, invoice('INV-X'));
    await t.db('erp_connection').where({ id: a }).update({ status: 'DISABLED' });
    const b = await h.newConnection(org, 'MOCK', {});
    await h.worker().runOnce();
    const view = await h.service.get(org, push.id);
    expect(view).toMatchObject({ status: 'DEAD', connectionId: a, lastError: { code: 'CONNECTION_DISABLED' } });
    expect(view.lastError!.message).toContain(a);
    const mock = h.registry.get('MOCK') as unknown as MockConnector;
    expect(mock.deliveries(a)).toHaveLength(0);
    expect(mock.deliveries(b)).toHaveLength(0);
  });

  it('one worker reusing a decrypted config still sees a disable, a config change and a ciphertext that no longer decrypts', async () => {
    const org = await h.newOrg();
    const conn = await h.newConnection(org, 'MOCK', {});
    const worker = h.worker({ batchSize: 1 });
    const accept = async (id: string) => (await h.service.accept(org, invoice(id))).push.id;
    const first = await accept('INV-C1');
    await worker.runOnce();
    expect(await h.service.get(org, first)).toMatchObject({ status: 'DELIVERED' });

    // The same row re-encrypted with another config (as ConnectionService does on an update):
    // the next push of the same worker runs with the new one.
    const { blob, keyId } = h.cipher.encrypt({ behavior: 'fail-permanent' }, { orgId: org, connectionId: conn });
    await t.db('erp_connection').where({ id: conn }).update({ config_encrypted: blob, config_key_id: keyId });
    const second = await accept('INV-C2');
    await worker.runOnce();
    expect(await h.service.get(org, second)).toMatchObject({ status: 'DEAD', lastError: { code: 'MOCK_REJECTED' } });

    // A ciphertext that no longer decrypts is never served from the earlier decryption.
    const broken = Buffer.from(blob);
    broken[broken.length - 1]! ^= 0x01;
    await t.db('erp_connection').where({ id: conn }).update({ config_encrypted: broken });
    const third = await accept('INV-C3');
    await worker.runOnce();
    expect(await h.service.get(org, third)).toMatchObject({ status: 'DEAD', lastError: { code: 'CONFIG_DECRYPT_FAILED', message: 'Configuration error' } });

    // Back to a good config, delivered once (cached), then disabled: the next push is DEAD.
    const good = h.cipher.encrypt({}, { orgId: org, connectionId: conn });
    await t.db('erp_connection').where({ id: conn }).update({ config_encrypted: good.blob, config_key_id: good.keyId });
    const fourth = await accept('INV-C4');
    const fifth = await accept('INV-C5');
    await worker.runOnce();
    expect(await h.service.get(org, fourth)).toMatchObject({ status: 'DELIVERED' });
    await t.db('erp_connection').where({ id: conn }).update({ status: 'DISABLED' });
    await worker.runOnce();
    expect(await h.service.get(org, fifth)).toMatchObject({ status: 'DEAD', lastError: { code: 'CONNECTION_DISABLED' } });
    const mock = h.registry.get('MOCK') as unknown as MockConnector;
    expect(mock.deliveries(conn).map((d) => d.documentId).sort()).toEqual(['INV-C1', 'INV-C4']);
  });

  it('a config that does not decrypt makes the push DEAD with "Configuration error", and no ciphertext is logged', async () => {
    const org = await h.newOrg();
    const conn = await h.newConnection(org, 'MOCK', { apiKey: 'canary-3f9a1c' });
    const { push } = await h.service.accept(org, invoice('INV-E'));
    const row = await t.db('erp_connection').where({ id: conn }).first();
    const blob = Buffer.from(row.config_encrypted as Uint8Array);
    blob[blob.length - 1]! ^= 0x01;
    await t.db('erp_connection').where({ id: conn }).update({ config_encrypted: blob });
    await h.worker().runOnce();
    const view = await h.service.get(org, push.id);
    expect(view).toMatchObject({ status: 'DEAD', lastError: { code: 'CONFIG_DECRYPT_FAILED', message: 'Configuration error' } });
    const logs = h.logLines.join('');
    expect(logs).toContain(conn);
    expect(logs).not.toContain(blob.toString('hex').slice(0, 32));
    expect(logs).not.toContain(blob.toString('base64').slice(0, 32));
    expect(logs).not.toContain('canary-3f9a1c');
  });

  it('secrets in connector error messages are scrubbed from the stored last error', async () => {
    const org = await h.newOrg();
    await h.newConnection(org, 'MOCK', { behavior: 'fail-retryable', apiKey: 'canary-77e1d0', echoSecret: true });
    const { push } = await h.service.accept(org, invoice('INV-S'));
    await h.worker().runOnce();
    const view = await h.service.get(org, push.id);
    expect(view.lastError!.message).toContain('[REDACTED]');
    expect(JSON.stringify(view)).not.toContain('canary-77e1d0');
    expect(JSON.stringify(await status(push.id))).not.toContain('canary-77e1d0');
    expect(h.logLines.join('')).not.toContain('canary-77e1d0');
  });

  it('secrets a connector puts in receipts, acknowledgement details, rejections and ack errors never reach the push record', async () => {
    const w = h.worker({ ackCheckIntervalMs: 1_000, ackTimeoutMs: 10_000 });
    const cases: Array<{ ack: string; canary: string; expected: string }> = [
      { ack: 'acknowledge', canary: 'canary-ack-5be1', expected: 'ACKNOWLEDGED' },
      { ack: 'reject', canary: 'canary-rej-9d02', expected: 'REJECTED' },
      { ack: 'none', canary: 'canary-none-c4a7', expected: 'DELIVERED' },
    ];
    const pushes: Array<{ org: string; id: string; canary: string; expected: string }> = [];
    for (const c of cases) {
      const org = await h.newOrg();
      await h.newConnection(org, 'MOCK', { apiKey: c.canary, echoSecret: true, ack: c.ack });
      const { push } = await h.service.accept(org, invoice(`INV-E-${c.ack}`));
      pushes.push({ org, id: push.id, canary: c.canary, expected: c.expected });
    }
    await w.runOnce();
    h.clock.advance(1_000);
    await w.checkAcksOnce();
    for (const p of pushes) {
      const view = await h.service.get(p.org, p.id);
      expect(view.status).toBe(p.expected);
      expect(JSON.stringify(view)).toContain('[REDACTED]');
      expect(JSON.stringify(view)).not.toContain(p.canary);
      expect(JSON.stringify(await status(p.id))).not.toContain(p.canary);
    }
    expect(h.logLines.join('')).not.toMatch(/canary-(ack|rej|none)/);
  });

  it('a push whose worker died is delivered again after the lease expires; the dead worker cannot overwrite it', async () => {
    const org = await h.newOrg();
    const conn = await h.newConnection(org, 'MOCK', {});
    const { push } = await h.service.accept(org, invoice('INV-L'));
    const repo = new PushRepository(t.db);
    const now = h.clock.now();
    // "dead-worker" claims and never reports back.
    await repo.claimDue('dead-worker', now, new Date(now.getTime() + 60_000), 10);
    const w = h.worker({ leaseMs: 60_000, leaseCheckIntervalMs: 1 });
    h.clock.advance(59_000);
    expect(await w.runOnce()).toBe(0);
    expect(await status(push.id)).toMatchObject({ status: 'PROCESSING', locked_by: 'dead-worker' });
    h.clock.advance(1_001);
    expect(await w.runOnce()).toBe(1);
    // Delivered: the current error is cleared; the failure of the lost attempt stays in lastFailure.
    expect(await h.service.get(org, push.id)).toMatchObject({ status: 'DELIVERED', attempts: 2, lastError: null, lastFailure: { code: 'WORKER_LOST' } });
    // The old holder wakes up and tries to record a failure for its (first) attempt: fenced out.
    expect(await repo.markDead('dead-worker', [{ id: push.id, attempts: 1, code: 'LATE', message: 'late', at: h.clock.now() }])).toEqual([]);
    expect(await repo.markDead(w.workerId, [{ id: push.id, attempts: 1, code: 'LATE', message: 'late', at: h.clock.now() }])).toEqual([]);
    expect((await status(push.id)).status).toBe('DELIVERED');
    expect((h.registry.get('MOCK') as unknown as MockConnector).deliveries(conn)).toHaveLength(1);
  });

  it('a push retried over the horizon (past maxAttempts) whose worker died is requeued while its horizon lasts, not WORKER_LOST', async () => {
    const org = await h.newOrg();
    await h.newConnection(org, 'MOCK', {});
    const repo = new PushRepository(t.db);
    const now = h.clock.now();
    const hour = 3_600_000;
    const ids: Record<string, string> = {};
    // [attempts, accepted how long ago]: past the limit within the horizon, past it beyond, at the limit.
    for (const [name, attempts, ageMs] of [['horizon', 7, hour], ['expired', 7, 25 * hour], ['last', 3, hour]] as const) {
      ids[name] = (await h.service.accept(org, invoice(`INV-H-${name}`))).push.id;
      await t.db('push').where({ id: ids[name] }).update({
        status: 'PROCESSING', attempts, locked_by: 'dead-worker', locked_until: new Date(now.getTime() - 1), created_at: new Date(now.getTime() - ageMs),
      });
    }
    const requeued = await repo.requeueExpiredLeases(now, 3, 100, 24 * hour);
    const statusOf = (id: string) => requeued.find((r) => r.id === id)?.status;
    expect(statusOf(ids.horizon!)).toBe('PENDING');
    expect(statusOf(ids.expired!)).toBe('DEAD');
    expect(statusOf(ids.last!)).toBe('DEAD');
    expect(await status(ids.horizon!)).toMatchObject({ status: 'PENDING', last_failure_code: 'WORKER_LOST' });
  });

  it('acknowledgements: acknowledged after a pending check, rejected (then retryable), and ACK_TIMEOUT', async () => {
    const org = await h.newOrg();
    await h.newConnection(org, 'MOCK', { ack: 'acknowledge', ackAfterChecks: 1 });
    const w = h.worker({ ackCheckIntervalMs: 1_000, ackTimeoutMs: 10_000 });
    const { push } = await h.service.accept(org, invoice('INV-A'));
    await w.runOnce();
    expect(await w.checkAcksOnce()).toBe(0); // not due yet
    h.clock.advance(1_000);
    expect(await w.checkAcksOnce()).toBe(1);
    expect((await h.service.get(org, push.id)).status).toBe('DELIVERED');
    h.clock.advance(1_000);
    expect(await w.checkAcksOnce()).toBe(1);
    const acked = await h.service.get(org, push.id);
    expect(acked).toMatchObject({ status: 'ACKNOWLEDGED', ackDetails: { erpDocumentNumber: expect.stringMatching(/^MOCK-/) } });
    expect(acked.acknowledgedAt).toBe(h.clock.now().toISOString());

    const org2 = await h.newOrg();
    await h.newConnection(org2, 'MOCK', { ack: 'reject' });
    const { push: p2 } = await h.service.accept(org2, invoice('INV-R'));
    await w.runOnce();
    h.clock.advance(1_000);
    await w.checkAcksOnce();
    expect(await h.service.get(org2, p2.id)).toMatchObject({ status: 'REJECTED', lastError: { code: 'REJECTED_BY_ERP' } });
    expect((await h.service.retry(org2, p2.id)).status).toBe('PENDING');

    const org3 = await h.newOrg();
    await h.newConnection(org3, 'MOCK', { ack: 'pending' });
    const { push: p3 } = await h.service.accept(org3, invoice('INV-T'));
    await w.runOnce();
    for (let i = 0; i < 9; i++) {
      h.clock.advance(1_000);
      await w.checkAcksOnce();
    }
    expect((await h.service.get(org3, p3.id)).status).toBe('DELIVERED');
    h.clock.advance(1_000);
    await w.checkAcksOnce();
    expect(await h.service.get(org3, p3.id)).toMatchObject({ status: 'DEAD', lastError: { code: 'ACK_TIMEOUT' } });
  });

  it('a connector without acknowledgements (ack "none") stays DELIVERED and is no longer checked', async () => {
    const org = await h.newOrg();
    await h.newConnection(org, 'MOCK', {});
    const w = h.worker({ ackCheckIntervalMs: 1_000 });
    const { push } = await h.service.accept(org, invoice('INV-N'));
    await w.runOnce();
    h.clock.advance(1_000);
    expect(await w.checkAcksOnce()).toBe(1);
    h.clock.advance(1_000);
    expect(await w.checkAcksOnce()).toBe(0);
    const view = await h.service.get(org, push.id);
    expect(view).toMatchObject({ status: 'DELIVERED', lastError: null, ackDetails: { ackChecksStopped: { code: 'MOCK_ACK_UNSUPPORTED' } } });
  });

  it('a receipt that says no acknowledgement will come (expectAcknowledgement: false) schedules no check at all', async () => {
    const org = await h.newOrg();
    await h.newConnection(org, 'MOCK', { ack: 'off' });
    const w = h.worker({ ackCheckIntervalMs: 1_000 });
    const { push } = await h.service.accept(org, invoice('INV-OFF'));
    await w.runOnce();
    h.clock.advance(60_000);
    expect(await w.checkAcksOnce()).toBe(0);
    const view = await h.service.get(org, push.id);
    expect(view).toMatchObject({ status: 'DELIVERED', externalRef: `mock:${push.id}`, ackDeadline: null, ackDetails: null });
  });

  it('graceful shutdown releases what it holds: PENDING again, the attempt not counted', async () => {
    const org = await h.newOrg();
    await h.newConnection(org, 'MOCK', { behavior: 'slow', delayMs: 20_000 });
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await h.service.accept(org, invoice(`INV-G${i}`))).push.id);
    const w = h.worker({ concurrency: 4, shutdownGraceMs: 100 });
    w.start();
    for (let i = 0; i < 200 && w.inflight < 3; i++) await new Promise((r) => setTimeout(r, 10));
    expect(w.inflight).toBe(3);
    const started = Date.now();
    await w.stop();
    expect(Date.now() - started).toBeLessThan(10_000);
    for (const id of ids) expect(await status(id)).toMatchObject({ status: 'PENDING', attempts: 0, locked_by: null });
  });

  it('claims ahead of free slots up to prefetch, and a stop releases prefetched pushes unstarted', async () => {
    const org = await h.newOrg();
    const conn = await h.newConnection(org, 'MOCK', { behavior: 'slow', delayMs: 20_000 });
    const ids = [];
    for (let i = 0; i < 6; i++) ids.push((await h.service.accept(org, invoice(`INV-P${i}`))).push.id);
    const w = h.worker({ concurrency: 2, prefetch: 2, shutdownGraceMs: 100 });
    w.start();
    for (let i = 0; i < 300 && (w.inflight < 2 || w.prefetched < 2); i++) await new Promise((r) => setTimeout(r, 10));
    expect([w.inflight, w.prefetched]).toEqual([2, 2]);
    const counts = async () => (await h.service.stats(org)).counts;
    expect(await counts()).toMatchObject({ PROCESSING: 4, PENDING: 2 }); // never more than concurrency + prefetch leased
    const mock = h.registry.get('MOCK') as unknown as MockConnector;
    expect(mock.deliveries(conn)).toHaveLength(0);
    await w.stop();
    for (const id of ids) expect(await status(id)).toMatchObject({ status: 'PENDING', attempts: 0, locked_by: null });
  });

  it('a prefetched push that waited longer than half the lease margin is released, then delivered later', async () => {
    const org = await h.newOrg();
    await h.newConnection(org, 'MOCK', { delayMs: 300 });
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await h.service.accept(org, invoice(`INV-S${i}`))).push.id);
    // Lease margin 200 ms: a push may wait 100 ms for a slot; each delivery takes 300 ms.
    const w = h.worker({ concurrency: 1, prefetch: 2, pushTimeoutMs: 2_000, leaseMs: 2_200 });
    w.start();
    for (let i = 0; i < 500; i++) {
      const rows = await t.db('push').whereIn('id', ids).select('status');
      if (rows.every((r: { status: string }) => r.status === 'DELIVERED')) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await w.stop();
    // Released unstarted, so no attempt was spent on the wait: each was delivered on attempt 1.
    for (const id of ids) expect(await status(id)).toMatchObject({ status: 'DELIVERED', attempts: 1 });
    // Released, then no claiming ahead until a delivery ends: no claim/release churn.
    const releases = h.logLines.filter((l) => l.includes('released prefetched pushes that waited too long')).length;
    expect(releases).toBeGreaterThan(0);
    expect(releases).toBeLessThanOrEqual(3);
  });

  it('does not claim ahead when the lease margin leaves no time to wait, and rejects a bad prefetch', async () => {
    const org = await h.newOrg();
    await h.newConnection(org, 'MOCK', { behavior: 'slow', delayMs: 20_000 });
    for (let i = 0; i < 4; i++) await h.service.accept(org, invoice(`INV-T${i}`));
    // 1 ms of margin: half of it is below the 50 ms poll interval.
    const w = h.worker({ concurrency: 1, prefetch: 2, pushTimeoutMs: 30_000, leaseMs: 30_001, shutdownGraceMs: 100 });
    w.start();
    for (let i = 0; i < 300 && w.inflight < 1; i++) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 200));
    expect([w.inflight, w.prefetched]).toEqual([1, 0]);
    expect((await h.service.stats(org)).counts).toMatchObject({ PROCESSING: 1, PENDING: 3 });
    await w.stop();
    expect(() => h.worker({ prefetch: -1 })).toThrow(/prefetch/);
    expect(() => h.worker({ prefetch: Number.NaN })).toThrow(/prefetch/);
  });

  it('lists with keyset pagination and filters, and counts by status', async () => {
    const org = await h.newOrg();
    await h.newConnection(org, 'MOCK', {});
    for (let i = 0; i < 7; i++) {
      await h.service.accept(org, { documentType: i % 2 === 0 ? 'invoice' : 'bill', documentId: `D${i}`, payload: { i } });
      h.clock.advance(1);
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await h.service.list(org, { limit: 3, ...(cursor !== undefined ? { cursor } : {}) });
      seen.push(...page.items.map((p) => p.documentId));
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    expect(seen).toEqual(['D6', 'D5', 'D4', 'D3', 'D2', 'D1', 'D0']);
    expect((await h.service.list(org, { documentType: 'bill' })).items.map((p) => p.documentId)).toEqual(['D5', 'D3', 'D1']);
    expect((await h.service.list(org, { status: 'DELIVERED' })).items).toHaveLength(0);
    await expect(h.service.list(org, { cursor: 'nope' })).rejects.toMatchObject({ code: 'ERPC_ERR_CURSOR_INVALID' });
    expect(await h.service.stats(org)).toEqual({ counts: { PENDING: 7, PROCESSING: 0, DELIVERED: 0, ACKNOWLEDGED: 0, REJECTED: 0, DEAD: 0 }, total: 7 });
    expect((await h.service.list(randomUUID())).items).toEqual([]);
  });
});
