import { execFile, spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(root, 'core/dist/cli/main.js');

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request on `agent` (keep-alive): the socket stays in the agent's pool afterwards. */
function request(base: string, method: string, url: string, options: { agent?: http.Agent; apiKey?: string; body?: unknown } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const req = http.request(
      new URL(url, base),
      {
        method,
        agent: options.agent ?? false,
        headers: {
          ...(options.apiKey !== undefined ? { authorization: `Bearer ${options.apiKey}` } : {}),
          ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
        },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/**
 * The Done-when of issue J (ADR 0031): a real `erpc serve` with a request in flight on a
 * keep-alive connection that the client keeps open, and five slow pushes in flight, gets
 * SIGTERM and exits within ERPC_SHUTDOWN_TIMEOUT_MS (25 s): the request is answered, every push
 * is delivered or released (none left PROCESSING), readiness said 503 during the drain.
 */
describe('bounded shutdown of a real server', () => {
  let server: ChildProcess | undefined;
  let dir: string;
  const agent = new http.Agent({ keepAlive: true, keepAliveMsecs: 60_000 });

  afterAll(async () => {
    agent.destroy();
    if (server !== undefined && server.exitCode === null && server.signalCode === null) {
      const exited = new Promise((resolve) => server!.once('exit', resolve));
      server.kill('SIGKILL');
      await exited;
    }
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('SIGTERM with a keep-alive request and five slow pushes in flight: exits 0 within 25 s, request answered, pushes delivered or released', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'erpc-shutdown-'));
    const env = {
      ...process.env,
      ERPC_DATA_DIR: path.join(dir, 'data'),
      DATABASE_URL: '',
      ENCRYPTION_MASTER_KEY: '',
      ERPC_LOG_LEVEL: 'info',
      ERPC_SHUTDOWN_DRAIN_MS: '1500',
    };
    const { stdout: created } = await run(process.execPath, [CLI, 'orgs', 'create', 'Acme', '--json'], { cwd: root, env });
    const apiKey = JSON.parse(created).apiKey as string;

    const serverLog: string[] = [];
    server = spawn(process.execPath, [CLI, 'serve', '--port', '0'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    server.stderr!.on('data', (c: Buffer) => serverLog.push(String(c)));
    const base = await new Promise<string>((resolve, reject) => {
      let out = '';
      server!.stdout!.on('data', (c: Buffer) => {
        out += String(c);
        const m = /listening on (http:\/\/[^\s]+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      server!.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${serverLog.join('')}`)));
    });
    const exited = new Promise<{ code: number | null; at: number }>((resolve) => server!.once('exit', (code) => resolve({ code, at: performance.now() })));

    // Every call of this connection takes 6 s: pushes and the connection test alike.
    const conn = await request(base, 'POST', '/v1/connections', {
      agent,
      apiKey,
      body: { connectorType: 'MOCK', name: 'slow', config: { behavior: 'slow', delayMs: 6000 }, activate: true },
    });
    expect(conn.status).toBe(201);
    const connectionId = JSON.parse(conn.body).id as string;
    const pushIds: string[] = [];
    for (let i = 1; i <= 5; i++) {
      const p = await request(base, 'POST', '/v1/pushes', { agent, apiKey, body: { documentType: 'invoice', documentId: `INV-${i}`, payload: { n: i } } });
      expect(p.status).toBe(202);
      pushIds.push(JSON.parse(p.body).id as string);
    }
    // Wait until the worker holds all five.
    for (let i = 0; i < 100; i++) {
      const statuses = await Promise.all(pushIds.map(async (id) => JSON.parse((await request(base, 'GET', `/v1/pushes/${id}`, { apiKey })).body).status as string));
      if (statuses.every((s) => s === 'PROCESSING')) break;
      await new Promise((r) => setTimeout(r, 100));
    }

    // A request in flight on the keep-alive connection (the agent keeps its socket afterwards).
    const inFlight = request(base, 'POST', `/v1/connections/${connectionId}/test`, { agent, apiKey });
    await new Promise((r) => setTimeout(r, 500));
    const signalledAt = performance.now();
    server.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    // During the drain: readiness 503 with the reason, liveness 200, the API still answers.
    const ready = await request(base, 'GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.body).reasons).toContain('shutdown: the process is shutting down');
    expect((await request(base, 'GET', '/livez')).status).toBe(200);

    const answered = await inFlight;
    expect(answered.status).toBe(200);
    expect(JSON.parse(answered.body)).toMatchObject({ ok: true });
    expect(answered.headers.connection).toBe('close');

    const { code, at } = await exited;
    const elapsedMs = at - signalledAt;
    expect(code).toBe(0);
    expect(elapsedMs).toBeLessThan(25_000);

    // Every push delivered (the 6 s calls fit in the 10 s grace) or released: none left PROCESSING.
    const { stdout: listed } = await run(process.execPath, [CLI, 'pushes', 'list', '--json'], { cwd: root, env });
    const items = JSON.parse(listed).items as { id: string; status: string }[];
    expect(items.map((p) => p.id).sort()).toEqual([...pushIds].sort());
    for (const p of items) expect(['DELIVERED', 'PENDING']).toContain(p.status);
    expect(items.filter((p) => p.status === 'DELIVERED').length).toBe(5);
    // The heartbeat row went with the worker.
    const { stdout: workers } = await run(process.execPath, [CLI, 'workers', 'list', '--json'], { cwd: root, env });
    expect(JSON.parse(workers)).toEqual({ workers: [] });
  }, 90_000);
});
