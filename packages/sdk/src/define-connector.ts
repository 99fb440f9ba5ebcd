import {
  CONNECTOR_API_VERSION,
  CONNECTOR_DEFINITION_TAG,
  type ConnectorDefinition,
  type ERPConnectorPort,
  type HostServices,
} from './types.js';

/** What {@link defineConnector} takes: the connector type and its factory. */
export interface ConnectorSpec<C> {
  /** Must equal the manifest's `connectorType`. */
  connectorType: string;
  /** Builds the connector, once, at load. Must not do I/O. */
  create(deps: HostServices): ERPConnectorPort<C>;
}

/**
 * Builds a tagged connector definition, to be the default export of a plugin's entry module.
 *
 * @example
 * ```ts
 * export default defineConnector<MyConfig>({
 *   connectorType: 'ACME_THING_V1',
 *   create: () => ({ async testConnection() { … }, async push(doc, ctx) { … } }),
 * });
 * ```
 */
export function defineConnector<C = Record<string, unknown>>(spec: ConnectorSpec<C>): ConnectorDefinition<C> {
  return Object.freeze({
    $$type: CONNECTOR_DEFINITION_TAG,
    apiVersion: CONNECTOR_API_VERSION,
    connectorType: spec.connectorType,
    create: spec.create,
  });
}

/** True when `value` is tagged as a connector definition (any apiVersion). */
export function isConnectorDefinition(value: unknown): value is ConnectorDefinition<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { $$type?: unknown }).$$type === CONNECTOR_DEFINITION_TAG &&
    typeof (value as { create?: unknown }).create === 'function'
  );
}

/** True when `value` has the required methods of an {@link ERPConnectorPort}. */
export function isConnectorPort(value: unknown): value is ERPConnectorPort<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { push?: unknown }).push === 'function' &&
    typeof (value as { testConnection?: unknown }).testConnection === 'function'
  );
}
