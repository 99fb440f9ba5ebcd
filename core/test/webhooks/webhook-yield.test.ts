import { afterEach, describe, expect, it } from 'vitest';
import { testBackends } from '../support/db.js';
import { sleep, verified, webhookWorld, type WebhookWorld } from './support.js';

// Push deliveries first (ADR 0050): while the push worker of a process has a backlog (its last
// claim came back full), that process's dispatcher holds new webhooks for up to
// ERPC_WEBHOOK_YIELD_MS, then sends them in order with the rest. A worker of 2 slots without
// prefetch and a MOCK ERP that takes 60 ms per push make a backlog of a known length.
const BACKLOG_WORKER = { concurrency: 2, prefetch: 0 };
const SLOW_ERP = { ack: 'off', delayMs: 60 };

describe.each(testBackends())('webhooks give way to a push backlog on $name (ADR 0050)', (backend) => {
  let world: WebhookWorld;
  afterEach(async () => world?.close());

  async function pushAll(apiKey: string, n: number, prefix: string): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) ids.push(await world.push(apiKey, `${prefix}-${i}`));
    return ids;
  }
  const counts = async (orgId: string) => {
    const rows = await world.host.database.db('push').where({ org_id: orgId }).select('status').count({ n: '*' }).groupBy('status');
    const by = Object.fromEntries(rows.map((r) => [r.status as string, Number(r.n)]));
    return { delivered: by.DELIVERED ?? 0, waiting: (by.PENDING ?? 0) + (by.PROCESSING ?? 0) };
  };
  /** Polls until `test` holds (or throws after `ms`); returns what it saw then. */
  async function until<T>(read: () => Promise<T>, test: (v: T) => boolean, ms: number, what: string): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = await read();
      if (test(v)) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(v)}`);
      await sleep(10);
    }
  }

  it('holds the webhooks of delivered pushes while the backlog lasts, then sends every one, once, verified', { timeout: 60_000 }, async () => {
    world = await webhookWorld(backend, { ERPC_WEBHOOK_YIELD_MS: '60000' }, { start: false, worker: BACKLOG_WORKER });
    const o = await world.org(SLOW_ERP, ['push.delivered']);
    const ids = await pushAll(o.apiKey, 24, 'held');
    await world.runtime.start();
    // Half-way through the backlog: pushes delivered, their events written, none sent yet.
    const mid = await until(() => counts(o.orgId), (c) => c.delivered >= 8, 30_000, 'eight deliveries');
    expect(mid.waiting).toBeGreaterThan(0);
    expect(world.runtime.worker.backlogged).toBe(true);
    expect(world.runtime.webhooks.yielding).toBe(true);
    // Held in memory, claimed for this dispatcher (no second claim needed afterwards).
    expect(world.runtime.webhooks.heldCount).toBeGreaterThan(0);
    const events = Number((await world.host.database.db('webhook_event').where({ org_id: o.orgId }).count({ n: '*' }).first())!.n);
    expect(events).toBeGreaterThanOrEqual(mid.delivered);
    expect(world.of(o.orgId)).toHaveLength(0);
    // The backlog gone, every webhook goes at once (well inside the 60 s the setting allows).
    await world.receiver.waitFor(() => world.of(o.orgId).length >= ids.length, 15_000);
    expect((await counts(o.orgId)).waiting).toBe(0);
    expect(world.runtime.worker.backlogged).toBe(false);
    await sleep(300);
    const got = world.of(o.orgId).map((r) => ({ id: r.headers['webhook-id'], body: verified(o.secret, r) }));
    expect(got).toHaveLength(ids.length);
    expect(new Set(got.map((g) => g.id)).size).toBe(ids.length);
    expect(new Set(got.map((g) => g.body.data.id))).toEqual(new Set(ids));
    for (const g of got) expect(g.body).toMatchObject({ type: 'push.delivered', data: { status: 'DELIVERED' } });
  });

  it('holds a webhook no longer than ERPC_WEBHOOK_YIELD_MS: under a longer backlog the first ones go before it ends', { timeout: 60_000 }, async () => {
    const yieldMs = 400;
    world = await webhookWorld(backend, { ERPC_WEBHOOK_YIELD_MS: String(yieldMs) }, { start: false, worker: BACKLOG_WORKER });
    const o = await world.org(SLOW_ERP, ['push.delivered']);
    const ids = await pushAll(o.apiKey, 60, 'bounded');
    await world.runtime.start();
    await world.receiver.waitFor(() => world.of(o.orgId).length >= 1, 30_000);
    const early = world.of(o.orgId).length;
    const then = await counts(o.orgId);
    expect(then.waiting).toBeGreaterThan(0);
    await world.receiver.waitFor(() => world.of(o.orgId).length >= ids.length, 30_000);
    // Each webhook sent during the backlog had waited its yieldMs since its push was delivered.
    const deliveredAt = new Map(
      (await world.host.database.db('push').where({ org_id: o.orgId }).select('id', 'delivered_at')).map((r) => [r.id as string, new Date(r.delivered_at as string).getTime()]),
    );
    const got = world.of(o.orgId).map((r) => ({ at: r.at, body: verified(o.secret, r) }));
    const firstWaits = got.slice(0, early).map((g) => g.at - deliveredAt.get(g.body.data.id as string)!);
    expect(Math.min(...firstWaits)).toBeGreaterThanOrEqual(yieldMs - 20);
    expect(new Set(got.map((g) => g.body.data.id))).toEqual(new Set(ids));
  });

  it('a dispatcher stopped while holding webhooks sends them within its grace: none is left to a lease', { timeout: 60_000 }, async () => {
    world = await webhookWorld(backend, { ERPC_WEBHOOK_YIELD_MS: '60000' }, { start: false, worker: BACKLOG_WORKER });
    const o = await world.org(SLOW_ERP, ['push.delivered']);
    await pushAll(o.apiKey, 24, 'stopped');
    await world.runtime.start();
    await until(() => counts(o.orgId), (c) => c.delivered >= 6, 30_000, 'six deliveries');
    expect(world.runtime.webhooks.heldCount).toBeGreaterThan(0);
    expect(world.of(o.orgId)).toHaveLength(0);
    await world.runtime.stop({ graceMs: 10_000 });
    const delivered = await world.host.database.db('push').where({ org_id: o.orgId, status: 'DELIVERED' }).pluck('id');
    const rows = await world.host.database.db('webhook_delivery').where({ org_id: o.orgId }).select('push_id', 'status');
    // Every delivered push has its delivery: sent (DELIVERED) or, never claimed, PENDING for the next dispatcher.
    expect(new Set(rows.map((r) => r.push_id))).toEqual(new Set(delivered));
    expect(rows.filter((r) => r.status === 'PROCESSING')).toEqual([]);
    const sent = rows.filter((r) => r.status === 'DELIVERED').map((r) => r.push_id);
    expect(sent.length).toBeGreaterThan(0);
    const got = world.of(o.orgId).map((r) => verified(o.secret, r).data.id);
    expect(got.sort()).toEqual(sent.sort());
  });

  it('ERPC_WEBHOOK_YIELD_MS=0 sends them alongside the backlog (the control of the two tests above)', { timeout: 60_000 }, async () => {
    world = await webhookWorld(backend, { ERPC_WEBHOOK_YIELD_MS: '0' }, { start: false, worker: BACKLOG_WORKER });
    const o = await world.org(SLOW_ERP, ['push.delivered']);
    const ids = await pushAll(o.apiKey, 24, 'alongside');
    await world.runtime.start();
    await world.receiver.waitFor(() => world.of(o.orgId).length >= 4, 30_000);
    expect((await counts(o.orgId)).waiting).toBeGreaterThan(0);
    expect(world.runtime.webhooks.yielding).toBe(false);
    await world.receiver.waitFor(() => world.of(o.orgId).length >= ids.length, 30_000);
  });
});
