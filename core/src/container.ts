import { basename } from 'node:path';
import type { Knex } from 'knex';
import type { Clock, ERPConnectorPort, HostServices } from '@erpc/sdk';
import { container as rootContainer, instanceCachingFactory, type DependencyContainer } from './di.js';
import { ApiKeyService } from './auth/api-key-service.js';
import { OrganizationService } from './auth/organization-service.js';
import { systemClock } from './clock.js';
import { ConnectionImportService } from './connections/connection-import-service.js';
import { ConnectionService } from './connections/connection-service.js';
import { ConfigCipher, keyringFromEnv, loadOrCreateLocalKey, type Keyring } from './crypto/index.js';
import { ErpcError } from './errors/index.js';
import { KeyHealth, checkKeysAtStartup, describeMissingKeys, encryptedRows, readKeyStatus, type KeyStatus } from './keys/key-status.js';
import { KeyRotationService } from './keys/key-rotation-service.js';
import { Readiness, type ReadinessCheck } from './health/readiness.js';
import { Lifecycle } from './lifecycle.js';
import { createLogger, toConnectorLogger, type Logger } from './logging/logger.js';
import { Metrics } from './observability/metrics.js';
import { ConnectorCaller } from './plugins/connector-call.js';
import { GrantPolicy } from './plugins/sandbox/grants.js';
import { sandboxIdentity, type SandboxIdentity } from './plugins/sandbox/permissions.js';
import { SandboxSupervisor } from './plugins/sandbox/sandbox-supervisor.js';
import { ConnectorRegistry, type PortBindings } from './plugins/connector-registry.js';
import { loadPlugins } from './plugins/plugin-loader.js';
import type { PluginLoadReport } from './plugins/types.js';
import { PushService } from './push/push-service.js';
import { PushSignal } from './push/push-signal.js';
import { RetryPolicy } from './push/retry-policy.js';
import { PushWorker, type PushWorkerOptions } from './push/worker.js';
import type { HostConfig, LogLevel } from './settings/index.js';
import { PushListener, createDatabase, databaseKind, migrateLatest, type DatabaseKind } from './storage/index.js';
import { Repositories } from './storage/repositories/index.js';
import { TOKENS, type Token } from './tokens.js';
import { WorkerHeartbeat, listWorkers, type WorkerView } from './workers/worker-heartbeat.js';
import { AddressPolicy } from './webhooks/address-policy.js';
import { ConnectionTestRecorder } from './webhooks/connection-test-events.js';
import { WebhookRetrySchedule } from './webhooks/retry-schedule.js';
import { WebhookDispatcher, type WebhookDispatcherOptions } from './webhooks/webhook-dispatcher.js';
import { WebhookHttpClient } from './webhooks/webhook-http.js';
import { WebhookService } from './webhooks/webhook-service.js';
import type { PushEvents } from './push/ports.js';

/**
 * The composition root: the one place that builds services and knows tsyringe. `openHost` turns
 * a HostConfig into a running {@link Host}: keys, database (migrated), plugins, services, and one
 * {@link Lifecycle} that starts and stops them in order. Routes and CLI commands take what they
 * need from the Host; nothing else constructs a service or looks up a token.
 */

/** The host's services, each built on first use. */
export interface Services {
  readonly organizations: OrganizationService;
  readonly apiKeys: ApiKeyService;
  readonly connections: ConnectionService;
  readonly connectionImport: ConnectionImportService;
  readonly pushes: PushService;
  readonly keyRotation: KeyRotationService;
  /** Webhook endpoints of each organisation, their deliveries and replays. */
  readonly webhooks: WebhookService;
  /** Key health for /healthz (cached). */
  readonly keyHealth: KeyHealth;
  /** What `erpc keys status` reports. */
  keyStatus(): Promise<KeyStatus>;
  /** What `erpc workers list` reports: every worker's heartbeat, live or stale. */
  workers(): Promise<WorkerView[]>;
}

