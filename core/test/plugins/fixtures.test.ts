import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadHostConfig, openPluginHost, type ConnectorRegistry, type PluginLoadReport } from '../../src/index.js';
import { createLogger } from '../../src/logging/logger.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const FIXTURES = path.resolve(here, '../../../test/fixtures/plugins');

// One fixture folder per case; the code each broken one must be reported with.
const EXPECTED_FAILURES: Record<string, string> = {
  'package-json-not-json': 'ERPC_ERR_PLUGIN_PACKAGE_JSON_INVALID',
  'manifest-bad-connector-type': 'ERPC_ERR_MANIFEST_INVALID',
  'manifest-unknown-version': 'ERPC_ERR_MANIFEST_INVALID',
  'manifest-missing-fields': 'ERPC_ERR_MANIFEST_INVALID',
  'entry-escapes-dir': 'ERPC_ERR_PLUGIN_PATH_ESCAPE',
  'config-schema-escapes-dir': 'ERPC_ERR_PLUGIN_PATH_ESCAPE',
  'config-schema-missing': 'ERPC_ERR_CONFIG_SCHEMA_MISSING',
  'config-schema-not-json': 'ERPC_ERR_CONFIG_SCHEMA_NOT_JSON',
  'config-schema-unknown-keyword': 'ERPC_ERR_CONFIG_SCHEMA_INVALID',
  'entry-missing': 'ERPC_ERR_PLUGIN_ENTRY_MISSING',
  'entry-throws-on-import': 'ERPC_ERR_PLUGIN_IMPORT_FAILED',
  'entry-syntax-error': 'ERPC_ERR_PLUGIN_SYNTAX_ERROR',
  'entry-no-default-export': 'ERPC_ERR_PLUGIN_NO_DEFAULT_EXPORT',
  'entry-not-a-definition': 'ERPC_ERR_PLUGIN_NOT_A_DEFINITION',
  'entry-api-version-unsupported': 'ERPC_ERR_PLUGIN_API_VERSION_UNSUPPORTED',
  'entry-type-mismatch': 'ERPC_ERR_PLUGIN_TYPE_MISMATCH',
  'duplicate-type-b': 'ERPC_ERR_PLUGIN_DUPLICATE_TYPE',
  'sdk-range-unsatisfied': 'ERPC_ERR_PLUGIN_SDK_MISMATCH',
  'create-throws': 'ERPC_ERR_PLUGIN_CREATE_FAILED',
  'create-returns-no-port': 'ERPC_ERR_PLUGIN_PORT_INVALID',
  'import-never-finishes': 'ERPC_ERR_PLUGIN_IMPORT_TIMEOUT',
};
const EXPECTED_LOADED: Record<string, string> = {
  'good-alpha': 'FIXTURE_GOOD_ALPHA',
  '@fixture-scope/good-scoped': 'FIXTURE_GOOD_SCOPED',
  'duplicate-type-a': 'FIXTURE_DUPLICATE',
};

let report: PluginLoadReport;
let registry: ConnectorRegistry;

beforeAll(async () => {
  // The in-process loader's own rules (the sandboxed path is test/sandbox/hostile-plugins.test.ts).
  const config = loadHostConfig({ env: { ERPC_PLUGIN_DIRS: FIXTURES, ERPC_PLUGIN_IMPORT_TIMEOUT_MS: '1500', ERPC_PLUGIN_ISOLATION: 'in-process' } });
  const plugins = await openPluginHost(config, createLogger({ level: 'silent' }));
  report = plugins.report;
  registry = plugins.registry;
});

afterAll(async () => {
  await registry.dispose();
});

const rel = (dir: string) => path.relative(FIXTURES, dir).split(path.sep).join('/');

