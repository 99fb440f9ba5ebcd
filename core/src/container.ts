import { container as rootContainer, instanceCachingFactory, type DependencyContainer } from './di.js';
import type { Clock, ERPConnectorPort, HostServices } from '@erpc/sdk';
import type { AppConfig } from './config.js';
import { systemClock } from './clock.js';
import { createLogger, toConnectorLogger, type Logger } from './logging/logger.js';
import { ConnectorRegistry, type PortBindings } from './plugins/connector-registry.js';
import { loadPlugins } from './plugins/plugin-loader.js';
import type { PluginLoadReport } from './plugins/types.js';
import { TOKENS, connectorToken } from './tokens.js';
import type { Knex } from 'knex';
import { ConfigCipher, type Keyring } from './crypto/index.js';
import { Metrics } from './observability/metrics.js';
import { KnexApiKeyRepository, KnexConnectionRepository, KnexOrganizationRepository } from './storage/index.js';
import { ConnectionService } from './connections/connection-service.js';
import { ApiKeyService } from './auth/api-key-service.js';
import { OrganizationService } from './auth/organization-service.js';
import { PushSignal } from './push/push-signal.js';
import { createPushService } from './push/push-runtime.js';

/** Replacements for the defaults createContainer registers (tests, embedding applications). */
export interface ContainerOverrides {
  logger?: Logger;
  clock?: Clock;
}

/**
 * The composition root: a child of tsyringe's root container with the host's services.
 * Later modules add their registrations here (storage, crypto, services), each as a factory
 * resolved on first use, so a command pays only for what it resolves.
 */
export function createContainer(config: AppConfig, overrides: ContainerOverrides = {}): DependencyContainer {
  const c = rootContainer.createChildContainer();
  c.register<AppConfig>(TOKENS.AppConfig, { useValue: Object.freeze({ ...config }) });
  c.register<Logger>(TOKENS.Logger, { useValue: overrides.logger ?? createLogger({ level: config.logLevel }) });
  c.register<Clock>(TOKENS.Clock, { useValue: overrides.clock ?? systemClock });
  c.register<HostServices>(TOKENS.HostServices, {
    useFactory: instanceCachingFactory<HostServices>((dc) =>
      Object.freeze({
        logger: toConnectorLogger(dc.resolve<Logger>(TOKENS.Logger).child({ component: 'connector' })),
        clock: dc.resolve<Clock>(TOKENS.Clock),
      }),
    ),
  });
  c.register<ConnectorRegistry>(TOKENS.ConnectorRegistry, {
    useFactory: instanceCachingFactory<ConnectorRegistry>((dc) => new ConnectorRegistry(portBindings(dc))),
  });
  return c;
}

/** One token per connector type (`connectorToken(type)`), each bound to the port create() returned. */
function portBindings(c: DependencyContainer): PortBindings {
  return {
    bind(connectorType, port) {
      c.register<ERPConnectorPort<unknown>>(connectorToken(connectorType), { useFactory: instanceCachingFactory(() => port) });
    },
    resolve(connectorType) {
      const token = connectorToken(connectorType);
      return c.isRegistered(token) ? c.resolve<ERPConnectorPort<unknown>>(token) : undefined;
    },
  };
}

/**
 * Discovers and loads the plugins of `config.pluginDirs` into the container's ConnectorRegistry.
 * Never throws for a broken plugin; the report (also `registry.report()`) lists each failure.
 */
export async function loadConnectors(c: DependencyContainer): Promise<PluginLoadReport> {
  const config = c.resolve<AppConfig>(TOKENS.AppConfig);
  return loadPlugins({
    dirs: config.pluginDirs,
    importTimeoutMs: config.pluginImportTimeoutMs,
    schemaCacheDir: config.schemaCacheDir,
    hostServices: c.resolve<HostServices>(TOKENS.HostServices),
    registry: c.resolve<ConnectorRegistry>(TOKENS.ConnectorRegistry),
    logger: c.resolve<Logger>(TOKENS.Logger).child({ component: 'plugins' }),
  });
}

/** What {@link registerHostServices} binds: the opened database and the loaded keys. */
export interface HostResources {
  db: Knex;
  keyring: Keyring;
  /** Collect process metrics (a real server; tests build many hosts). */
  metricsDefaults?: boolean;
}

/** Registers storage, crypto and the services of connections, organisations and API keys (singletons). */
export function registerHostServices(c: DependencyContainer, resources: HostResources): void {
  const single = <T>(token: symbol, make: (dc: DependencyContainer) => T) => c.register<T>(token, { useFactory: instanceCachingFactory<T>(make) });
  c.register<Knex>(TOKENS.Db, { useValue: resources.db });
  c.register<Keyring>(TOKENS.Keyring, { useValue: resources.keyring });
  single(TOKENS.ConfigCipher, () => new ConfigCipher(resources.keyring));
  single(TOKENS.Metrics, () => new Metrics({ defaultMetrics: resources.metricsDefaults === true }));
  single(TOKENS.ConnectionRepository, () => new KnexConnectionRepository(resources.db));
  single(TOKENS.OrganizationRepository, () => new KnexOrganizationRepository(resources.db));
  single(TOKENS.ApiKeyRepository, () => new KnexApiKeyRepository(resources.db));
  single(TOKENS.ConnectionService, (dc) => dc.resolve(ConnectionService));
  single(TOKENS.ApiKeyService, (dc) => dc.resolve(ApiKeyService));
  single(TOKENS.OrganizationService, (dc) => dc.resolve(OrganizationService));
  single(TOKENS.PushSignal, () => new PushSignal());
  const databaseKind = (resources.db.client as { config?: { client?: unknown } }).config?.client === 'pg' ? 'postgres' : 'pglite';
  single(TOKENS.PushService, (dc) => createPushService(dc, databaseKind));
}
