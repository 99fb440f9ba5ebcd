import { spawnSync } from 'node:child_process';
import type { ConnectorDefinition } from '@erpc/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mockDefinition from '../../../plugins/connector-mock/src/index.js';
import { buildApp } from '../../src/api/app.js';
import { openHost, type Host } from '../../src/container.js';
import { Keyring, generateKey } from '../../src/crypto/index.js';
import { createLogger } from '../../src/logging/logger.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { registerFromSource, testConfig } from './test-host.js';

const promtool = spawnSync('promtool', ['--version']).status === 0;
const inCi = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';
if (!promtool && inCi) throw new Error('CI must run `promtool check metrics` (.ci/run installs Debian\'s prometheus package).');

/** The exposition of a host with process defaults, HTTP traffic and push counters passes `promtool check metrics` (lint included). */
describe.skipIf(!promtool)('GET /metrics passes promtool check metrics', () => {
  let db: TestDatabase;
  let host: Host;
  beforeAll(async () => {
    db = await createTestDatabase('pglite');
    host = await openHost(testConfig(), {
      db: db.db,
      keyring: new Keyring(generateKey()),
      logger: createLogger({ level: 'silent' }),
      metricsDefaults: true,
      plugins: (registry, services) => registerFromSource(registry, services, 'connector-mock', mockDefinition as ConnectorDefinition<unknown>),
    });
  });
  afterAll(async () => {
    await host?.close();
    await db?.destroy();
  });

  it('has no problems or lint warnings', async () => {
    const app = await buildApp(host);
    try {
      await app.inject({ method: 'GET', url: '/v1/connections' });
      await app.inject({ method: 'GET', url: '/nowhere' });
      host.metrics.push.dead.inc({ connector_type: 'MOCK', code: host.metrics.codeLabel('MOCK', 'MOCK_REJECTED') });
      const res = await app.inject({ method: 'GET', url: '/metrics' });
      expect(res.statusCode).toBe(200);
      expect(res.body).toMatch(/^process_resident_memory_bytes /m);
      const checked = spawnSync('promtool', ['check', 'metrics'], { input: res.body, encoding: 'utf8' });
      expect({ status: checked.status, out: `${checked.stdout}${checked.stderr}`.trim() }).toEqual({ status: 0, out: '' });
    } finally {
      await app.close();
    }
  });
});
