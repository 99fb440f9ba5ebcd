import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadHostConfig } from '../../src/settings/index.js';
import { openPluginHost } from '../../src/container.js';
import { Repositories } from '../../src/storage/index.js';
import { isErpcError } from '../../src/errors/index.js';
import { ConnectionImportService } from '../../src/connections/connection-import-service.js';
import { createLogger } from '../../src/logging/logger.js';
import { testBackends, type TestDatabase } from '../support/db.js';
import { FIXTURE_PLUGINS, KEY_B, REPO_ROOT, cipherFor } from './support.js';

const VECTORS = JSON.parse(readFileSync(path.join(REPO_ROOT, 'core/test/fixtures/vectors/seed-aesgcm-v0.json'), 'utf8')) as {
  keyHex: string;
  vectors: { config: Record<string, unknown>; blobBase64: string }[];
};

// An import problem must say WHICH field is missing or unexpected (as the API's ERPC_ERR_CONFIG_INVALID
// does), not "/ must NOT have additional properties" once per field; and never a config value.
describe('connections import: config validation details', () => {
  let t: TestDatabase | undefined;
  afterAll(async () => t?.close());

  it('names the missing and the unexpected properties by JSON pointer, without values', async () => {
    t = await testBackends()[0]!.open();
    const plugins = await openPluginHost(loadHostConfig({ env: { ERPC_PLUGIN_DIRS: FIXTURE_PLUGINS } }), createLogger({ level: 'silent' }));
    const { cipher } = cipherFor(KEY_B, [VECTORS.keyHex]);
    const service = new ConnectionImportService(new Repositories(t.db), cipher, plugins.registry);
    // vectors[1] is {host, port, username, password, path}: STRICT_CONFIG_V1 allows rootPath (required) and password.
    const row = { org_id: randomUUID(), connector_type: 'STRICT_CONFIG_V1', status: 'DISABLED', config_encrypted: VECTORS.vectors[1]!.blobBase64 };
    const err = await service.importLines([JSON.stringify(row)]).then(() => undefined, (e: unknown) => e);
    if (!isErpcError(err)) throw new Error(`expected an ErpcError, got ${String(err)}`);
    const problem = (err.details as { problems: { details?: { path: string; message: string }[] }[] }).problems[0]!;
    expect(problem.details?.map((d) => d.path).sort()).toEqual(['/host', '/path', '/port', '/rootPath', '/username']);
    const text = JSON.stringify(err.details) + err.message;
    for (const value of Object.values(VECTORS.vectors[1]!.config)) if (typeof value === 'string') expect(text).not.toContain(value);
  }, 60_000);
});
