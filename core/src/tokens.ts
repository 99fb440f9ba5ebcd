import type { Clock, HostServices } from '@erpc/sdk';
import type { ApiKeyService } from './auth/api-key-service.js';
import type { OrganizationService } from './auth/organization-service.js';
import type { ApiKeyStore, OrganizationStore } from './auth/ports.js';
import type { ConnectionStore } from './connections/ports.js';
import type { ConnectionImportService } from './connections/connection-import-service.js';
import type { ConnectionService } from './connections/connection-service.js';
import type { ConfigCipher, Keyring } from './crypto/index.js';
import type { KeyHealth } from './keys/key-status.js';
import type { KeyRotationService } from './keys/key-rotation-service.js';
import type { Logger } from './logging/logger.js';
import type { Metrics } from './observability/metrics.js';
import type { ConnectorCaller } from './plugins/connector-call.js';
import type { GrantPolicy } from './plugins/sandbox/grants.js';
import type { SandboxSupervisor } from './plugins/sandbox/sandbox-supervisor.js';
import type { ConnectorRegistry } from './plugins/connector-registry.js';
import type { PushService } from './push/push-service.js';
import type { PushSignal } from './push/push-signal.js';
import type { HostConfig } from './settings/index.js';
import type { Repositories } from './storage/repositories/index.js';
import type { ConnectionTestRecorder } from './webhooks/connection-test-events.js';
import type { WebhookService } from './webhooks/webhook-service.js';

/**
 * An injection token that names the type it resolves to: the root's typed `resolve` infers it,
 * so resolving a token as the wrong type does not compile. At run time it is a plain symbol,
 * which is what tsyringe's `@inject(TOKEN)` takes.
 */
export type Token<T> = symbol & { readonly __resolvesTo?: T };

const token = <T>(name: string): Token<T> => Symbol.for(`erpc.${name}`) as Token<T>;

/**
 * Injection tokens of the host's container. Only `container.ts` registers and resolves them;
 * classes take them with explicit `@inject(TOKENS.X)` on every constructor parameter (no emitted
 * metadata).
 */
export const TOKENS = {
  /** The settings of the process, parsed once. */
  HostConfig: token<HostConfig>('HostConfig'),
  Logger: token<Logger>('Logger'),
  Clock: token<Clock>('Clock'),
  /** What connector plugins' `create(deps)` receives (logger, clock). */
  HostServices: token<HostServices>('HostServices'),
  ConnectorRegistry: token<ConnectorRegistry>('ConnectorRegistry'),
  /** The operator's grants applied to what plugins declare. */
  GrantPolicy: token<GrantPolicy>('GrantPolicy'),
  /** Starts and supervises the sandbox processes plugin code runs in. */
  SandboxSupervisor: token<SandboxSupervisor>('SandboxSupervisor'),
  /** The one connector call (no config cache: for connection tests). */
  ConnectorCaller: token<ConnectorCaller>('ConnectorCaller'),
  Keyring: token<Keyring>('Keyring'),
  ConfigCipher: token<ConfigCipher>('ConfigCipher'),
  Metrics: token<Metrics>('Metrics'),
  /** Every repository, bound to the database (and, inside a transaction, to it). */
  Repositories: token<Repositories>('Repositories'),
  /** The ports services declare, each bound to its repository. */
  OrganizationStore: token<OrganizationStore>('OrganizationStore'),
  ApiKeyStore: token<ApiKeyStore>('ApiKeyStore'),
  ConnectionStore: token<ConnectionStore>('ConnectionStore'),
  OrganizationService: token<OrganizationService>('OrganizationService'),
  ApiKeyService: token<ApiKeyService>('ApiKeyService'),
  ConnectionService: token<ConnectionService>('ConnectionService'),
  ConnectionImportService: token<ConnectionImportService>('ConnectionImportService'),
  PushService: token<PushService>('PushService'),
  /** In-process wake-up of workers after a push is accepted. */
  PushSignal: token<PushSignal>('PushSignal'),
  KeyRotationService: token<KeyRotationService>('KeyRotationService'),
  KeyHealth: token<KeyHealth>('KeyHealth'),
  /** Webhook endpoints, deliveries, replays. */
  WebhookService: token<WebhookService>('WebhookService'),
  /** In-process wake-up of webhook dispatchers after events are queued. */
  WebhookSignal: token<PushSignal>('WebhookSignal'),
  /** A connection test's outcome with its connection.test_failed event. */
  ConnectionTestRecorder: token<ConnectionTestRecorder>('ConnectionTestRecorder'),
} as const;
