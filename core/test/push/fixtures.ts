import { randomBytes, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Knex } from 'knex';
import type { Clock, ConnectorDefinition, ERPConnectorPort, PluginManifest } from '@erpc/sdk';
import { ConfigCipher, keyringFromEnv } from '../../src/crypto/index.js';
import { createLogger } from '../../src/logging/logger.js';
import { ConnectorRegistry } from '../../src/plugins/connector-registry.js';
import { readFileSync } from 'node:fs';
import mockDefinition from '../../../plugins/connector-mock/src/index.js';
import dropzoneDefinition from '../../../plugins/connector-dropzone-json-v1/src/index.js';
import { PushService } from '../../src/push/push-service.js';
import { PushSignal } from '../../src/push/push-signal.js';
import { PushWorker, type PushWorkerOptions } from '../../src/push/worker.js';
import { RetryPolicy } from '../../src/push/retry-policy.js';
import { Repositories } from '../../src/storage/index.js';

/** The repository's plugins folder (MOCK and DROPZONE_JSON_V1, built). */
export const PLUGINS_DIR = fileURLToPath(new URL('../../../plugins', import.meta.url));

/** A clock tests move by hand. */
export class ManualClock implements Clock {
  constructor(private t = Date.parse('2026-01-05T10:00:00.000Z')) {}
  now(): Date {
    return new Date(this.t);
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

/**
 * The repository's MOCK and DROPZONE_JSON_V1, from source (vitest resolves workspace packages to
 * TypeScript, which the host's native import() cannot load), registered with their real
 * manifests and config schemas. One registry per test: MOCK keeps its state per port.
 */
export async function loadRegistry(clock: Clock): Promise<ConnectorRegistry> {
  const ports = new Map<string, ERPConnectorPort<unknown>>();
  const registry = new ConnectorRegistry({ bind: (t, p) => void ports.set(t, p), resolve: (t) => ports.get(t) });
  const hostServices = { logger: { debug() {}, info() {}, warn() {}, error() {} }, clock };
  for (const [folder, definition] of [['connector-mock', mockDefinition], ['connector-dropzone-json-v1', dropzoneDefinition]] as const) {
    const dir = `${PLUGINS_DIR}/${folder}`;
    const pkg = JSON.parse(readFileSync(`${dir}/package.json`, 'utf8')) as { name: string; version: string; erpc: PluginManifest };
    const configSchema = JSON.parse(readFileSync(`${dir}/config.schema.json`, 'utf8')) as Record<string, unknown>;
    registry.register({
      dir, name: pkg.name, version: pkg.version, manifest: pkg.erpc, connectorType: pkg.erpc.connectorType,
      displayName: pkg.erpc.displayName ?? pkg.name, documentTypes: pkg.erpc.documentTypes, configSchema,
      validateConfig: (() => true) as never,
      port: (definition as ConnectorDefinition<unknown>).create(hostServices) as ERPConnectorPort<unknown>,
    });
  }
  return registry;
}

export interface PushHarness {
  db: Knex;
  clock: ManualClock;
  cipher: ConfigCipher;
  registry: ConnectorRegistry;
  service: PushService;
  signal: PushSignal;
  logLines: string[];
  newOrg(): Promise<string>;
  /** Inserts a connection whose config is encrypted like ConnectionService does. */
  newConnection(orgId: string, connectorType: string, config: Record<string, unknown>, status?: 'ACTIVE' | 'DISABLED'): Promise<string>;
  worker(options?: PushWorkerOptions): PushWorker;
}

export async function pushHarness(db: Knex, backend: 'pglite' | 'postgres'): Promise<PushHarness> {
  const clock = new ManualClock();
  const cipher = new ConfigCipher(keyringFromEnv({ ENCRYPTION_MASTER_KEY: randomBytes(32).toString('hex') }));
  const registry = await loadRegistry(clock);
  const signal = new PushSignal();
  const storage = new Repositories(db);
  const service = new PushService(storage, registry, clock, signal, { databaseKind: backend });
  const logLines: string[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (s: string) => void logLines.push(s) } });
  return {
    db, clock, cipher, registry, service, signal, logLines,
    async newOrg() {
      const id = randomUUID();
      await db('organization').insert({ id, name: `org ${id.slice(0, 8)}`, created_at: clock.now(), updated_at: clock.now() });
      return id;
    },
    async newConnection(orgId, connectorType, config, status = 'ACTIVE') {
      const id = randomUUID();
      const { blob, keyId } = cipher.encrypt(config, { orgId, connectionId: id });
      await db('erp_connection').insert({
        id, org_id: orgId, connector_type: connectorType, name: connectorType, status,
        config_encrypted: blob, config_key_id: keyId, created_at: clock.now(), updated_at: clock.now(),
      });
      return id;
    },
    worker(options = {}) {
      return new PushWorker(
        { storage, registry, cipher, clock, logger },
        { retryPolicy: new RetryPolicy({ jitter: 0 }), pollIntervalMs: 50, ...options },
      );
    },
  };
}