/** A push worker with its wake-up sources: LISTEN on PostgreSQL, the in-process signal always. */
export interface PushRuntime {
  readonly worker: PushWorker;
  /** Sends the webhook events, beside the push worker. */
  readonly webhooks: WebhookDispatcher;
  start(): Promise<void>;
  /**
   * Graceful: stops claiming, finishes in-flight pushes within `graceMs` (default
   * ERPC_PUSH_SHUTDOWN_GRACE_MS) or releases them, stops listening, removes its heartbeat.
   */
  stop(options?: { graceMs?: number }): Promise<void>;
}

export type { ReadinessCheck } from './health/readiness.js';

/** An opened host. `close()` (= `lifecycle.stop()`) releases everything it opened, in reverse order. */
export interface Host {
  readonly config: HostConfig;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly registry: ConnectorRegistry;
  /** What loading the plugins of `config.pluginDirs` found (empty when plugins were registered by hand). */
  readonly pluginReport: PluginLoadReport;
  readonly metrics: Metrics;
  readonly keyring: Keyring;
  readonly databaseKind: DatabaseKind;
  readonly services: Services;
  readonly lifecycle: Lifecycle;
  /**
   * The readiness checks of /readyz (database and plugins from the start, keys once
   * `enforceKeys` ran, `shutdown` once a stop signal came). Owners of other parts add theirs.
   */
  readonly readiness: Readiness;
  /** One round trip to the database (the /healthz database check). */
  pingDatabase(): Promise<void>;
  /** The /healthz entry of the plugin sandboxes: per connector type, healthy or in its restart backoff (details; never fails the check). */
  readonly sandboxCheck: ReadinessCheck;
  /**
   * The start-up key check of `serve` and `worker`: throws ERPC_ERR_KEY_NOT_LOADED when rows are
   * under keys that are not loaded, unless `config.allowMissingKeys` (then a warning). Returns
   * the readiness check reporting the same (also added to `readiness`).
   */
  enforceKeys(): Promise<ReadinessCheck>;
  /** A push worker over this host's services, configured from `config.worker` plus `overrides`. */
  createPushRuntime(overrides?: PushWorkerOptions, webhookOverrides?: WebhookDispatcherOptions): PushRuntime;
  close(): Promise<void>;
}

/** How {@link openHost} differs from a production start (tests, tools, embedding applications). */
export interface OpenHostOptions {
  logger?: Logger;
  /** Level when `config.logLevel` is unset (default info; one-shot commands pass warn). */
  defaultLogLevel?: LogLevel;
  clock?: Clock;
  /** An open database to use instead of opening one from the config; the host does not close it. */
  db?: Knex;
  /** A keyring to use instead of the config's keys (tests). */
  keyring?: Keyring;
  /** Collect process metrics (a real server; tests build many hosts). */
  metricsDefaults?: boolean;
  /** Runs once the keys are loaded, before the database opens (serve claims the data directory here). */
  beforeDatabase?: (lifecycle: Lifecycle) => Promise<void>;
  /**
   * `discover` (default) loads the plugins of `config.pluginDirs`; `none` loads none (one-shot
   * commands that never call a connector: no sandbox started, no plugin warning printed); a
   * function registers plugins itself (tests register source builds), with the services plugins'
   * create(deps) receives.
   */
  plugins?: 'discover' | 'none' | ((registry: ConnectorRegistry, services: HostServices) => void);
}

/**
 * The keyring: ENCRYPTION_MASTER_KEY when set (a malformed key throws before anything else
 * happens); on the embedded default without it, the local key file (generated on first start,
 * with a warning); with DATABASE_URL and no key, ERPC_ERR_KEY_MISSING.
 */
export async function resolveKeyring(config: HostConfig, logger: Logger): Promise<Keyring> {
  const keys = { ENCRYPTION_MASTER_KEY: config.encryptionMasterKey, ENCRYPTION_PREVIOUS_KEYS: config.encryptionPreviousKeys };
  if (config.encryptionMasterKey !== undefined) return keyringFromEnv(keys);
  if (config.databaseUrl !== undefined) throw new ErpcError('ERPC_ERR_KEY_MISSING');
  const local = await loadOrCreateLocalKey(config.dataDir);
  if (local.created) {
    logger.warn(
      { path: local.path, keyId: local.keyId },
      'generated a local encryption key for the embedded database; it is for local use only: set ENCRYPTION_MASTER_KEY in production',
    );
  }
  return keyringFromEnv({ ...keys, ENCRYPTION_MASTER_KEY: local.key });
}

