import { chmod, mkdir, unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { createServer, request, type Server } from 'node:http';
import path from 'node:path';
import type { Host } from '../container.js';
import { ERROR_REGISTRY, ErpcError, isErpcError, type ErrorCode } from '../errors/index.js';
import { listConnections, listPushes, listWorkerHeartbeats, listWebhookDeliveries, replayWebhookEvent, showPush } from './operator-queries.js';

/**
 * The embedded database (PGlite) belongs to one process. While `erpc serve` runs on it, the admin
 * commands (`orgs …`, `api-keys …`) reach the database through this Unix socket in the data
 * directory (mode 0600, in a 0700 directory) instead of opening it a second time.
 * See docs/adr (admin socket).
 */
export const ADMIN_SOCKET_FILE = 'admin.sock';

export type AdminOp = 'orgs.create' | 'orgs.list' | 'apiKeys.create' | 'apiKeys.revoke' | 'apiKeys.list' | 'connections.list' | 'pushes.list' | 'pushes.show' | 'workers.list' | 'webhooks.list' | 'webhooks.replay';

async function dispatch(host: Host, op: AdminOp, args: Record<string, string>): Promise<unknown> {
  const { organizations: orgs, apiKeys: keys } = host.services;
  switch (op) {
    case 'orgs.create':
      return orgs.create(String(args.name));
    case 'orgs.list':
      return orgs.list();
    case 'apiKeys.create':
      return keys.create(String(args.orgId));
    case 'apiKeys.revoke':
      return keys.revoke(String(args.keyId)).then(() => ({}));
    case 'apiKeys.list':
      return keys.list(String(args.orgId));
    case 'connections.list':
      return listConnections(host, args);
    case 'pushes.list':
      return listPushes(host, args);
    case 'pushes.show':
      return showPush(host, args);
    case 'workers.list':
      return listWorkerHeartbeats(host);
    case 'webhooks.list':
      return listWebhookDeliveries(host, args);
    case 'webhooks.replay':
      return replayWebhookEvent(host, args);
    default:
      throw new ErpcError('ERPC_ERR_USAGE', { reason: 'unknown admin operation' });
  }
}

/** True when a process answers on the data directory's admin socket. */
export function adminSocketAnswers(dataDir: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path.join(dataDir, ADMIN_SOCKET_FILE));
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Claims the data directory for a serving host: started BEFORE the embedded database is opened,
 * so an admin command run while the server is still starting waits for it (requests are answered
 * once `host` resolves) instead of opening the database a second time. A second server on the
 * same directory is refused with ERPC_ERR_EMBEDDED_DB_IN_USE.
 */
export async function startAdminSocket(host: Promise<Host>, dataDir: string): Promise<{ close(): Promise<void> }> {
  const socketPath = path.join(dataDir, ADMIN_SOCKET_FILE);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  if (await adminSocketAnswers(dataDir)) throw new ErpcError('ERPC_ERR_EMBEDDED_DB_IN_USE', { dataDir });
  // A socket file left by a crashed server: nothing answers on it.
  await unlink(socketPath).catch(() => undefined);
  host.catch(() => undefined);
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        let status = 200;
        let body: unknown;
        try {
          const { op, args } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { op: AdminOp; args: Record<string, string> };
          body = { result: await dispatch(await host, op, args ?? {}) };
        } catch (err) {
          const e = isErpcError(err) ? err : new ErpcError('ERPC_ERR_INTERNAL', {}, { cause: err });
          if (!isErpcError(err)) process.stderr.write('admin socket request failed\n');
          status = e.status;
          body = e.toBody();
        }
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      })();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  await chmod(socketPath, 0o600);
  return {
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * Calls a running server's admin socket. Resolves `{ reached: false }` when no server listens
 * there (no socket file, or a stale one), so the caller opens the database itself.
 */
export function callAdminSocket(dataDir: string, op: AdminOp, args: Record<string, string> = {}): Promise<{ reached: false } | { reached: true; result: unknown }> {
  const socketPath = path.join(dataDir, ADMIN_SOCKET_FILE);
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path: '/', method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { result?: unknown; error?: { code: string; message: string } };
          if (body.error !== undefined) {
            const code = (body.error.code in ERROR_REGISTRY ? body.error.code : 'ERPC_ERR_INTERNAL') as ErrorCode;
            reject(new ErpcError(code, {}, { message: body.error.message }));
          } else resolve({ reached: true, result: body.result });
        } catch (err) {
          reject(err);
        }
      });
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') resolve({ reached: false });
      else reject(err);
    });
    req.end(JSON.stringify({ op, args }));
  });
}
