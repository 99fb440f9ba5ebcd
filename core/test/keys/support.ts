import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn, type ChildProcess } from 'node:child_process';
import type { Knex } from 'knex';
import { ConfigCipher, Keyring } from '../../src/crypto/index.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const CLI = path.join(REPO_ROOT, 'core/dist/cli/main.js');
export const FIXTURE_PLUGINS = path.join(REPO_ROOT, 'core/test/fixtures/plugins');
/** The permissive fixture connector (any object validates). */
export const ANY_TYPE = 'LEGACY_ANY_V1';

/** Keys as a test's "old" (A) and "new" (B) keys: fixed, so failures are reproducible. */
export const KEY_A = 'a'.repeat(64);
export const KEY_B = 'b'.repeat(64);

export function cipherFor(active: string, previous: string[] = []): { keyring: Keyring; cipher: ConfigCipher } {
  const keyring = new Keyring(active, previous);
  return { keyring, cipher: new ConfigCipher(keyring) };
}

/** The config of seeded row `i`: a canary secret so a leak would show. */
export function seededConfig(i: number): Record<string, unknown> {
  return { apiKey: `canary-secret-${i}-${'x'.repeat(8)}`, n: i, nested: { list: [i, 'ü'] } };
}

/** Creates an organisation and `count` DISABLED connections whose configs are encrypted under `cipher`. */
export async function seedConnections(db: Knex, cipher: ConfigCipher, count: number, orgId = randomUUID()): Promise<{ orgId: string; ids: string[] }> {
  const now = new Date();
  await db('organization').insert({ id: orgId, name: 'Seed org', created_at: now, updated_at: now });
  const ids: string[] = [];
  const rows = [];
  for (let i = 0; i < count; i += 1) {
    const id = randomUUID();
    ids.push(id);
    const { blob, keyId } = cipher.encrypt(seededConfig(i), { orgId, connectionId: id });
    rows.push({ id, org_id: orgId, connector_type: ANY_TYPE, name: `c${i}`, status: 'DISABLED', config_encrypted: blob, config_key_id: keyId, created_at: now, updated_at: now });
  }
  for (let i = 0; i < rows.length; i += 500) await db('erp_connection').insert(rows.slice(i, i + 500));
  return { orgId, ids };
}

/** Every row's key id and decrypted config (with `cipher`), by id. */
export async function readConfigs(db: Knex, cipher: ConfigCipher): Promise<Map<string, { keyId: string; config: Record<string, unknown> }>> {
  const rows = await db('erp_connection').select('id', 'org_id', 'config_key_id', 'config_encrypted').orderBy('id');
  const out = new Map<string, { keyId: string; config: Record<string, unknown> }>();
  for (const r of rows) {
    out.set(r.id, { keyId: r.config_key_id, config: cipher.decrypt(r.config_encrypted, { orgId: r.org_id, connectionId: r.id, keyId: r.config_key_id }) });
  }
  return out;
}

/** Counts UPDATEs per row that change the key id (a test-only trigger), to prove each row is rewritten exactly once. */
export async function installRewriteCounter(db: Knex): Promise<void> {
  await db.raw(`CREATE TABLE rewrite_count (id uuid PRIMARY KEY, n integer NOT NULL)`);
  await db.raw(`
    CREATE FUNCTION count_rewrite() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO rewrite_count (id, n) VALUES (NEW.id, 1) ON CONFLICT (id) DO UPDATE SET n = rewrite_count.n + 1;
      RETURN NEW;
    END $$`);
  await db.raw(`CREATE TRIGGER count_rewrite AFTER UPDATE OF config_key_id ON erp_connection FOR EACH ROW
    WHEN (OLD.config_key_id IS DISTINCT FROM NEW.config_key_id) EXECUTE FUNCTION count_rewrite()`);
}

/** Makes every UPDATE statement on erp_connection take `seconds` (test-only trigger): a kill lands inside a batch. */
export async function installSlowUpdates(db: Knex, seconds: number): Promise<void> {
  await db.raw(`CREATE FUNCTION slow_update() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(${seconds}); RETURN NULL; END $$`);
  await db.raw(`CREATE TRIGGER slow_update BEFORE UPDATE ON erp_connection FOR EACH STATEMENT EXECUTE FUNCTION slow_update()`);
}

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI (core/dist) as a child process. `onLine` sees each stdout line and may kill the child. */
export function runCli(args: string[], env: Record<string, string>, onLine?: (line: string, child: ChildProcess) => void): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH ?? '', NODE_NO_WARNINGS: '1', ERPC_PLUGIN_DIRS: FIXTURE_PLUGINS, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    // onLine sees the lines of both streams (progress is on stderr, output on stdout).
    const lineReader = () => {
      let pending = '';
      return (chunk: string) => {
        pending += chunk;
        let nl: number;
        while ((nl = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          onLine?.(line, child);
        }
      };
    };
    const outLines = lineReader();
    const errLines = lineReader();
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      outLines(chunk);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      errLines(chunk);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}
