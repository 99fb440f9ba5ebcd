// Issue I: "try later" when it is true. A real PostgreSQL behind a TCP proxy this test owns:
// closing the proxy (and cutting its connections) is the database going away, for real.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends, type TestBackend } from '../support/db.js';
import { createDatabase, retryingTransaction } from '../../src/storage/index.js';
import { auth, createTestHost, type TestHost } from './test-host.js';

const postgres = testBackends().find((b) => b.name === 'postgres');

class Proxy {
  server: Server | undefined;
  sockets = new Set<Socket>();
  constructor(readonly port: number, private readonly target: { host: string; port: number }) {}
  async start(): Promise<void> {
    if (this.server?.listening === true) return;
    this.server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      this.sockets.add(client).add(upstream);
      client.pipe(upstream).pipe(client);
      const drop = () => (client.destroy(), upstream.destroy());
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
  }
  async stop(): Promise<void> {
    if (this.server?.listening !== true) return;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }
}

describe.skipIf(postgres === undefined)('PostgreSQL unavailable', () => {
  let host: TestHost;
  let proxy: Proxy;
  let org: { id: string; apiKey: string };
  let connectionId: string;
  beforeAll(async () => {
    const real = await postgres!.open();
    const url = new URL(real.url!);
    const free = createServer();
    await new Promise<void>((r) => free.listen(0, '127.0.0.1', r));
    const port = (free.address() as { port: number }).port;
    await new Promise<void>((r) => free.close(() => r()));
    proxy = new Proxy(port, { host: url.hostname, port: Number(url.port || 5432) });
    await proxy.start();
    url.host = `127.0.0.1:${port}`;
    const viaProxy = { db: await createDatabase({ databaseUrl: url.toString() }) };
    const backend: TestBackend = {
      name: 'postgres',
      open: async () => ({ ...real, knex: viaProxy.db, db: viaProxy.db, destroy: async () => { await viaProxy.db.destroy(); await real.destroy(); }, close: async () => { await viaProxy.db.destroy(); await real.destroy(); } }),
    };
    host = await createTestHost(backend, { DATABASE_URL: url.toString() });
    org = await host.createOrg('Down');
    const res = await host.app.inject({ method: 'POST', url: '/v1/connections', headers: auth(org.apiKey), payload: { connectorType: 'MOCK', name: 'm', config: {}, activate: true } });
    connectionId = res.json().id;
  });
  afterAll(async () => {
    await proxy.start();
    await host?.close();
    await proxy.stop();
  });

  it('finding: POST /v1/pushes answered 500 while PostgreSQL was down; every route now answers 503 with Retry-After, and recovers', async () => {
    const h = auth(org.apiKey);
    const requests = [
      { method: 'POST', url: '/v1/pushes', headers: h, payload: { documentType: 'invoice', documentId: 'D-1', payload: { total: 1 } } },
      { method: 'GET', url: '/v1/pushes', headers: h },
      { method: 'GET', url: '/v1/pushes/stats', headers: h },
      { method: 'GET', url: `/v1/pushes/${connectionId}`, headers: h },
      { method: 'POST', url: `/v1/pushes/${connectionId}/retry`, headers: h },
      { method: 'POST', url: '/v1/pushes/retry', headers: h, payload: {} },
      { method: 'GET', url: '/v1/connections', headers: h },
      { method: 'POST', url: '/v1/connections', headers: h, payload: { connectorType: 'MOCK', name: 'n', config: {} } },
      { method: 'GET', url: `/v1/connections/${connectionId}`, headers: h },
      { method: 'POST', url: `/v1/connections/${connectionId}/activate`, headers: h },
      { method: 'GET', url: '/v1/connector-types', headers: h },
    ] as const;
    await proxy.stop();
    for (const r of requests) {
      const res = await host.app.inject(r as never);
      // connector-types needs no database once the key is checked… but the key check does.
      expect(res.statusCode, `${r.method} ${r.url}: ${res.body}`).toBe(503);
      expect(res.headers['retry-after']).toBe('5');
      expect(res.json().error.code).toMatch(/^ERPC_ERR_STORAGE_(UNAVAILABLE|BUSY)$/);
      expect(res.body).not.toMatch(/postgres(ql)?:\/\//);
    }
    await proxy.start();
    let ok = 0;
    for (let i = 0; i < 20 && ok === 0; i++) {
      const res = await host.app.inject(requests[0] as never);
      if (res.statusCode === 202) ok++;
      else expect(res.statusCode).toBe(503);
    }
    expect(ok).toBe(1);
  });

  it('a deadlock (40P01) is retried inside the service instead of answering 500', async () => {
    const db = host.database.db;
    await db.raw('CREATE TABLE IF NOT EXISTS deadlock_probe (id int PRIMARY KEY, n int)');
    await db.raw('INSERT INTO deadlock_probe VALUES (1, 0), (2, 0) ON CONFLICT DO NOTHING');
    let gate!: () => void;
    const bothLocked = new Promise<void>((r) => (gate = r));
    let locked = 0;
    const runs: number[] = [0, 0];
    const txn = (first: number, second: number, who: 0 | 1) =>
      retryingTransaction(db, async (trx) => {
        runs[who]!++;
        await trx.raw('UPDATE deadlock_probe SET n = n + 1 WHERE id = ?', [first]);
        if (runs[who] === 1) {
          if (++locked === 2) gate();
          await bothLocked;
        }
        await trx.raw('UPDATE deadlock_probe SET n = n + 1 WHERE id = ?', [second]);
      });
    await Promise.all([txn(1, 2, 0), txn(2, 1, 1)]);
    // One of them was the deadlock victim and ran again; both committed exactly once.
    expect(runs[0]! + runs[1]!).toBe(3);
    const rows = (await db.raw('SELECT n FROM deadlock_probe ORDER BY id')).rows as { n: number }[];
    expect(rows.map((r) => r.n)).toEqual([2, 2]);
  });
});

describe.each(testBackends())('racing activations on $name', (backend) => {
  let host: TestHost;
  beforeAll(async () => {
    host = await createTestHost(backend);
  });
  afterAll(async () => host.close());

  it('finding: racing activations once answered 500 (40P01); now each answers 200 or 409, never 5xx', async () => {
    const org = await host.createOrg('Race');
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await host.app.inject({ method: 'POST', url: '/v1/connections', headers: auth(org.apiKey), payload: { connectorType: 'MOCK', name: `c${i}`, config: {} } });
      ids.push(res.json().id);
    }
    for (let round = 0; round < 3; round++) {
      const answers = await Promise.all(ids.map((id) => host.app.inject({ method: 'POST', url: `/v1/connections/${id}/activate`, headers: auth(org.apiKey) })));
      for (const a of answers) expect([200, 409], a.body).toContain(a.statusCode);
    }
  });
});