/** Keys → database (migrated) → container → plugins. On any failure, what was opened is closed. */
export async function openHost(config: HostConfig, options: OpenHostOptions = {}): Promise<Host> {
  const logger = options.logger ?? createLogger({ level: config.logLevel ?? options.defaultLogLevel ?? 'info' });
  const lifecycle = new Lifecycle(logger);
  try {
    const keyring = options.keyring ?? (await resolveKeyring(config, logger));
    await options.beforeDatabase?.(lifecycle);
    let db = options.db;
    if (db === undefined) {
      const opened = await createDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
      lifecycle.own('database', () => opened.destroy());
      await migrateLatest(opened);
      db = opened;
    }
    const c = buildContainer(config, { db, keyring, logger, clock: options.clock ?? systemClock, metricsDefaults: options.metricsDefaults === true });
    const registry = resolve(c, TOKENS.ConnectorRegistry);
    lifecycle.own('plugins', async () => {
      for (const { connectorType, error } of await registry.dispose()) logger.warn({ err: error, connectorType }, 'a connector failed to dispose');
    });
    let pluginReport: PluginLoadReport = { loaded: [], failed: [] };
    if (typeof options.plugins === 'function') options.plugins(registry, resolve(c, TOKENS.HostServices));
    else if (options.plugins !== 'none') {
      pluginReport = await loadPlugins({
        dirs: config.pluginDirs,
        importTimeoutMs: config.pluginImportTimeoutMs,
        schemaCacheDir: config.schemaCacheDir,
        hostServices: resolve(c, TOKENS.HostServices),
        registry,
        logger: logger.child({ component: 'plugins' }),
        ...sandboxLoading(config, () => resolve(c, TOKENS.SandboxSupervisor).identity),
      });
    }
    lifecycle.own('sandboxes', () => resolve(c, TOKENS.SandboxSupervisor).stop());
    resolve(c, TOKENS.Metrics).initConnectors(registry.list().map((p) => ({ connectorType: p.connectorType, errorCodes: p.manifest.errorCodes })));
    return hostOf(c, { config, logger, lifecycle, registry, pluginReport, db, keyring });
  } catch (err) {
    await lifecycle.stop();
    throw err;
  }
}

/** Loads the plugins of `config.pluginDirs` without database or keys (`erpc plugins list`). */
export async function openPluginHost(
  config: HostConfig,
  logger: Logger,
): Promise<{ registry: ConnectorRegistry; report: PluginLoadReport; grants: GrantPolicy; close(): Promise<void> }> {
  const c = rootContainer.createChildContainer();
  c.register(TOKENS.Logger, { useValue: logger });
  c.register(TOKENS.Clock, { useValue: systemClock });
  registerPlugins(c);
  const registry = resolve(c, TOKENS.ConnectorRegistry);
  const report = await loadPlugins({
    dirs: config.pluginDirs,
    importTimeoutMs: config.pluginImportTimeoutMs,
    schemaCacheDir: config.schemaCacheDir,
    hostServices: resolve(c, TOKENS.HostServices),
    registry,
    logger: logger.child({ component: 'plugins' }),
    ...sandboxLoading(config, () => sandboxIdentity(config.sandbox.uid, config.sandbox.gid)),
  });
  return { registry, report, grants: new GrantPolicy(config), close: async () => void (await registry.dispose()) };
}

// --- inside the root ---

/** Which plugins are imported in sandboxes (every one unless isolation is off or the type is trusted). */
function sandboxOptions(config: HostConfig, identity: SandboxIdentity | undefined) {
  const { isolation, trusted, memoryMb } = config.sandbox;
  // In-process isolation: no sandbox at all (not even a check sandbox started ahead).
  if (isolation === 'in-process') return undefined;
  return { isolated: (type: string) => !trusted.includes(type), memoryMb, identity };
}

/** The `sandbox` option of loadPlugins, when plugins are to be checked in sandboxes. */
function sandboxLoading(config: HostConfig, identity: () => SandboxIdentity | undefined) {
  if (config.sandbox.isolation === 'in-process') return {};
  const sandbox = sandboxOptions(config, identity());
  return sandbox === undefined ? {} : { sandbox };
}

