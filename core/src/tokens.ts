/**
 * Injection tokens of the host's container. Only `container.ts` registers them; classes take
 * them with explicit `@inject(TOKENS.X)` on every constructor parameter (no emitted metadata).
 */
export const TOKENS = {
  /** AppConfig: settings read from the environment once. */
  AppConfig: Symbol.for('erpc.AppConfig'),
  /** pino.Logger of the host. */
  Logger: Symbol.for('erpc.Logger'),
  /** Clock ({ now(): Date }). */
  Clock: Symbol.for('erpc.Clock'),
  /** HostServices handed to connector plugins' create(deps). */
  HostServices: Symbol.for('erpc.HostServices'),
  /** ConnectorRegistry. */
  ConnectorRegistry: Symbol.for('erpc.ConnectorRegistry'),
  /** Knex instance (PostgreSQL or PGlite). */
  Db: Symbol.for('erpc.Db'),
  /** Keyring of encryption keys. */
  Keyring: Symbol.for('erpc.Keyring'),
  /** ConfigCipher. */
  ConfigCipher: Symbol.for('erpc.ConfigCipher'),
  /** Repositories and services (registered by later modules). */
  OrganizationRepository: Symbol.for('erpc.OrganizationRepository'),
  ApiKeyRepository: Symbol.for('erpc.ApiKeyRepository'),
  ConnectionRepository: Symbol.for('erpc.ConnectionRepository'),
  ConnectionService: Symbol.for('erpc.ConnectionService'),
  OrganizationService: Symbol.for('erpc.OrganizationService'),
  ApiKeyService: Symbol.for('erpc.ApiKeyService'),
  PushRepository: Symbol.for('erpc.PushRepository'),
  PushService: Symbol.for('erpc.PushService'),
  /** PushSignal: in-process wake-up of workers after a push is accepted. */
  PushSignal: Symbol.for('erpc.PushSignal'),
  Metrics: Symbol.for('erpc.Metrics'),
} as const;

/** The token under which the connector of `type` is registered. */
export function connectorToken(type: string): symbol {
  return Symbol.for(`erpc.connector.${type}`);
}
