import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app.js';
import type { ApiKeyService } from '../../src/auth/api-key-service.js';
import { readFileSync } from 'node:fs';
import type { ConnectorDefinition, HostServices, PluginManifest } from '@erpc/sdk';
import mockDefinition from '../../../plugins/connector-mock/src/index.js';
import { openHost, type Host } from '../../src/container.js';
import { configSchemaAjv } from '../../src/plugins/ajv.js';
import type { ConnectorRegistry } from '../../src/plugins/connector-registry.js';
import { Keyring, generateKey } from '../../src/crypto/index.js';
import { createLogger } from '../../src/logging/logger.js';
import { loadHostConfig, type HostConfig } from '../../src/settings/index.js';
import type { TestBackend, TestDatabase } from '../support/db.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export interface TestHost {
  app: FastifyInstance;
  database: TestDatabase;
  host: Host;
  /** Every log line the host wrote (JSON), from any component. */
  logs: string[];
  createOrg(name: string): Promise<{ id: string; apiKey: string }>;
  close(): Promise<void>;
}

/** A host on a fresh database with the repository's plugins (MOCK among them), logging into memory. */
export async function createTestHost(
  backend: TestBackend,
  env: Record<string, string> = {},
  /** Plugins registered besides MOCK: [folder under plugins/, its definition from source]. */
  extraPlugins: readonly (readonly [string, ConnectorDefinition<unknown>])[] = [],
  options: { keyring?: Keyring } = {},
): Promise<TestHost> {
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  const logger = createLogger({ level: 'debug', destination });
  const database = await backend.open();
  const host = await openHost(testConfig(env), {
    logger,
    db: database.db,
    keyring: options.keyring ?? new Keyring(generateKey()),
    plugins: (registry, services) => {
      registerFromSource(registry, services, 'connector-mock', mockDefinition as ConnectorDefinition<unknown>);
      for (const [folder, definition] of extraPlugins) registerFromSource(registry, services, folder, definition);
    },
  });
  const app = await buildApp(host);
  await app.ready();
  return {
    app,
    database,
    host,
    logs,
    async createOrg(name) {
      const r = await host.services.organizations.create(name);
      return { id: r.org.id, apiKey: r.apiKey };
    },
    async close() {
      await app.close();
      await host.close();
      await database.close();
    },
  };
}

/** Settings of a test host: the given variables only (never the test process's environment). */
export function testConfig(env: Record<string, string> = {}): HostConfig {
  return loadHostConfig({ env: { ERPC_PLUGIN_DIRS: path.join(repoRoot, 'plugins'), ERPC_SCHEMA_CACHE_DIR: 'off', ...env }, cwd: repoRoot });
}

const validators = new Map<string, ReturnType<ReturnType<typeof configSchemaAjv>['compile']>>();
/** One compiled validator per schema $id: the loader's Ajv instance refuses a second schema with the same id. */
function compiled(schema: Record<string, unknown>) {
  const key = String(schema.$id ?? JSON.stringify(schema));
  let v = validators.get(key);
  if (v === undefined) {
    v = configSchemaAjv().compile(schema);
    validators.set(key, v);
  }
  return v;
}

/**
 * Registers a repository plugin from its TypeScript source with its real manifest and config
 * schema (compiled like the loader does): under vitest, workspace packages resolve to TS source,
 * which the loader's native import() of the plugin's dist cannot follow.
 */
export function registerFromSource(registry: ConnectorRegistry, services: HostServices, folder: string, definition: ConnectorDefinition<unknown>): void {
  const dir = path.join(repoRoot, 'plugins', folder);
  const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name: string; version: string; erpc: PluginManifest };
  const configSchema = JSON.parse(readFileSync(path.join(dir, pkg.erpc.configSchema), 'utf8')) as Record<string, unknown>;
  registry.register({
    dir,
    name: pkg.name,
    version: pkg.version,
    manifest: pkg.erpc,
    connectorType: pkg.erpc.connectorType,
    displayName: pkg.erpc.displayName ?? pkg.name,
    documentTypes: pkg.erpc.documentTypes,
    configSchema,
    validateConfig: compiled(configSchema),
    port: definition.create(services),
  });
}

export function apiKeys(host: TestHost): ApiKeyService {
  return host.host.services.apiKeys;
}

export const auth = (apiKey: string) => ({ authorization: `Bearer ${apiKey}` });
