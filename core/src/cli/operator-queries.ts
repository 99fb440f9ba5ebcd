import type { Host } from '../container.js';
import { ErpcError } from '../errors/index.js';

/**
 * The read-only operator queries behind `erpc connections list`, `erpc pushes list|show` and
 * `erpc workers list`: no API key, every organisation unless `org` narrows it. Run directly on
 * the database, or by a running `serve` through its admin socket (the embedded database).
 */
export type OperatorArgs = Record<string, string>;

async function orgIds(host: Host, org: string | undefined): Promise<string[]> {
  if (org !== undefined && org !== '') {
    // Resolves the org (ERPC_ERR_ORG_NOT_FOUND) the same way the other org commands do.
    const known = (await host.services.organizations.list()).map((o) => o.id);
    if (!known.includes(org)) throw new ErpcError('ERPC_ERR_ORG_NOT_FOUND', { id: org });
    return [org];
  }
  return (await host.services.organizations.list()).map((o) => o.id);
}

export async function listConnections(host: Host, args: OperatorArgs): Promise<{ items: unknown[] }> {
  const items: unknown[] = [];
  for (const orgId of await orgIds(host, args.org)) {
    let cursor: string | undefined;
    do {
      const page = await host.services.connections.list(orgId, { limit: 100, ...(cursor !== undefined ? { cursor } : {}) });
      items.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor !== undefined);
  }
  return { items };
}

export async function listPushes(host: Host, args: OperatorArgs): Promise<{ items: unknown[] }> {
  const limit = args.limit === undefined ? 50 : Number(args.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new ErpcError('ERPC_ERR_USAGE', { reason: '--limit must be an integer from 1 to 100.' });
  const items: { createdAt: string }[] = [];
  for (const orgId of await orgIds(host, args.org)) {
    const page = await host.services.pushes.list(orgId, { limit, ...(args.status !== undefined ? { status: args.status } : {}) });
    items.push(...(page.items as unknown as { createdAt: string }[]));
  }
  items.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
  return { items: items.slice(0, limit) };
}

export async function showPush(host: Host, args: OperatorArgs): Promise<unknown> {
  const id = String(args.id);
  for (const orgId of await orgIds(host, args.org)) {
    try {
      return await host.services.pushes.get(orgId, id);
    } catch (err) {
      if ((err as { code?: string }).code !== 'ERPC_ERR_PUSH_NOT_FOUND') throw err;
    }
  }
  throw new ErpcError('ERPC_ERR_PUSH_NOT_FOUND', { id });
}

export async function listWorkerHeartbeats(host: Host): Promise<{ workers: unknown[] }> {
  return { workers: await host.services.workers() };
}

/** `erpc webhooks list`: webhook deliveries across organisations (or one), newest first; no secrets. */
export async function listWebhookDeliveries(host: Host, args: OperatorArgs): Promise<{ items: unknown[] }> {
  const limit = args.limit === undefined ? 50 : Number(args.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new ErpcError('ERPC_ERR_USAGE', { reason: '--limit must be an integer from 1 to 100.' });
  const statuses = ['PENDING', 'PROCESSING', 'DELIVERED', 'FAILED'];
  const status = args.status?.toUpperCase();
  if (status !== undefined && !statuses.includes(status)) throw new ErpcError('ERPC_ERR_USAGE', { reason: `--status must be one of ${statuses.join(', ')}.` });
  if (args.org !== undefined) await orgIds(host, args.org);
  const items = await host.services.webhooks.listForOperator({ orgId: args.org, status: status as 'PENDING' | undefined, limit });
  return { items };
}

/** `erpc webhooks replay EVENT_ID`: sends the event again to its endpoints, same webhook-id. */
export async function replayWebhookEvent(host: Host, args: OperatorArgs): Promise<unknown> {
  return host.services.webhooks.replay(undefined, String(args.eventId));
}