function resolve<T>(c: DependencyContainer, token: Token<T>): T {
  return c.resolve<T>(token);
}

function single<T>(c: DependencyContainer, token: Token<T>, make: (dc: DependencyContainer) => T): void {
  c.register<T>(token, { useFactory: instanceCachingFactory<T>(make) });
}

/** One token per connector type, each bound to the port its create() returned. */
function portBindings(c: DependencyContainer): PortBindings {
  const tokenOf = (type: string) => Symbol.for(`erpc.connector.${type}`);
  return {
    bind(connectorType, port) {
      c.register<ERPConnectorPort<unknown>>(tokenOf(connectorType), { useFactory: instanceCachingFactory(() => port) });
    },
    resolve(connectorType) {
      const t = tokenOf(connectorType);
      return c.isRegistered(t) ? c.resolve<ERPConnectorPort<unknown>>(t) : undefined;
    },
  };
}

function registerPlugins(c: DependencyContainer): void {
  single(c, TOKENS.HostServices, (dc) =>
    Object.freeze({
      logger: toConnectorLogger(resolve(dc, TOKENS.Logger).child({ component: 'connector' })),
      clock: resolve(dc, TOKENS.Clock),
    }),
  );
  single(c, TOKENS.ConnectorRegistry, (dc) => new ConnectorRegistry(portBindings(dc)));
}

interface Resources {
  db: Knex;
  keyring: Keyring;
  logger: Logger;
  clock: Clock;
  metricsDefaults: boolean;
}

function buildContainer(config: HostConfig, r: Resources): DependencyContainer {
  const c = rootContainer.createChildContainer();
  c.register(TOKENS.HostConfig, { useValue: config });
  c.register(TOKENS.Logger, { useValue: r.logger });
  c.register(TOKENS.Clock, { useValue: r.clock });
  c.register(TOKENS.Keyring, { useValue: r.keyring });
  registerPlugins(c);
  single(c, TOKENS.ConfigCipher, () => new ConfigCipher(r.keyring));
  single(c, TOKENS.GrantPolicy, () => new GrantPolicy(config));
  single(c, TOKENS.SandboxSupervisor, (dc) => new SandboxSupervisor(config.sandbox, resolve(dc, TOKENS.GrantPolicy), r.logger));
  single(
    c,
    TOKENS.ConnectorCaller,
    (dc) =>
      new ConnectorCaller({
        registry: resolve(dc, TOKENS.ConnectorRegistry),
        cipher: resolve(dc, TOKENS.ConfigCipher),
        logger: r.logger,
        sandboxes: resolve(dc, TOKENS.SandboxSupervisor),
        grants: resolve(dc, TOKENS.GrantPolicy),
      }),
  );
  single(c, TOKENS.Metrics, (dc) => {
    const metrics = new Metrics({ defaultMetrics: r.metricsDefaults });
    metrics.setSandboxSource(() => resolve(dc, TOKENS.SandboxSupervisor).health());
    return metrics;
  });
  single(c, TOKENS.Repositories, () => new Repositories(r.db));
  single(c, TOKENS.OrganizationStore, (dc) => resolve(dc, TOKENS.Repositories).organizations);
  single(c, TOKENS.ApiKeyStore, (dc) => resolve(dc, TOKENS.Repositories).apiKeys);
  single(c, TOKENS.ConnectionStore, (dc) => resolve(dc, TOKENS.Repositories).connections);
  // Classes with @inject(TOKEN) constructors.
  single(c, TOKENS.ConnectionService, (dc) => dc.resolve(ConnectionService));
  single(c, TOKENS.ApiKeyService, (dc) => dc.resolve(ApiKeyService));
  single(c, TOKENS.OrganizationService, (dc) => dc.resolve(OrganizationService));
  single(c, TOKENS.PushSignal, () => new PushSignal());
  single(c, TOKENS.PushService, (dc) => {
    const metrics = resolve(dc, TOKENS.Metrics);
    const storage = resolve(dc, TOKENS.Repositories);
    metrics.push.setQueueDepthSource(() => storage.pushes.queueDepth());
    return new PushService(storage, resolve(dc, TOKENS.ConnectorRegistry), r.clock, resolve(dc, TOKENS.PushSignal), {
      databaseKind: databaseKind(r.db),
      maxDepth: config.payloadMaxDepth,
      onAccepted: (type, n) => metrics.push.accepted.inc({ connector_type: type }, n),
    });
  });
  single(c, TOKENS.KeyRotationService, (dc) => {
    const repositories = resolve(dc, TOKENS.Repositories);
    return new KeyRotationService(repositories.connections, r.keyring, resolve(dc, TOKENS.ConfigCipher), repositories.webhookSecrets);
  });
  single(c, TOKENS.WebhookSignal, () => new PushSignal());
  single(c, TOKENS.ConnectionTestRecorder, (dc) => new ConnectionTestRecorder(resolve(dc, TOKENS.Repositories), webhookEventsQueued(dc)));
  single(
    c,
    TOKENS.WebhookService,
    (dc) =>
      new WebhookService(resolve(dc, TOKENS.Repositories).webhooks, resolve(dc, TOKENS.ConfigCipher), r.clock, resolve(dc, TOKENS.WebhookSignal), {
        allowHttpToLoopback: config.webhooks.allowHttp === 'loopback',
        policy: addressPolicyOf(config),
      }),
  );
  single(c, TOKENS.KeyHealth, (dc) => new KeyHealth(encryptedRowsOf(resolve(dc, TOKENS.Repositories)), r.keyring, resolve(dc, TOKENS.ConfigCipher)));
  single(
    c,
    TOKENS.ConnectionImportService,
    (dc) => new ConnectionImportService(resolve(dc, TOKENS.Repositories), resolve(dc, TOKENS.ConfigCipher), resolve(dc, TOKENS.ConnectorRegistry)),
  );
  return c;
}