describe('plugin fixtures', () => {
  it.each(Object.entries(EXPECTED_FAILURES))('%s is reported with %s', (fixture, code) => {
    const failure = report.failed.find((f) => rel(f.dir) === fixture);
    expect(failure, `no failure reported for ${fixture}`).toBeDefined();
    expect(failure?.error.code).toBe(code);
    expect(failure?.error.message).toContain(path.join(FIXTURES, fixture));
  });

  it('reports exactly the broken fixtures and loads exactly the good ones', () => {
    expect(report.failed.map((f) => rel(f.dir)).sort()).toEqual(Object.keys(EXPECTED_FAILURES).sort());
    expect(Object.fromEntries(report.loaded.map((p) => [rel(p.dir), p.connectorType]))).toEqual(EXPECTED_LOADED);
  });

  it('gives each kind of breakage listed by the issue its own code', () => {
    const distinct = new Set(Object.values(EXPECTED_FAILURES));
    // manifest (3 cases) and path escape (entry/configSchema) share a code; everything else is distinct
    expect(distinct.size).toBe(Object.keys(EXPECTED_FAILURES).length - 3);
  });

  it('never imports a package without an erpc field', () => {
    expect([...report.loaded, ...report.failed].some((p) => rel(p.dir) === 'not-a-plugin')).toBe(false);
  });

  it('keeps the first plugin of a duplicated type and never calls create() of the second', async () => {
    expect(registry.plugin('FIXTURE_DUPLICATE').displayName).toBe('Duplicate (first)');
    expect((globalThis as { __erpcDuplicateSecondCreated?: boolean }).__erpcDuplicateSecondCreated).toBeUndefined();
    await expect(registry.get('FIXTURE_DUPLICATE').push(doc(), ctx())).resolves.toEqual({ externalRef: 'fixture_duplicate:p-1' });
  });

  it('names the failing field of an invalid manifest', () => {
    const byCase = (c: string) => report.failed.find((f) => rel(f.dir) === c)?.error.message ?? '';
    expect(byCase('manifest-bad-connector-type')).toContain('/connectorType');
    expect(byCase('manifest-unknown-version')).toContain('/manifestVersion');
    expect(byCase('manifest-missing-fields')).toMatch(/missing "entry".*missing "configSchema".*missing "sdk"/);
    expect(byCase('entry-escapes-dir')).toContain('"entry"');
    expect(byCase('config-schema-escapes-dir')).toContain('"configSchema"');
    expect(byCase('config-schema-unknown-keyword')).toContain('unknown keyword: "secret"');
  });
});

describe('ConnectorRegistry', () => {
  it('resolves each connector type to the port its create() returned', () => {
    const port = registry.get('FIXTURE_GOOD_ALPHA');
    expect(registry.get('FIXTURE_GOOD_ALPHA')).toBe(port);
    expect(registry.plugin('FIXTURE_GOOD_ALPHA').port).toBe(port);
    expect(registry.types()).toEqual(['FIXTURE_DUPLICATE', 'FIXTURE_GOOD_ALPHA', 'FIXTURE_GOOD_SCOPED']);
  });

  it('throws ERPC_ERR_CONNECTOR_UNKNOWN naming the known types', () => {
    expect(() => registry.get('NOPE')).toThrowError(
      expect.objectContaining({
        code: 'ERPC_ERR_CONNECTOR_UNKNOWN',
        message: 'Unknown connector type "NOPE". Known types: FIXTURE_DUPLICATE, FIXTURE_GOOD_ALPHA, FIXTURE_GOOD_SCOPED.',
      }),
    );
    expect(() => registry.plugin('FIXTURE_HANGS')).toThrowError(expect.objectContaining({ code: 'ERPC_ERR_CONNECTOR_UNKNOWN' }));
  });

  it('keeps the plugin record with a compiled config validator', () => {
    const p = registry.plugin('FIXTURE_GOOD_ALPHA');
    expect(p).toMatchObject({ name: '@fixture/good-alpha', version: '1.0.0', displayName: 'Good alpha', documentTypes: undefined });
    expect(p.configSchema).toEqual(JSON.parse(readFileSync(path.join(FIXTURES, 'good-alpha/config.schema.json'), 'utf8')));
    expect(p.validateConfig({ token: 'x' })).toBe(true);
    expect(p.validateConfig({ token: 1, other: true })).toBe(false);
    // allErrors: both problems are reported
    expect(p.validateConfig.errors).toHaveLength(2);
  });

  it('returns the same report it recorded', () => {
    expect(registry.report().failed).toEqual(report.failed);
    expect(registry.list().map((p) => p.connectorType)).toEqual(report.loaded.map((p) => p.connectorType));
  });
});

function doc() {
  return { pushId: 'p-1', documentType: 'invoice', documentId: 'INV-1', idempotencyKey: 'k-1', payload: {}, createdAt: new Date().toISOString() };
}
function ctx() {
  const noop = () => {};
  return {
    config: {},
    signal: new AbortController().signal,
    logger: { debug: noop, info: noop, warn: noop, error: noop },
    connection: { id: 'c', orgId: 'o', connectorType: 'FIXTURE_DUPLICATE' },
  };
}
