import type { ERPConnectorPort } from '@erpc/sdk';
import { ErpcError } from '../errors/index.js';
import { DEFAULT_DISPOSE_TIMEOUT_MS, disposeConnector, type ResultOf } from './connector-call.js';
import type { FailedPlugin, LoadedPlugin, PluginLoadReport } from './types.js';

/** How a dispose() that did not end well ended (a throw, a timeout), as plain scrubbed data. */
export type DisposeFailure = Exclude<ResultOf<'dispose'>, { kind: 'value' | 'unavailable' }>;

/**
 * Where port instances live: the container, one token per connector type. container.ts
 * implements it over tsyringe so that only the composition root touches the container.
 */
export interface PortBindings {
  bind(connectorType: string, port: ERPConnectorPort<unknown>): void;
  resolve(connectorType: string): ERPConnectorPort<unknown> | undefined;
}

/**
 * The loaded connectors, by type. The port instances are registered in the container under
 * `connectorToken(type)`; the registry keeps the plugin records and the last load report.
 */
export class ConnectorRegistry {
  readonly #bindings: PortBindings;
  readonly #plugins = new Map<string, LoadedPlugin>();
  #failed: FailedPlugin[] = [];

  constructor(bindings: PortBindings) {
    this.#bindings = bindings;
  }

  /**
   * Registers a loaded plugin. Throws ERPC_ERR_PLUGIN_DUPLICATE_TYPE when its type is taken:
   * the plugin registered first keeps working.
   */
  register(plugin: LoadedPlugin): void {
    const first = this.#plugins.get(plugin.connectorType);
    if (first !== undefined) {
      throw new ErpcError('ERPC_ERR_PLUGIN_DUPLICATE_TYPE', { dir: plugin.dir, type: plugin.connectorType, firstDir: first.dir });
    }
    if (plugin.port !== undefined) this.#bindings.bind(plugin.connectorType, plugin.port);
    this.#plugins.set(plugin.connectorType, plugin);
  }

  /** Records a plugin that failed to load (for {@link report}). */
  recordFailure(failure: FailedPlugin): void {
    this.#failed.push(failure);
  }

  /** Whether a connector of this type is registered. */
  has(connectorType: string): boolean {
    return this.#plugins.has(connectorType);
  }

  /** The port instance of `connectorType`. Throws ERPC_ERR_CONNECTOR_UNKNOWN naming the known types. */
  get<C = Record<string, unknown>>(connectorType: string): ERPConnectorPort<C> {
    const port = this.#plugins.has(connectorType) ? this.#bindings.resolve(connectorType) : undefined;
    if (port === undefined) throw this.#unknown(connectorType);
    return port as ERPConnectorPort<C>;
  }

  /** The loaded plugin record of `connectorType` (manifest, config validator, port…). Throws like {@link get}. */
  plugin(connectorType: string): LoadedPlugin {
    const plugin = this.#plugins.get(connectorType);
    if (plugin === undefined) throw this.#unknown(connectorType);
    return plugin;
  }

  /** The registered connector types, sorted. */
  types(): string[] {
    return [...this.#plugins.keys()].sort();
  }

  /** The loaded plugins, in registration order. */
  list(): LoadedPlugin[] {
    return [...this.#plugins.values()];
  }

  /** Loaded and failed plugins, each in discovery order. */
  report(): PluginLoadReport {
    return { loaded: this.list(), failed: [...this.#failed] };
  }

  /**
   * Calls every port's optional dispose() (at shutdown) through the connector call, each with a
   * deadline; failures (a throw, a timeout) are returned, not thrown, scrubbed like every result.
   */
  async dispose(timeoutMs = DEFAULT_DISPOSE_TIMEOUT_MS): Promise<{ connectorType: string; error: DisposeFailure }[]> {
    const errors: { connectorType: string; error: DisposeFailure }[] = [];
    for (const p of this.#plugins.values()) {
      const result = await disposeConnector(p, { timeoutMs });
      if (result.kind !== 'value' && result.kind !== 'unavailable') errors.push({ connectorType: p.connectorType, error: result });
    }
    return errors;
  }

  #unknown(connectorType: string): ErpcError {
    const known = this.types();
    return new ErpcError(
      'ERPC_ERR_CONNECTOR_UNKNOWN',
      { type: connectorType, known: known.length > 0 ? known.join(', ') : '(none loaded)' },
      { details: { connectorType, knownTypes: known } },
    );
  }
}