function hostOf(
  c: DependencyContainer,
  h: { config: HostConfig; logger: Logger; lifecycle: Lifecycle; registry: ConnectorRegistry; pluginReport: PluginLoadReport; db: Knex; keyring: Keyring },
): Host {
  const services: Services = {
    get organizations() {
      return resolve(c, TOKENS.OrganizationService);
    },
    get apiKeys() {
      return resolve(c, TOKENS.ApiKeyService);
    },
    get connections() {
      return resolve(c, TOKENS.ConnectionService);
    },
    get connectionImport() {
      return resolve(c, TOKENS.ConnectionImportService);
    },
    get pushes() {
      return resolve(c, TOKENS.PushService);
    },
    get keyRotation() {
      return resolve(c, TOKENS.KeyRotationService);
    },
    get webhooks() {
      return resolve(c, TOKENS.WebhookService);
    },
    get keyHealth() {
      return resolve(c, TOKENS.KeyHealth);
    },
    workers: () => listWorkers(resolve(c, TOKENS.Repositories).workers),
    keyStatus: () => readKeyStatus(encryptedRowsOf(resolve(c, TOKENS.Repositories)), h.keyring, resolve(c, TOKENS.ConfigCipher)),
  };
  const repositories = resolve(c, TOKENS.Repositories);
  const readiness = new Readiness();
  readiness.add({ name: 'database', check: () => repositories.ping() });
  readiness.add(pluginsCheck(h.registry, h.pluginReport));
  const sandboxCheck: ReadinessCheck = {
    name: 'sandboxes',
    async check() {
      const health = resolve(c, TOKENS.SandboxSupervisor).health();
      // Shown, never failing: one plugin that keeps crashing must not take the host (and every
      // other plugin) out of a load balancer.
      return { ok: true, details: Object.fromEntries(health.map((p) => [p.connectorType, { healthy: p.healthy, processes: p.processes, crashes: p.crashes, restartInMs: p.restartInMs }])) };
    },
  };
  readiness.add(sandboxCheck);
  return {
    config: h.config,
    logger: h.logger,
    clock: resolve(c, TOKENS.Clock),
    registry: h.registry,
    pluginReport: h.pluginReport,
    get metrics() {
      return resolve(c, TOKENS.Metrics);
    },
    keyring: h.keyring,
    databaseKind: databaseKind(h.db),
    services,
    lifecycle: h.lifecycle,
    readiness,
    pingDatabase: () => repositories.ping(),
    sandboxCheck,
    async enforceKeys() {
      const cipher = resolve(c, TOKENS.ConfigCipher);
      const result = await checkKeysAtStartup(encryptedRowsOf(repositories), h.keyring, cipher, h.config.allowMissingKeys);
      if (result.overridden) {
        h.logger.warn(
          { code: 'ERPC_ERR_KEY_NOT_LOADED', activeKeyId: h.keyring.activeKeyId, missing: result.status.missing },
          `starting despite missing encryption keys (override): ${describeMissingKeys(result.status.missing)}; those connections answer "Configuration error"`,
        );
      }
      const health = services.keyHealth;
      const check: ReadinessCheck = {
        name: 'keys',
        async check() {
          const { degraded, keys } = await health.check();
          return { ok: !degraded, details: { ...keys }, ...(degraded ? { reason: 'connection rows are under encryption keys that are not loaded' } : {}) };
        },
      };
      readiness.add(check);
      return check;
    },
    createPushRuntime: (overrides = {}, webhookOverrides = {}) => createPushRuntime(c, h.config, h.logger, overrides, webhookOverrides),
    close: () => h.lifecycle.stop(),
  };
}

