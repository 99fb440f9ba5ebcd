import type { Host } from '../../core/src/container.js';

/** Waits up to `timeoutMs` until every push is DELIVERED (or the time is up), then returns their views. */
export async function untilDelivered(host: Host, orgId: string, ids: readonly string[], timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const views = await Promise.all(ids.map((id) => host.services.pushes.get(orgId, id)));
    if (views.every((v) => v.status === 'DELIVERED') || Date.now() > deadline) return views;
    await new Promise((r) => setTimeout(r, 100));
  }
}
