import 'reflect-metadata';
import { container as rootContainer, instanceCachingFactory, type DependencyContainer } from 'tsyringe';
import type { Clock, ERPConnectorPort, HostServices } from '@erpc/sdk';
import type { AppConfig } from './config.js';
import { systemClock } from './clock.js';
import { createLogger, toConnectorLogger, type Logger } from './logging/logger.js';
import { ConnectorRegistry, type PortBindings } from './plugins/connector-registry.js';
import { loadPlugins } from './plugins/plugin-loader.js';
import type { PluginLoadReport } from './plugins/types.js';
import { TOKENS, connectorToken } from './tokens.js';

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
    hostServices: c.resolve<HostServices>(TOKENS.HostServices),
    registry: c.resolve<ConnectorRegistry>(TOKENS.ConnectorRegistry),
    logger: c.resolve<Logger>(TOKENS.Logger).child({ component: 'plugins' }),
  });
}
