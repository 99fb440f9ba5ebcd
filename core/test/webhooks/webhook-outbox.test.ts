import { afterEach, describe, expect, it } from 'vitest';
import { Repositories } from '../../src/storage/repositories/index.js';
import { testBackends } from '../support/db.js';
import { webhookWorld, type WebhookWorld } from './support.js';

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
});
