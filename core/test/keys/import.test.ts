import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Knex } from 'knex';
import { ConnectionRepository, Repositories } from '../../src/storage/index.js';
import { afterEach, describe, expect, it } from 'vitest';
import { loadHostConfig } from '../../src/settings/index.js';
import { openPluginHost } from '../../src/container.js';
import { isErpcError, type ErpcError } from '../../src/errors/index.js';
import { KeyRotationService, readKeyStatus } from '../../src/keys/index.js';
import { ConnectionImportService } from '../../src/connections/connection-import-service.js';
import { createLogger } from '../../src/logging/logger.js';
import type { ConnectorRegistry } from '../../src/plugins/connector-registry.js';
import { testBackends, type TestBackend } from '../support/db.js';
import { ANY_TYPE, FIXTURE_PLUGINS, KEY_B, REPO_ROOT, cipherFor, readConfigs } from './support.js';

interface Vectors {
  keyHex: string;
  vectors: { config: Record<string, unknown>; blobBase64: string }[];
  mustFail: { why: string; blobHex: string }[];
}
const VECTORS = JSON.parse(readFileSync(path.join(REPO_ROOT, 'core/test/fixtures/vectors/seed-aesgcm-v0.json'), 'utf8')) as Vectors;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

let registryPromise: Promise<ConnectorRegistry> | undefined;
/** The fixture connectors: LEGACY_ANY_V1 (any object validates) and STRICT_CONFIG_V1 (rootPath required, nothing else). */
function registry(): Promise<ConnectorRegistry> {
  registryPromise ??= (async () => {
    const plugins = await openPluginHost(loadHostConfig({ env: { ERPC_PLUGIN_DIRS: FIXTURE_PLUGINS } }), createLogger({ level: 'silent' }));
    return plugins.registry;
  })();
  return registryPromise;
}

async function setup(backend: TestBackend): Promise<{ db: Knex; service: ConnectionImportService }> {
  const t = await backend.open();
  cleanups.push(() => t.close());
  // The new key is active; the original system's key is loaded as a previous key.
  const { cipher } = cipherFor(KEY_B, [VECTORS.keyHex]);
  return { db: t.db, service: new ConnectionImportService(new Repositories(t.db), cipher, await registry()) };
}

const line = (row: Record<string, unknown>): string => JSON.stringify(row);

async function refusal(p: Promise<unknown>): Promise<ErpcError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  if (!isErpcError(err)) throw new Error(`expected an ErpcError, got ${String(err)}`);
  return err;
}