/**
 * Plugins are ready when at least one connector type is loaded: a bad plugin never stops the
 * host (ARCHITECTURE), so failures are listed in the details but fail readiness only when
 * nothing loaded at all.
 */
function pluginsCheck(registry: ConnectorRegistry, report: PluginLoadReport): ReadinessCheck {
  return {
    name: 'plugins',
    async check() {
      const loaded = registry.types();
      const failed = report.failed.map((f) => ({ plugin: f.name ?? basename(f.dir), code: f.error.code }));
      return {
        ok: loaded.length > 0,
        details: { loaded, ...(failed.length > 0 ? { failed } : {}) },
        ...(loaded.length === 0 ? { reason: 'no connector plugin is loaded' } : {}),
      };
    },
  };
}

/** The key status's view of storage: connection configs and webhook signing secrets. */
function encryptedRowsOf(repositories: Repositories) {
  return encryptedRows(repositories.connections, repositories.webhookSecrets);
}

/** The SSRF policy of webhook deliveries (ADR 0036). */
function addressPolicyOf(config: HostConfig): AddressPolicy {
  return new AddressPolicy({ allowLoopback: config.webhooks.allowHttp === 'loopback', allowedNetworks: config.webhooks.allowedNetworks });
}

/** After a commit that queued webhook deliveries: count them, wake this process's dispatchers. */
function webhookEventsQueued(c: DependencyContainer): (type: string, deliveries: number, unclaimed?: number) => void {
  const metrics = resolve(c, TOKENS.Metrics);
  const signal = resolve(c, TOKENS.WebhookSignal);
  return (type, deliveries, unclaimed = deliveries) => {
    metrics.webhooks.created.inc({ type }, deliveries);
    if (unclaimed > 0) signal.wake();
  };
}

