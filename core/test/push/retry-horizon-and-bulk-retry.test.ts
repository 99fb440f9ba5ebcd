// Issue I: operator-fixable failures retried over the horizon (not the attempt count), bulk
// recovery of dead letters, lastError cleared on delivery (lastFailure kept), unknown orgs.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { testBackends, type TestDatabase } from '../support/db.js';
import { RetryPolicy } from '../../src/push/retry-policy.js';
import { pushHarness, type PushHarness } from './fixtures.js';

const invoice = (id: string, payload: Record<string, unknown> = { total: 100 }) => ({ documentType: 'invoice', documentId: id, payload });

describe.each(testBackends())('retry horizon and bulk retry on $name', (backend) => {
  let t: TestDatabase;
  let h: PushHarness;
  let dir: string;
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
    dir = mkdtempSync(join(tmpdir(), 'erpc-horizon-'));
    return () => rmSync(dir, { recursive: true, force: true });
  });

  const HOUR = 3_600_000;
  const policy = () => new RetryPolicy({ jitter: 0, maxAttempts: 3, baseMs: 5_000, capMs: 15 * 60_000, horizonMs: 2 * HOUR });

  it('finding: a drop folder missing for a while made pushes DEAD at once; now retried past maxAttempts and delivered when it is back', async () => {
    const org = await h.newOrg();
    const root = join(dir, 'mount');
    await h.newConnection(org, 'DROPZONE_JSON_V1', { rootPath: root, layout: 'flat', fsync: false });
    const { push } = await h.service.accept(org, invoice('HEAL-1'));
    const w = h.worker({ retryPolicy: policy() });
    for (let i = 1; i <= 6; i++) {
      expect(await w.runOnce()).toBe(1);
      expect(await h.service.get(org, push.id)).toMatchObject({ status: 'PENDING', attempts: i, lastError: { code: 'DROPZONE_ROOT_MISSING' } });
      h.clock.advance(15 * 60_000);
    }
    mkdirSync(root);
    expect(await w.runOnce()).toBe(1);
    expect(await h.service.get(org, push.id)).toMatchObject({
      status: 'DELIVERED', attempts: 7, lastError: null, lastFailure: { code: 'DROPZONE_ROOT_MISSING' },
    });
  });

  it('an operator-fixable failure ends as a dead letter once the horizon has passed, and says so', async () => {
    const org = await h.newOrg();
    await h.newConnection(org, 'DROPZONE_JSON_V1', { rootPath: join(dir, 'never'), layout: 'flat', fsync: false });
    const { push } = await h.service.accept(org, invoice('HORIZON-1'));
    const w = h.worker({ retryPolicy: policy() });
    let attempts = 0;
    for (;;) {
      expect(await w.runOnce()).toBe(1);
      attempts++;
      const view = await h.service.get(org, push.id);
      if (view.status === 'DEAD') {
        expect(view.lastError!.code).toBe('DROPZONE_ROOT_MISSING');
        expect(view.lastError!.message).toContain('retry horizon of 2 h');
        break;
      }
      expect(view.status).toBe('PENDING');
      h.clock.advance(Date.parse(view.nextAttemptAt!) - h.clock.now().getTime());
      expect(attempts).toBeLessThan(50);
    }
    // 5 s, 10 s, … capped at 15 min: well over maxAttempts (3) within two hours, and no attempt after them.
    expect(attempts).toBeGreaterThan(8);
    expect(h.clock.now().getTime() - Date.parse('2026-01-05T10:00:00.000Z')).toBeLessThanOrEqual(2 * HOUR);
  });

  it('ordinary retryable failures still stop at maxAttempts (existing plugins keep their behaviour)', async () => {
    const org = await h.newOrg();
    await h.newConnection(org, 'MOCK', { behavior: 'fail-retryable' });
    const { push } = await h.service.accept(org, invoice('OLD-1'));
    const w = h.worker({ retryPolicy: policy() });
    for (let i = 0; i < 3; i++) {
      expect(await w.runOnce()).toBe(1);
      h.clock.advance(15 * 60_000);
    }
    expect(await h.service.get(org, push.id)).toMatchObject({ status: 'DEAD', attempts: 3, lastError: { code: 'MOCK_UNAVAILABLE' } });
  });

  it('finding: a retried-then-delivered push still showed its old lastError; now null, with lastFailure kept', async () => {
    const org = await h.newOrg();
    await h.newConnection(org, 'MOCK', { behavior: 'fail-retryable', failTimes: 1 });
    const { push } = await h.service.accept(org, invoice('LE-1'));
    const w = h.worker();
    expect(await w.runOnce()).toBe(1);
    h.clock.advance(5_000);
    expect(await w.runOnce()).toBe(1);
    const view = await h.service.get(org, push.id);
    expect(view).toMatchObject({ status: 'DELIVERED', lastError: null, lastFailure: { code: 'MOCK_UNAVAILABLE', at: expect.any(String) } });
  });

  it('finding: recovery was one call per push; bulk retry requeues every matching dead letter in batches, once', async () => {
    const org = await h.newOrg();
    const conn = await h.newConnection(org, 'MOCK', {});
    const items = Array.from({ length: 1_203 }, (_, i) => invoice(`BULK-${i}`));
    const accepted = await h.service.acceptMany(org, items);
    expect(accepted.every((r) => r.ok)).toBe(true);
    const at = h.clock.now();
    await t.db('push').where({ org_id: org }).update({ status: 'DEAD', dead_at: at, last_error_code: 'DROPZONE_DISK_FULL', next_attempt_at: null });
    await t.db('push').where({ org_id: org, document_id: 'BULK-0' }).update({ last_error_code: 'OTHER' });
    // Another organisation's dead letter is never touched.
    const other = await h.newOrg();
    await h.newConnection(other, 'MOCK', {});
    const { push: foreign } = await h.service.accept(other, invoice('FOREIGN'));
    await t.db('push').where({ id: foreign.id }).update({ status: 'DEAD', dead_at: at, last_error_code: 'DROPZONE_DISK_FULL' });

    expect(await h.service.retryDead(org, { code: 'DROPZONE_DISK_FULL' }, { dryRun: true })).toEqual({ requeued: 0, matched: 1_202, dryRun: true });
    expect(await t.db('push').where({ org_id: org, status: 'DEAD' }).count({ n: '*' }).first()).toMatchObject({ n: expect.anything() });
    h.clock.advance(1_000);
    expect(await h.service.retryDead(org, { code: 'DROPZONE_DISK_FULL', connectionId: conn })).toEqual({ requeued: 1_202, matched: 1_202, dryRun: false });
    expect(await h.service.retryDead(org, { code: 'DROPZONE_DISK_FULL' })).toEqual({ requeued: 0, matched: 0, dryRun: false });
    expect(Number((await t.db('push').where({ org_id: org, status: 'PENDING' }).count({ n: '*' }).first())!.n)).toBe(1_202);
    expect((await h.service.get(org, accepted[1]!.ok ? accepted[1]!.push.id : '')).manualRetries).toBe(1);
    expect((await t.db('push').where({ id: foreign.id }).first()).status).toBe('DEAD');
    // Time filters: BULK-0 died at `at`.
    expect((await h.service.retryDead(org, { deadAfter: new Date(at.getTime() + 1).toISOString() })).requeued).toBe(0);
    expect((await h.service.retryDead(org, { deadBefore: new Date(at.getTime() + 1).toISOString(), documentType: 'invoice' })).requeued).toBe(1);
    await expect(h.service.retryDead(org, { connectionId: 'nope' })).rejects.toMatchObject({ code: 'ERPC_ERR_PUSH_INVALID' });
    await expect(h.service.retryDead(randomUUID(), {})).rejects.toMatchObject({ code: 'ERPC_ERR_ORG_NOT_FOUND' });
  });

  it('finding: an unknown (or malformed) org was "has no ACTIVE ERP connection" or raw SQL; now ERPC_ERR_ORG_NOT_FOUND', async () => {
    await expect(h.service.accept('nope', invoice('X'))).rejects.toMatchObject({ code: 'ERPC_ERR_ORG_NOT_FOUND' });
    await expect(h.service.accept(randomUUID(), invoice('X'))).rejects.toMatchObject({ code: 'ERPC_ERR_ORG_NOT_FOUND' });
    const org = await h.newOrg();
    await expect(h.service.accept(org, invoice('X'))).rejects.toMatchObject({ code: 'ERPC_ERR_NO_ACTIVE_CONNECTION' });
  });

  it('library callers get the same refusals: NaN, undefined in arrays, class instances, deep nesting, NUL in ids', async () => {
    const org = await h.newOrg();
    await h.newConnection(org, 'MOCK', {});
    const cases: [Record<string, unknown>, string][] = [
      [{ total: Number.NaN }, '/payload/total'],
      [{ lines: [1, undefined] }, '/payload/lines/1'],
      [{ when: new Date() }, '/payload/when'],
      [{ 'a/b~c': '\u0000' }, '/payload/a~1b~0c'],
    ];
    for (const [payload, path] of cases) {
      await expect(h.service.accept(org, invoice(`LIB-${path}`, payload))).rejects.toMatchObject({ code: 'ERPC_ERR_INPUT_REFUSED', details: { path } });
    }
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 100_000; i++) deep = { a: deep };
    await expect(h.service.accept(org, invoice('LIB-deep', deep))).rejects.toMatchObject({ code: 'ERPC_ERR_INPUT_REFUSED' });
    await expect(h.service.accept(org, { ...invoice('LIB\u0000'), idempotencyKey: 'k' })).rejects.toMatchObject({ details: { path: '/documentId' } });
  });
});