describe.each(testBackends())('connections import on $name', (backend) => {
  it('imports the legacy vectors as legacy rows (bytes untouched), creates the org, and rotation rewrites them to their plaintexts', async () => {
    const { db, service } = await setup(backend);
    const orgId = randomUUID();
    const lines = VECTORS.vectors.map((v, i) =>
      line({ org_id: orgId, connector_type: ANY_TYPE, ...(i === 0 ? { name: 'Main' } : {}), status: i === 0 ? 'ACTIVE' : 'DISABLED', config_encrypted: v.blobBase64 }),
    );
    const report = await service.importLines(lines);
    expect(report).toMatchObject({ rows: 4, imported: 4, organizationsCreated: 1, skipped: [] });
    expect(await db('organization').where({ id: orgId }).first()).toMatchObject({ id: orgId });
    const stored = await db('erp_connection').select('id', 'name', 'status', 'config_key_id', 'config_encrypted');
    const byId = new Map(stored.map((r) => [r.id, r]));
    report.connectionIds.forEach((id, i) => {
      const r = byId.get(id)!;
      expect(r.config_key_id).toBe('legacy');
      expect(Buffer.from(r.config_encrypted).toString('base64')).toBe(VECTORS.vectors[i]!.blobBase64);
    });
    expect(byId.get(report.connectionIds[0]!)).toMatchObject({ name: 'Main', status: 'ACTIVE' });

    const { keyring, cipher } = cipherFor(KEY_B, [VECTORS.keyHex]);
    expect((await readKeyStatus(new ConnectionRepository(db), keyring, cipher)).legacy).toEqual({ rows: 4, decryptable: true });
    const rotated = await new KeyRotationService(new ConnectionRepository(db), keyring, cipher).rotate({ batchSize: 3 });
    expect(rotated).toMatchObject({ rotated: 4, failed: [] });
    // Now readable with the new key alone, bound to their rows, equal to the vectors' plaintexts.
    const after = await readConfigs(db, cipherFor(KEY_B).cipher);
    report.connectionIds.forEach((id, i) => expect(after.get(id)).toEqual({ keyId: keyring.activeKeyId, config: VECTORS.vectors[i]!.config }));
  }, 120_000);

  it('refuses the whole file when configs fail validation, do not decrypt, or name unknown types; --skip-invalid imports the rest', async () => {
    const { db, service } = await setup(backend);
    const orgId = randomUUID();
    const lines = [
      line({ org_id: orgId, connector_type: ANY_TYPE, status: 'DISABLED', config_encrypted: VECTORS.vectors[1]!.blobBase64 }),
      // {root_path, file_prefix} is not a STRICT_CONFIG_V1 config (rootPath required, no extra fields).
      line({ org_id: orgId, connector_type: 'STRICT_CONFIG_V1', status: 'DISABLED', config_encrypted: VECTORS.vectors[0]!.blobBase64 }),
      line({ org_id: orgId, connector_type: ANY_TYPE, status: 'DISABLED', config_encrypted: Buffer.from(VECTORS.mustFail[0]!.blobHex, 'hex').toString('base64') }),
      line({ org_id: orgId, connector_type: 'NOPE_V1', status: 'DISABLED', config_encrypted: VECTORS.vectors[2]!.blobBase64 }),
    ];
    const err = await refusal(service.importLines(lines));
    expect(err.code).toBe('ERPC_ERR_IMPORT_INVALID');
    const problems = (err.details as { problems: { line: number; kind: string; details?: { path: string }[] }[] }).problems;
    expect(problems.map((p) => [p.line, p.kind])).toEqual([
      [2, 'CONFIG_INVALID'],
      [3, 'CONFIG_DECRYPT_FAILED'],
      [4, 'CONNECTOR_UNKNOWN'],
    ]);
    expect(problems[0]!.details!.map((d) => d.path)).toEqual(['/rootPath', '/root_path', '/file_prefix']);
    // No values of the configs (the vectors' secrets) in the error.
    expect(JSON.stringify(err.toBody())).not.toMatch(/var\/erp|tok_live|pässw|erp-export/);
    expect(Number((await db('erp_connection').count({ n: '*' }).first())!.n)).toBe(0);
    expect(await db('organization').where({ id: orgId }).first()).toBeUndefined();

    const partial = await service.importLines(lines, { skipInvalid: true });
    expect(partial).toMatchObject({ rows: 4, imported: 1 });
    expect(partial.skipped.map((p) => p.line)).toEqual([2, 3, 4]);
    // A malformed line is never skipped.
    const malformed = await refusal(service.importLines([...lines, '{"org_id": "not-a-uuid"}'], { skipInvalid: true }));
    expect(malformed.code).toBe('ERPC_ERR_IMPORT_INVALID');
    expect((malformed.details as { problems: { line: number; kind: string }[] }).problems).toEqual([
      expect.objectContaining({ line: 5, kind: 'ROW_INVALID' }),
    ]);
  }, 120_000);

  it('keeps at most one ACTIVE per organisation: conflicts in the file or with a stored connection name lines and org, nothing imported', async () => {
    const { db, service } = await setup(backend);
    const orgId = randomUUID();
    // Distinct exported rows (distinct ciphertexts): the same ciphertext twice is one row repeated.
    const row = (status: string, vector: number) => line({ org_id: orgId, connector_type: ANY_TYPE, status, config_encrypted: VECTORS.vectors[vector]!.blobBase64 });
    const inFile = await refusal(service.importLines([row('ACTIVE', 0), row('DISABLED', 1), row('ACTIVE', 2)]));
    expect(inFile.code).toBe('ERPC_ERR_IMPORT_ACTIVE_CONFLICT');
    expect(inFile.message).toContain(`organisation ${orgId} has ACTIVE rows on lines 1, 3`);
    expect(Number((await db('erp_connection').count({ n: '*' }).first())!.n)).toBe(0);

    const first = await service.importLines([row('ACTIVE', 3)]);
    const withStored = await refusal(service.importLines([row('DISABLED', 1), row('ACTIVE', 2)]));
    expect(withStored.code).toBe('ERPC_ERR_IMPORT_ACTIVE_CONFLICT');
    expect(withStored.message).toContain(`already has ACTIVE connection ${first.connectionIds[0]} and line 2 is ACTIVE`);
    expect(Number((await db('erp_connection').count({ n: '*' }).first())!.n)).toBe(1);
  }, 120_000);

  it('a re-run is safe: rows imported before are recognised (even after rotation) and left alone, repeats in a file count once', async () => {
    const { db, service } = await setup(backend);
    const orgId = randomUUID();
    const row = (status: string, vector: number, name?: string) =>
      line({ org_id: orgId, connector_type: ANY_TYPE, ...(name ? { name } : {}), status, config_encrypted: VECTORS.vectors[vector]!.blobBase64 });
    const count = async () => Number((await db('erp_connection').count({ n: '*' }).first())!.n);

    // Line 3 repeats line 1 (the same exported row): imported once, reported as already imported.
    const first = await service.importLines([row('ACTIVE', 0, 'Main'), row('DISABLED', 1), row('ACTIVE', 0, 'Main')]);
    expect(first).toMatchObject({ rows: 3, imported: 2, organizationsCreated: 1, skipped: [] });
    expect(first.alreadyImported).toEqual([{ line: 3, orgId, connectionId: first.connectionIds[0] }]);
    expect(await count()).toBe(2);

    // The same file again, plus a new row: only the new row is imported; the ACTIVE row that is
    // already there is no conflict with itself.
    const again = await service.importLines([row('ACTIVE', 0, 'Main'), row('DISABLED', 1), row('DISABLED', 2)]);
    expect(again).toMatchObject({ rows: 3, imported: 1, organizationsCreated: 0 });
    expect(again.alreadyImported).toEqual([
      { line: 1, orgId, connectionId: first.connectionIds[0] },
      { line: 2, orgId, connectionId: first.connectionIds[1] },
    ]);
    expect(await count()).toBe(3);

    // After rotation the stored ciphertexts differ from the file's; the rows are still recognised.
    const { keyring, cipher } = cipherFor(KEY_B, [VECTORS.keyHex]);
    expect(await new KeyRotationService(new ConnectionRepository(db), keyring, cipher).rotate({ batchSize: 10 })).toMatchObject({ rotated: 3, failed: [] });
    const afterRotation = await service.importLines([row('ACTIVE', 0, 'Main'), row('DISABLED', 1), row('DISABLED', 2)]);
    expect(afterRotation).toMatchObject({ imported: 0, connectionIds: [] });
    expect(afterRotation.alreadyImported.map((a) => a.line)).toEqual([1, 2, 3]);
    expect(await count()).toBe(3);

    // The same ciphertext for another organisation is another row.
    const otherOrg = randomUUID();
    const elsewhere = await service.importLines([line({ org_id: otherOrg, connector_type: ANY_TYPE, status: 'DISABLED', config_encrypted: VECTORS.vectors[1]!.blobBase64 })]);
    expect(elsewhere).toMatchObject({ imported: 1, alreadyImported: [] });
  }, 120_000);

  it('two runs of the same file at once never import a row twice', async () => {
    const { db, service } = await setup(backend);
    const orgId = randomUUID();
    const lines = VECTORS.vectors.map((v) => line({ org_id: orgId, connector_type: ANY_TYPE, status: 'DISABLED', config_encrypted: v.blobBase64 }));
    const [a, b] = await Promise.allSettled([service.importLines(lines), service.importLines(lines)]);
    const reports = [a, b].flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    // The second either saw the first's rows (already imported) or lost the race on the unique
    // fingerprint index (ERPC_ERR_IMPORT_CONCURRENT, nothing written by it).
    for (const r of [a, b]) if (r.status === 'rejected') expect((r.reason as ErpcError).code).toBe('ERPC_ERR_IMPORT_CONCURRENT');
    expect(reports.reduce((n, r) => n + r.imported, 0)).toBe(lines.length);
    expect(Number((await db('erp_connection').count({ n: '*' }).first())!.n)).toBe(lines.length);
  }, 120_000);
});