function createPushRuntime(
  c: DependencyContainer,
  config: HostConfig,
  hostLogger: Logger,
  overrides: PushWorkerOptions,
  webhookOverrides: WebhookDispatcherOptions,
): PushRuntime {
  const logger = hostLogger.child({ component: 'push-worker' });
  const metrics = resolve(c, TOKENS.Metrics);
  const repositories = resolve(c, TOKENS.Repositories);
  const w = config.worker;
  const wh = config.webhooks;
  const http = new WebhookHttpClient(addressPolicyOf(config), { maxSockets: wh.concurrency });
  const dispatcher = new WebhookDispatcher(
    {
      store: repositories.webhooks,
      cipher: resolve(c, TOKENS.ConfigCipher),
      clock: resolve(c, TOKENS.Clock),
      logger: hostLogger.child({ component: 'webhooks' }),
      http,
      schedule: new WebhookRetrySchedule(wh.retryScheduleMs),
      hooks: {
        delivered: (type, attemptSeconds, sinceEventSeconds) => {
          metrics.webhooks.delivered.inc({ type });
          metrics.webhooks.attemptSeconds.observe({ type }, attemptSeconds);
          metrics.webhooks.eventToDeliveredSeconds.observe({ type }, sinceEventSeconds);
        },
        failed: (type, final) => metrics.webhooks.failed.inc({ type, final: String(final) }),
        endpointDisabled: () => metrics.webhooks.disabledEndpoints.inc(),
      },
      // Push deliveries first (ADR 0050): the worker below is created next and started after both.
      pushBacklog: () => worker.backlogged,
    },
    {
      concurrency: wh.concurrency,
      yieldMs: wh.yieldMs,
      timeoutMs: wh.timeoutMs,
      disableAfterMs: wh.disableAfterMs,
      pollIntervalMs: w.pollIntervalMs,
      ...webhookOverrides,
    },
  );
  // The worker's outcome writer hands the new deliveries of its events to this process's dispatcher (ADR 0042).
  const events: PushEvents = { storage: repositories, onQueued: webhookEventsQueued(c), handoff: dispatcher };
  const worker = new PushWorker(
    {
      storage: resolve(c, TOKENS.Repositories),
      registry: resolve(c, TOKENS.ConnectorRegistry),
      cipher: resolve(c, TOKENS.ConfigCipher),
      clock: resolve(c, TOKENS.Clock),
      logger,
      sandboxes: resolve(c, TOKENS.SandboxSupervisor),
      grants: resolve(c, TOKENS.GrantPolicy),
      hooks: {
        delivered: (type, pushSeconds, endToEndSeconds) => {
          metrics.push.delivered.inc({ connector_type: type });
          metrics.push.deliverySeconds.observe({ connector_type: type }, pushSeconds);
          metrics.push.endToEndSeconds.observe({ connector_type: type }, endToEndSeconds);
        },
        retried: (type, code) => metrics.push.retried.inc({ connector_type: type, code: metrics.codeLabel(type, code) }),
        dead: (type, code) => metrics.push.dead.inc({ connector_type: type, code: metrics.codeLabel(type, code) }),
      },
      events,
    },
    {
      concurrency: w.concurrency,
      ...(w.prefetch !== undefined ? { prefetch: w.prefetch } : {}),
      pushTimeoutMs: w.pushTimeoutMs,
      ...(w.leaseMs !== undefined ? { leaseMs: w.leaseMs } : {}),
      pollIntervalMs: w.pollIntervalMs,
      ackCheckIntervalMs: w.ackCheckIntervalMs,
      ackTimeoutMs: w.ackTimeoutMs,
      shutdownGraceMs: w.shutdownGraceMs,
      retryPolicy: new RetryPolicy(w.retry),
      ...overrides,
    },
  );
  const signal = resolve(c, TOKENS.PushSignal);
  const webhookSignal = resolve(c, TOKENS.WebhookSignal);
  // On PostgreSQL, other processes' pushes and events wake them through LISTEN; the in-process signals always.
  const listener =
    config.databaseUrl === undefined
      ? undefined
      : new PushListener({ connectionString: config.databaseUrl, onWake: () => worker.wake(), onWebhook: () => dispatcher.wake(), logger });
  const heartbeat = new WorkerHeartbeat(resolve(c, TOKENS.Repositories).workers, worker, w.heartbeatMs, logger);
  let unsubscribe: (() => void) | undefined;
  let unsubscribeWebhooks: (() => void) | undefined;
  return {
    worker,
    webhooks: dispatcher,
    async start() {
      unsubscribe = signal.subscribe(() => worker.wake());
      unsubscribeWebhooks = webhookSignal.subscribe(() => dispatcher.wake());
      await listener?.start();
      worker.start();
      dispatcher.start();
      await heartbeat.start();
      logger.info({ workerId: worker.workerId, listen: listener !== undefined }, 'push worker started');
    },
    async stop(options = {}) {
      unsubscribe?.();
      await listener?.stop();
      await worker.stop(options.graceMs);
      // After the push worker: its last outcomes may have queued events; those in flight finish (each bounded by the timeout).
      unsubscribeWebhooks?.();
      await dispatcher.stop(options.graceMs ?? w.shutdownGraceMs);
      http.close();
      await heartbeat.stop();
      logger.info({ workerId: worker.workerId }, 'push worker stopped');
    },
  };
}
