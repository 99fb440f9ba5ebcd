import { afterEach, describe, expect, it } from 'vitest';
import { Repositories } from '../../src/storage/repositories/index.js';
import { eventBody } from '../../src/webhooks/webhook-dispatcher.js';
import { toPushView } from '../../src/push/push-types.js';
import { toRow } from '../../src/storage/repositories/push-repository.js';
import { testBackends } from '../support/db.js';
import { sleep, verified, webhookWorld, type WebhookWorld } from './support.js';

/** Claims every due push for worker `w1`; `outcome(id)` is the delivered outcome of one of them. */
async function claimAll(repos: Repositories, receiptDetails: Record<string, unknown> | null) {
  const now = new Date();
  const lease = new Date(now.getTime() + 60_000);
  const claimed = await repos.pushes.claimDueWithConnections('w1', now, lease, 10);
  const outcome = (id: string) => {
    const c = claimed.find((x) => x.row.id === id)!;
    return { id, attempts: c.row.attempts, externalRef: `X-${id}`, receiptDetails, at: now, ackDeadline: null, nextAckCheckAt: null };
  };
  return { now, lease, outcome };
}

/** The outbox shares the outcome's transaction: both commit, or neither. */
describe.each(testBackends())('webhook outbox on $name', (backend) => {
  let world: WebhookWorld;
  afterEach(async () => world?.close());

  it('an outcome rolled back leaves no event; committed, exactly one; a lost lease writes none', { timeout: 30_000 }, async () => {
    world = await webhookWorld(backend, {}, { start: false });
    const o = await world.org({ ack: 'off' }, ['push.delivered']);
    const pushId = await world.push(o.apiKey, 'inv-tx');
    const repos = new Repositories(world.host.database.db);
    const now = new Date();
    const [claimed] = await repos.pushes.claimDueWithConnections('w1', now, new Date(now.getTime() + 60_000), 10);
    const outcome = { id: pushId, attempts: claimed!.row.attempts, externalRef: 'X', receiptDetails: null, at: now, ackDeadline: null, nextAckCheckAt: null };
    const count = async () => Number((await world.host.database.db('webhook_event').count({ n: '*' }).first())!.n);

    await expect(
      repos.transaction(async (tx) => {
        const ids = await tx.pushes.markDelivered('w1', [outcome]);
        expect(await tx.webhooks.insertPushEvents('push.delivered', ids, now)).toBe(1);
        throw new Error('the commit never happens');
      }),
    ).rejects.toThrow('the commit never happens');
    expect(await count()).toBe(0);
    expect((await world.host.database.db('push').where({ id: pushId }).first()).status).toBe('PROCESSING');

    // Another worker's fenced write (wrong worker id) writes no outcome, hence no event.
    await repos.transaction(async (tx) => {
      const ids = await tx.pushes.markDelivered('someone-else', [outcome]);
      expect(ids).toEqual([]);
      expect(await tx.webhooks.insertPushEvents('push.delivered', ids, now)).toBe(0);
    });
    expect(await count()).toBe(0);

    await repos.transaction(async (tx) => {
      const ids = await tx.pushes.markDelivered('w1', [outcome]);
      await tx.webhooks.insertPushEvents('push.delivered', ids, now);
    });
    expect(await count()).toBe(1);
    const event = await world.host.database.db('webhook_event').first();
    expect(event).toMatchObject({ type: 'push.delivered', push_id: pushId, org_id: o.orgId });
    expect(event.data).toMatchObject({ id: pushId, status: 'DELIVERED', external_ref: 'X' });
    expect(event.data.payload_text).toBeUndefined();
  });

  it('writes up to the offered number of deliveries already claimed, never ahead of a waiting earlier event, with the bytes a claim gives', { timeout: 30_000 }, async () => {
    world = await webhookWorld(backend, {}, { start: false });
    const o = await world.org({ ack: 'off' }, ['push.delivered', 'push.acknowledged']);
    const payloadText = '{"amount":118.00,"n":1e2}';
    const ids = [await world.push(o.apiKey, 'h-1', payloadText), await world.push(o.apiKey, 'h-2', payloadText), await world.push(o.apiKey, 'h-3', payloadText)];
    const db = world.host.database.db;
    const repos = new Repositories(db);
    const now = new Date();
    const lease = new Date(now.getTime() + 60_000);
    const claimedPushes = await repos.pushes.claimDueWithConnections('w1', now, lease, 10);
    const outcomes = claimedPushes.map((c) => ({ id: c.row.id, attempts: c.row.attempts, externalRef: 'X', receiptDetails: null, at: now, ackDeadline: null, nextAckCheckAt: null }));
    // h-3 already has an earlier event waiting for the endpoint: its new one must wait too (ADR 0035 order).
    await repos.transaction((tx) => tx.webhooks.insertPushEvents('push.acknowledged', [ids[2]!], now));

    // Rolled back: nothing stays claimed.
    await expect(
      repos.transaction(async (tx) => {
        const written = await tx.pushes.markDelivered('w1', outcomes);
        const r = await tx.webhooks.insertPushEventsClaiming('push.delivered', written, now, { workerId: 'wd', leaseUntil: lease, limit: 5 });
        expect(r.claimed).toHaveLength(2);
        throw new Error('no commit');
      }),
    ).rejects.toThrow('no commit');
    expect(Number((await db('webhook_delivery').where({ status: 'PROCESSING' }).count({ n: '*' }).first())!.n)).toBe(0);

    const r = await repos.transaction(async (tx) => {
      const written = await tx.pushes.markDelivered('w1', outcomes);
      return tx.webhooks.insertPushEventsClaiming('push.delivered', written, now, { workerId: 'wd', leaseUntil: lease, limit: 1 });
    });
    expect(r.queued).toBe(3);
    expect(r.claimed).toHaveLength(1);
    const [c] = r.claimed;
    expect(c).toMatchObject({ status: 'PROCESSING', attempts: 1, type: 'push.delivered', endpointId: o.endpointId, orgId: o.orgId, payloadText });
    expect([ids[0], ids[1]]).toContain(c!.pushId);
    const rows = await db('webhook_delivery').whereIn('push_id', ids).orderBy('created_at');
    expect(rows.filter((d) => d.status === 'PROCESSING')).toEqual([expect.objectContaining({ id: c!.id, locked_by: 'wd', attempts: 1 })]);
    // h-3's delivered event is written PENDING behind its earlier acknowledged event.
    expect(rows.filter((d) => d.push_id === ids[2]).map((d) => d.status)).toEqual(['PENDING', 'PENDING']);

    // The same bytes as a claim of the same delivery gives, on a later attempt.
    const first = eventBody(c!);
    expect(JSON.parse(first).data.payload).toBeDefined();
    expect(first).toContain('"amount":118.00');
    await db('webhook_delivery').where({ id: c!.id }).update({ status: 'PENDING', locked_by: null, locked_until: null });
    const again = (await repos.webhooks.claimDue('wd2', now, lease, 10)).find((d) => d.id === c!.id);
    expect(again).toBeDefined();
    expect(eventBody(again!)).toBe(first);
  });

  it('the one-statement outcome (markWithEvents) writes what the transaction path writes: fenced, the same event data, the same body bytes', { timeout: 30_000 }, async () => {
    world = await webhookWorld(backend, {}, { start: false });
    const o = await world.org({ ack: 'off' }, ['push.delivered', 'push.acknowledged']);
    const payloadText = '{"amount":118.00,"n":1e2,"name":"Çà \\u2028 \\"q\\"","lines":[{"qty":1.50}]}';
    const ids = [await world.push(o.apiKey, 's-1', payloadText), await world.push(o.apiKey, 's-2', payloadText), await world.push(o.apiKey, 's-3', payloadText)];
    const db = world.host.database.db;
    const repos = new Repositories(db);
    const { now, lease, outcome } = await claimAll(repos, { n: 1 });
    // s-3 has an earlier event waiting for the endpoint: its delivered event waits behind it.
    await repos.transaction((tx) => tx.webhooks.insertPushEvents('push.acknowledged', [ids[2]!], now));

    // A fenced write (another worker's id) writes no outcome and no event.
    const lost = await repos.pushes.markWithEvents('delivered', 'someone-else', [outcome(ids[0]!)], { type: 'push.delivered', at: now, claim: { workerId: 'wd', leaseUntil: lease, limit: 5 } });
    expect(lost).toEqual({ written: [], queued: 0, claimed: [], claimedIds: [] });
    expect(Number((await db('webhook_event').where({ type: 'push.delivered' }).count({ n: '*' }).first())!.n)).toBe(0);

    const r = await repos.pushes.markWithEvents('delivered', 'w1', [outcome(ids[0]!), outcome(ids[2]!)], { type: 'push.delivered', at: now, claim: { workerId: 'wd', leaseUntil: lease, limit: 5 } });
    expect(r.written.sort()).toEqual([ids[0], ids[2]].sort());
    expect(r.queued).toBe(2);
    expect(r.claimed.map((c) => c.pushId)).toEqual([ids[0]]);
    expect((await db('webhook_delivery').where({ push_id: ids[2] }).orderBy('event_seq')).map((d) => d.status)).toEqual(['PENDING', 'PENDING']);
    // The transaction path for s-2, to compare with.
    const t = await repos.transaction(async (tx) => {
      const written = await tx.pushes.markDelivered('w1', [outcome(ids[1]!)]);
      return tx.webhooks.insertPushEventsClaiming('push.delivered', written, now, { workerId: 'wd', leaseUntil: lease, limit: 5 });
    });
    const [viaStatement, viaTransaction] = [r.claimed[0]!, t.claimed[0]!];
    const strip = (data: Record<string, unknown>) => Object.fromEntries(Object.entries(data).filter(([k]) => !['id', 'document_id', 'idempotency_key', 'external_ref', 'created_at', 'updated_at', 'request_id', 'next_attempt_at'].includes(k)));
    expect(Object.keys(viaStatement.data).sort()).toEqual(Object.keys(viaTransaction.data).sort());
    expect(strip(viaStatement.data)).toEqual(strip(viaTransaction.data));
    // The stored text (JSON.stringify of the exact payload, ADR 0027: here the \u2028 escape is printed as the character).
    const stored = (await db('push').where({ id: ids[0] }).first()).payload_text as string;
    expect(stored).toContain('118.00');
    expect(viaStatement).toMatchObject({ status: 'PROCESSING', attempts: 1, type: 'push.delivered', payloadText: stored, payloadJson: null });
    expect(viaStatement.data).toMatchObject({ id: ids[0], status: 'DELIVERED', external_ref: `X-${ids[0]}` });
    // The body splices the stored text where the view prints the parsed payload: the same bytes.
    for (const c of [viaStatement, viaTransaction]) {
      const parsedAndPrinted = JSON.stringify({ type: c.type, timestamp: c.eventCreatedAt.toISOString(), data: toPushView(toRow({ ...c.data, payload_text: c.payloadText, payload: null }), true) });
      expect(eventBody(c)).toBe(parsedAndPrinted);
      expect(eventBody(c)).toContain('"qty":1.50');
    }
    // A legacy row's jsonb payload (no text) goes through the view.
    const legacy = { ...viaStatement, payloadText: null, payloadJson: { amount: 1 } };
    expect(JSON.parse(eventBody(legacy)).data.payload).toEqual({ amount: 1 });
  });

  it('a claim written by id alone (a held offer, ADR 0050) reads back, fenced by its worker, the same bytes as a whole one', { timeout: 30_000 }, async () => {
    world = await webhookWorld(backend, {}, { start: false });
    const o = await world.org({ ack: 'off' }, ['push.delivered']);
    const payloadText = '{"amount":118.00,"lines":[{"qty":1.50}]}';
    const ids = [await world.push(o.apiKey, 'h-1', payloadText), await world.push(o.apiKey, 'h-2', payloadText)];
    const db = world.host.database.db;
    const repos = new Repositories(db);
    const { now, lease, outcome } = await claimAll(repos, null);
    const byId = await repos.pushes.markWithEvents('delivered', 'w1', [outcome(ids[0]!)], { type: 'push.delivered', at: now, claim: { workerId: 'wd', leaseUntil: lease, limit: 5, idsOnly: true } });
    expect(byId).toMatchObject({ queued: 1, claimed: [] });
    expect(byId.claimedIds).toHaveLength(1);
    const whole = await repos.pushes.markWithEvents('delivered', 'w1', [outcome(ids[1]!)], { type: 'push.delivered', at: now, claim: { workerId: 'wd', leaseUntil: lease, limit: 5 } });
    expect(whole.claimedIds).toEqual([]);
    // Written claimed for 'wd' all the same: PROCESSING under its lease.
    expect(await db('webhook_delivery').where({ id: byId.claimedIds[0] }).first()).toMatchObject({ status: 'PROCESSING', locked_by: 'wd', attempts: 1 });
    // Read back by its worker only; another worker, or one whose lease went, gets nothing.
    expect(await repos.webhooks.loadClaimed('someone-else', byId.claimedIds)).toEqual([]);
    const [loaded] = await repos.webhooks.loadClaimed('wd', byId.claimedIds);
    expect(loaded).toMatchObject({ id: byId.claimedIds[0], pushId: ids[0], status: 'PROCESSING', attempts: 1, type: 'push.delivered' });
    const strip = (body: string) => body.replaceAll(ids[0]!, 'ID').replaceAll(ids[1]!, 'ID').replace(/"(document_id|documentId|idempotency_key|idempotencyKey|externalRef|external_ref)":"[^"]*"/g, '"$1":""').replace(/"(createdAt|updatedAt|timestamp|deliveredAt|lastAttemptAt|nextAttemptAt)":"[^"]*"/g, '"$1":""');
    expect(strip(eventBody(loaded!))).toBe(strip(eventBody(whole.claimed[0]!)));
    expect(eventBody(loaded!)).toContain('"amount":118.00');
    // An endpoint disabled meanwhile: not read (its lease runs out; the claim skips it).
    await db('webhook_endpoint').where({ org_id: o.orgId }).update({ enabled: false });
    expect(await repos.webhooks.loadClaimed('wd', byId.claimedIds)).toEqual([]);
  });

  it('the outcome writer hands its events\' deliveries to the dispatcher of its process: sent with no claim', { timeout: 30_000 }, async () => {
    world = await webhookWorld(backend);
    const o = await world.org({ ack: 'off' }, ['push.delivered']);
    await world.push(o.apiKey, 'handed-1');
    await world.push(o.apiKey, 'handed-2');
    await world.receiver.waitFor(() => world.of(o.orgId).length >= 2);
    await sleep(300);
    expect(world.of(o.orgId)).toHaveLength(2);
    for (const r of world.of(o.orgId)) expect(verified(o.secret, r).type).toBe('push.delivered');
    // A delivery claimed by the dispatcher's query gets last_attempt_at = the claim's time; one
    // written claimed gets the outcome's own time, the event's created_at.
    const rows = await world.host.database.db('webhook_delivery as d').join('webhook_event as e', 'e.id', 'd.event_id').where('d.org_id', o.orgId).select('d.status', 'd.attempts', 'd.last_attempt_at', 'e.created_at');
    expect(rows).toHaveLength(2);
    for (const d of rows) {
      expect(d).toMatchObject({ status: 'DELIVERED', attempts: 1 });
      expect(new Date(d.last_attempt_at).getTime()).toBe(new Date(d.created_at).getTime());
    }
    // An offer reserves the slots it gives until it is settled: a second one meanwhile gets none.
    const dispatcher = world.runtime.webhooks;
    const first = dispatcher.offer(new Date())!;
    expect(first.limit).toBeGreaterThan(0);
    expect(dispatcher.offer(new Date())).toBeUndefined();
    dispatcher.cancel(first);
    const again = dispatcher.offer(new Date())!;
    expect(again.limit).toBe(first.limit);
    dispatcher.take([], again);
    expect(dispatcher.reserved).toBe(0);
  });
});
