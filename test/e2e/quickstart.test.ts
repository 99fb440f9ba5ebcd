import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The shell blocks of README.md marked `<!-- quickstart -->`, in order. */
async function quickstartBlocks(): Promise<string[]> {
  const readme = await readFile(path.join(root, 'README.md'), 'utf8');
  const blocks: string[] = [];
  const re = /<!-- quickstart -->\s*```sh\n([\s\S]*?)```/g;
  for (let m = re.exec(readme); m !== null; m = re.exec(readme)) blocks.push(m[1]!);
  return blocks;
}

/**
 * The README quick start, proven: a real `erpc serve` (built dist) on a fresh embedded database,
 * then the README's own commands run by bash, as a new user would paste them. Only the port
 * differs (a free one instead of 3000).
 */
describe('README quick start against a real server', () => {
  let server: ChildProcess;
  let dataDir: string;
  let baseUrl: string;
  const serverOutput: string[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'erpc-e2e-'));
    const env = { ...process.env, ERPC_DATA_DIR: path.join(dataDir, 'data'), DATABASE_URL: '', ENCRYPTION_MASTER_KEY: '', ERPC_LOG_LEVEL: 'warn' };
    server = spawn(process.execPath, [path.join(root, 'core/dist/cli/main.js'), 'serve', '--port', '0'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    server.stderr!.on('data', (c: Buffer) => serverOutput.push(String(c)));
    baseUrl = await new Promise<string>((resolve, reject) => {
      let out = '';
      server.stdout!.on('data', (c: Buffer) => {
        out += String(c);
        serverOutput.push(String(c));
        const m = /listening on (http:\/\/[^\s]+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      server.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${serverOutput.join('')}`)));
    });
  }, 180_000);

  afterAll(async () => {
    if (server !== undefined && server.exitCode === null) {
      const exited = new Promise((resolve) => server.once('exit', resolve));
      server.kill('SIGTERM');
      await exited;
    }
    await rm(dataDir, { recursive: true, force: true });
  });

  it('runs every marked README command as written', async () => {
    const blocks = await quickstartBlocks();
    expect(blocks.length).toBeGreaterThanOrEqual(3);
    const script = [
      'set -euo pipefail',
      ...blocks.map((b) => b.replaceAll('http://127.0.0.1:3000', baseUrl)),
      // Hand the results back to the test.
      'echo "API_KEY=$API_KEY"',
      'echo "CONNECTION_ID=$CONNECTION_ID"',
      'echo "PUSH_ID=$PUSH_ID"',
    ].join('\n');
    const env = { ...process.env, ERPC_DATA_DIR: path.join(dataDir, 'data'), DATABASE_URL: '', ENCRYPTION_MASTER_KEY: '' };
    const { stdout } = await run('bash', ['-c', script], { cwd: root, env, timeout: 120_000 });
    const lines = stdout.trim().split('\n');
    const apiKey = /API_KEY=(\S+)/.exec(stdout)?.[1];
    const connectionId = /CONNECTION_ID=(\S+)/.exec(stdout)?.[1];
    expect(apiKey).toMatch(/^erpc_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(connectionId).toMatch(/^[0-9a-f-]{36}$/);
    const test = JSON.parse(lines.find((l) => l.startsWith('{"ok"'))!);
    expect(test).toMatchObject({ ok: true, latencyMs: expect.any(Number) });
    const list = JSON.parse(lines.find((l) => l.startsWith('{"items"'))!);
    expect(list.items).toEqual([expect.objectContaining({ id: connectionId, connectorType: 'MOCK', status: 'ACTIVE', secretFields: ['/apiKey'], config: {} })]);
    expect(stdout).not.toContain('s3cret');
    // The drop folder push: one JSON file below <data dir>/drops/<org id>, written by the sandboxed DROPZONE_JSON_V1.
    const dropped = lines.filter((l) => l.includes(`${path.join(dataDir, 'data', 'drops')}/`) && l.endsWith('.json'));
    expect(dropped).toHaveLength(1);
    const file = await readFile(dropped[0]!, 'utf8');
    expect(JSON.parse(file)).toMatchObject({ payload: { currency: 'EUR' } });
    // Exact digits end to end (API, outbox, sandbox boundary, the connector's file): 42.00, not 42.
    expect(file).toContain('"total":42.00');
    // The pushed document: accepted, then delivered by the server's in-process worker to MOCK.
    const pushId = /PUSH_ID=(\S+)/.exec(stdout)?.[1];
    expect(pushId).toMatch(/^[0-9a-f-]{36}$/);
    const shown = JSON.parse(lines.find((l) => l.startsWith('{') && l.includes(`"id":"${pushId}"`))!);
    expect(shown).toMatchObject({ id: pushId, connectionId, documentType: 'invoice', documentId: 'INV-1001' });
    expect(['PENDING', 'PROCESSING', 'DELIVERED']).toContain(shown.status);
    let delivered: { status?: string; externalRef?: string } = shown;
    for (let i = 0; i < 50 && delivered.status !== 'DELIVERED'; i++) {
      await new Promise((r) => setTimeout(r, 200));
      delivered = await (await fetch(`${baseUrl}/v1/pushes/${pushId}`, { headers: { authorization: `Bearer ${apiKey}` } })).json();
    }
    expect(delivered).toMatchObject({ status: 'DELIVERED', externalRef: expect.stringMatching(/^mock:/) });
    // The org was created through the running server (its admin socket), so the server knows the key.
    const health = await fetch(`${baseUrl}/healthz`);
    expect(health.status).toBe(200);
    const docs = await fetch(`${baseUrl}/openapi.json`);
    expect(Object.keys((await docs.json()).paths)).toContain('/v1/connections');
    expect(serverOutput.join('')).not.toContain('s3cret');
  }, 180_000);
});
