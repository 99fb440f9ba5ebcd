import { DEFAULT_MAX_JSON_DEPTH, MAX_JSON_DEPTH_LIMIT } from '../input/json-input.js';
import { DEFAULT_RETRY_POLICY } from '../push/retry-policy.js';
import { DEFAULT_WEBHOOK_RETRY_SCHEDULE_MS } from '../webhooks/retry-schedule.js';
import type { HostConfig, SettingSpec } from './types.js';

/** pino's levels, plus `silent`. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Accepted spellings of a boolean setting (compared in lower case). */
export const TRUE_WORDS = ['1', 'true', 'yes'] as const;
export const FALSE_WORDS = ['0', 'false', 'no'] as const;

/**
 * One setting as the loader, the docs and `erpc config check` need it: the public
 * {@link SettingSpec} plus the JSON Schema of its value, why a value fails it, and how to read
 * its effective value back from a {@link HostConfig}.
 */
export interface SettingDefinition extends SettingSpec {
  /** JSON Schema of the value (after the loader's trimming), validated with Ajv (ADR 0056). */
  readonly schema: Readonly<Record<string, unknown>>;
  /** The `reason` of ERPC_ERR_SETTING_INVALID when the value fails `schema`. Never holds a value. */
  readonly reason: string;
  /** How the docs state the default when `default` alone would not say it. */
  readonly defaultText?: string;
  /** The command-line option that overrides the variable, if any. */
  readonly option?: string;
  /** The effective value in a loaded config (secrets included: callers decide what to show). */
  readonly read: (config: HostConfig) => string | number | boolean | readonly string[] | undefined;
}

const MAX_INT = Number.MAX_SAFE_INTEGER;

/** libuv's largest thread pool. */
export const MAX_THREADPOOL_SIZE = 1024;
/** libuv's thread pool when UV_THREADPOOL_SIZE is unset. */
export const DEFAULT_THREADPOOL_SIZE = 4;

type Base = Omit<SettingDefinition, 'type' | 'schema' | 'default' | 'reason'>;

const positiveInt = (base: Base & { default?: number }, reason = 'expected a positive integer'): SettingDefinition =>
  integer(base, 1, MAX_INT, reason);

function integer(base: Base & { default?: number }, minimum: number, maximum: number, reason: string): SettingDefinition {
  return {
    ...base,
    type: 'integer',
    default: base.default,
    reason,
    schema: { type: 'integer', minimum, maximum, ...(base.default === undefined ? {} : { default: base.default }) },
  };
}

function number(base: Base & { default: number }, minimum: number, maximum: number | undefined, reason: string): SettingDefinition {
  return {
    ...base,
    type: 'number',
    reason,
    schema: { type: 'number', minimum, ...(maximum === undefined ? {} : { maximum }), default: base.default },
  };
}

function text(base: Base & { default?: string }, type: 'string' | 'path', extra: Record<string, unknown> = {}, reason = 'expected text'): SettingDefinition {
  return {
    ...base,
    type,
    default: base.default,
    reason,
    schema: { type: 'string', ...extra, ...(base.default === undefined ? {} : { default: base.default }) },
  };
}

const DATABASE = 'Database and encryption keys';
const SERVER = 'HTTP server';
const SHUTDOWN = 'Shutdown';
const LOGGING = 'Logging';
const PLUGINS = 'Plugins and connections';
const WORKER = 'Push worker';
const RETRY = 'Push retry policy';
const SANDBOX = 'Plugin sandbox';
const WEBHOOKS = 'Webhooks';

/** Every setting, in documentation order (the order errors are found in, too). */
export const SETTING_DEFINITIONS: readonly SettingDefinition[] = [
  text(
    {
      name: 'DATABASE_URL',
      secret: true,
      group: DATABASE,
      defaultText: 'unset: the embedded PostgreSQL (PGlite) in `ERPC_DATA_DIR`',
      description: 'PostgreSQL connection string (`postgres://user:password@host:5432/db`); it may hold a password.',
      read: (c) => c.databaseUrl,
    },
    'string',
  ),
  text(
    {
      name: 'ERPC_DATA_DIR',
      secret: false,
      group: DATABASE,
      default: './.erpc/data',
      description: 'Folder of the embedded database, its admin socket and its local encryption key (without `DATABASE_URL`).',
      read: (c) => c.dataDir,
    },
    'path',
  ),
  text(
    {
      name: 'ENCRYPTION_MASTER_KEY',
      secret: true,
      group: DATABASE,
      defaultText: 'unset: required with `DATABASE_URL`; the embedded default generates a local key in `ERPC_DATA_DIR`',
      description: 'The key that encrypts connection configs: 64 hex characters (`pnpm erpc keys generate`).',
      read: (c) => c.encryptionMasterKey,
    },
    'string',
  ),
  text(
    {
      name: 'ENCRYPTION_PREVIOUS_KEYS',
      secret: true,
      group: DATABASE,
      defaultText: 'unset: none',
      description: 'Comma-separated older keys that still decrypt but never encrypt (during a key rotation).',
      read: (c) => c.encryptionPreviousKeys,
    },
    'string',
  ),
  {
    name: 'ERPC_ALLOW_MISSING_KEYS',
    type: 'boolean',
    secret: false,
    group: DATABASE,
    default: false,
    option: '--allow-missing-keys',
    description: 'Start `serve`/`worker` even when stored configs are under keys that are not loaded (`1`, `true`, `yes`; or `0`, `false`, `no`).',
    reason: `expected one of ${[...TRUE_WORDS, ...FALSE_WORDS].join(', ')}`,
    schema: { type: 'boolean', default: false },
    read: (c) => c.allowMissingKeys,
  },
  integer(
    {
      name: 'PORT',
      secret: false,
      group: SERVER,
      default: 3000,
      option: '--port',
      description: 'TCP port `erpc serve` listens on (0: any free port).',
      read: (c) => c.port,
    },
    0,
    65535,
    'expected an integer from 0 to 65535',
  ),
  text(
    {
      name: 'HOST',
      secret: false,
      group: SERVER,
      default: '127.0.0.1',
      option: '--host',
      description: 'Address `erpc serve` listens on (`0.0.0.0` for every interface).',
      read: (c) => c.host,
    },
    'string',
  ),
  positiveInt({
    name: 'ERPC_SHUTDOWN_DRAIN_MS',
    secret: false,
    group: SHUTDOWN,
    default: 2_000,
    description: 'After SIGTERM/SIGINT, how long readiness answers 503 while new requests are still served, so a load balancer can stop sending (ms).',
    read: (c) => c.shutdown.drainMs,
  }),
  positiveInt({
    name: 'ERPC_SHUTDOWN_TIMEOUT_MS',
    secret: false,
    group: SHUTDOWN,
    default: 25_000,
    description: 'After SIGTERM/SIGINT, the process exits within this, whatever clients or connectors do; must be longer than `ERPC_SHUTDOWN_DRAIN_MS` (ms).',
    read: (c) => c.shutdown.timeoutMs,
  }),
  text(
    {
      name: 'ERPC_METRICS_TOKEN',
      secret: true,
      group: SERVER,
      defaultText: 'unset: `GET /metrics` is open',
      description: 'Bearer token that `GET /metrics` then requires: at least 16 characters, no spaces.',
      read: (c) => c.metricsToken,
    },
    'string',
    { minLength: 16, pattern: '^\\S+$' },
    'expected at least 16 characters without spaces (e.g. `openssl rand -hex 24`)',
  ),
  {
    name: 'ERPC_LOG_LEVEL',
    type: 'enum',
    secret: false,
    group: LOGGING,
    default: undefined,
    defaultText: 'unset: `info` for `serve` and `worker`, `warn` for the other commands',
    description: 'Minimum level of the log lines on stderr.',
    reason: `expected one of ${LOG_LEVELS.join(', ')}`,
    schema: { type: 'string', enum: [...LOG_LEVELS] },
    read: (c) => c.logLevel,
  },
  {
    name: 'ERPC_PLUGIN_DIRS',
    type: 'path-list',
    secret: false,
    group: PLUGINS,
    default: './plugins',
    option: '--plugins-dir',
    description: 'Folders searched for connector plugins, separated by `:`, in priority order (`--plugins-dir`, repeatable, replaces them).',
    reason: 'expected folders separated by `:`',
    schema: { type: ['string', 'array'], items: { type: 'string' }, default: './plugins' },
    read: (c) => c.pluginDirs,
  },
  positiveInt(
    {
      name: 'ERPC_PLUGIN_IMPORT_TIMEOUT_MS',
      secret: false,
      group: PLUGINS,
      default: 10_000,
      description: 'How long one plugin entry import may take before it is reported as timed out (ms).',
      read: (c) => c.pluginImportTimeoutMs,
    },
    'expected a positive integer (milliseconds)',
  ),
  text(
    {
      name: 'ERPC_SCHEMA_CACHE_DIR',
      secret: false,
      group: PLUGINS,
      default: './.erpc/cache/config-schemas',
      description: 'Cache of compiled plugin config schemas; `off` disables it.',
      read: (c) => c.schemaCacheDir ?? 'off',
    },
    'path',
  ),
  {
    name: 'ERPC_PLUGIN_ISOLATION',
    type: 'enum',
    secret: false,
    group: SANDBOX,
    default: 'process',
    description: '`process`: plugin code runs only in supervised sandbox processes (docs/security.md); `in-process`: every plugin runs inside the host.',
    reason: 'expected process or in-process',
    schema: { type: 'string', enum: ['process', 'in-process'], default: 'process' },
    read: (c) => c.sandbox.isolation,
  },
  text(
    {
      name: 'ERPC_PLUGIN_TRUSTED',
      secret: false,
      group: SANDBOX,
      defaultText: 'none',
      description: 'Connector types (comma-separated) that run in the host process although isolation is `process`.',
      read: (c) => c.sandbox.trusted,
    },
    'string',
    { pattern: '^\\s*[A-Z][A-Z0-9_]*\\s*(,\\s*[A-Z][A-Z0-9_]*\\s*)*,?\\s*$' },
    'expected connector types separated by commas (e.g. MOCK,ACME_V1)',
  ),
  text(
    {
      name: 'ERPC_PLUGIN_GRANTS',
      secret: false,
      group: SANDBOX,
      defaultText: 'none on PostgreSQL; on the embedded database, file connectors may write below `<ERPC_DATA_DIR>/drops/{orgId}`',
      description:
        'Capabilities granted per connector type, as JSON: `{"DROPZONE_JSON_V1":{"fsWrite":["/srv/erp-drops/{orgId}"]},"ACME_V1":{"network":true}}` (`{orgId}`: the connection\'s organisation).',
      read: (c) => (c.sandbox.grantsText === undefined ? undefined : c.sandbox.grantsText),
    },
    'string',
  ),
  {
    name: 'ERPC_SANDBOX_SCOPE',
    type: 'enum',
    secret: false,
    group: SANDBOX,
    default: 'plugin',
    description: '`plugin`: one sandbox process per plugin, shared by the organisations that use it; `connection`: one per connection (no two tenants share one).',
    reason: 'expected plugin or connection',
    schema: { type: 'string', enum: ['plugin', 'connection'], default: 'plugin' },
    read: (c) => c.sandbox.scope,
  },
  positiveInt({
    name: 'ERPC_SANDBOX_MAX_PROCESSES',
    secret: false,
    group: SANDBOX,
    default: 32,
    description: 'Most sandbox processes alive at once; the least recently used stops first.',
    read: (c) => c.sandbox.maxProcesses,
  }),
  positiveInt(
    {
      name: 'ERPC_SANDBOX_IDLE_MS',
      secret: false,
      group: SANDBOX,
      default: 300_000,
      description: 'A sandbox process with no call for this long stops (ms).',
      read: (c) => c.sandbox.idleMs,
    },
    'expected a positive integer (milliseconds)',
  ),
  {
    name: 'ERPC_SANDBOX_JIT',
    type: 'enum',
    secret: false,
    group: SANDBOX,
    default: 'full',
    description: 'The V8 of the sandboxes that serve calls (the short-lived start-up check sandboxes run V8\'s defaults, which boot faster). `full`: every V8 tier, with a 1 MiB young generation, V8\'s optimize-for-size and no V8 background threads (about 75 MB per sandbox under load, against about 107 MB with V8\'s defaults); `lite`: V8 lite mode, no optimising compilers (about 70 MB, fewer JIT compilers for hostile code to aim at, CPU-bound JavaScript slower: about 20 % fewer DROPZONE pushes a second).',
    reason: 'expected full or lite',
    schema: { type: 'string', enum: ['full', 'lite'], default: 'full' },
    read: (c) => c.sandbox.jit,
  },
  integer(
    {
      name: 'ERPC_SANDBOX_THREADPOOL_SIZE',
      secret: false,
      group: SANDBOX,
      defaultText: "the host's `UV_THREADPOOL_SIZE`, or libuv's 4 when that is unset",
      description:
        "Size of each sandbox process's libuv thread pool, which runs its plugin's file-system calls (a sandbox's environment is otherwise empty, so it does not inherit the host's `UV_THREADPOOL_SIZE`). The fsyncs of `HostServices.files.sync` run in the host's pool.",
      read: (c) => c.sandbox.threadPoolSize,
    },
    1,
    MAX_THREADPOOL_SIZE,
    `expected an integer from 1 to ${MAX_THREADPOOL_SIZE}`,
  ),
  positiveInt({
    name: 'ERPC_SANDBOX_MEMORY_MB',
    secret: false,
    group: SANDBOX,
    default: 256,
    description: 'V8 heap limit of each sandbox process (MiB); a sandbox that exceeds it dies and is replaced.',
    read: (c) => c.sandbox.memoryMb,
  }),
  text(
    {
      name: 'ERPC_SANDBOX_UID',
      secret: false,
      group: SANDBOX,
      defaultText: '`nobody` when the host runs as root; else the host\'s own user',
      description: 'User (name or number) sandbox processes run as when the host runs as root.',
      read: (c) => c.sandbox.uid,
    },
    'string',
    { pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]*$' },
    'expected a user name or number',
  ),
  text(
    {
      name: 'ERPC_SANDBOX_GID',
      secret: false,
      group: SANDBOX,
      defaultText: 'the primary group of `ERPC_SANDBOX_UID`',
      description: 'Group (name or number) sandbox processes run as when the host runs as root.',
      read: (c) => c.sandbox.gid,
    },
    'string',
    { pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]*$' },
    'expected a group name or number',
  ),
  positiveInt(
    {
      name: 'ERPC_SANDBOX_RESTART_MAX_MS',
      secret: false,
      group: SANDBOX,
      default: 30_000,
      description: 'Longest wait before a plugin whose sandboxes keep crashing is started again (the backoff starts at 100 ms and doubles).',
      read: (c) => c.sandbox.restartMaxMs,
    },
    'expected a positive integer (milliseconds)',
  ),
  positiveInt(
    {
      name: 'ERPC_TEST_TIMEOUT_MS',
      secret: false,
      group: PLUGINS,
      default: 10_000,
      description: 'Time limit of one connection test (ms).',
      read: (c) => c.connectionTestTimeoutMs,
    },
    'expected a positive integer (milliseconds)',
  ),
  integer(
    {
      name: 'ERPC_WORKER_CONCURRENCY',
      secret: false,
      group: WORKER,
      default: 16,
      option: '--concurrency',
      description: 'Deliveries one worker runs at once.',
      read: (c) => c.worker.concurrency,
    },
    1,
    1024,
    'expected an integer from 1 to 1024',
  ),
  integer(
    {
      name: 'ERPC_WORKER_PREFETCH',
      secret: false,
      group: WORKER,
      defaultText: 'half of `ERPC_WORKER_CONCURRENCY`',
      description: 'Pushes claimed ahead of a free slot so a finished delivery starts the next at once (0 turns it off).',
      read: (c) => c.worker.prefetch,
    },
    0,
    MAX_INT,
    'expected a whole number, 0 or more',
  ),
  integer(
    {
      name: 'ERPC_WORKER_HTTP_PORT',
      secret: false,
      group: WORKER,
      defaultText: 'unset: `erpc worker` opens no port',
      option: '--http-port',
      description: '`erpc worker` serves `/healthz`, `/livez`, `/readyz` and `/metrics` on this port (0: any free port).',
      read: (c) => c.workerHttp.port,
    },
    0,
    65535,
    'expected an integer from 0 to 65535',
  ),
  text(
    {
      name: 'ERPC_WORKER_HTTP_HOST',
      secret: false,
      group: WORKER,
      default: '127.0.0.1',
      option: '--http-host',
      description: 'Address of `erpc worker`\'s health and metrics port (loopback by default; `0.0.0.0` for a scraper on another machine).',
      read: (c) => c.workerHttp.host,
    },
    'string',
  ),
  positiveInt({
    name: 'ERPC_WORKER_HEARTBEAT_MS',
    secret: false,
    group: WORKER,
    default: 10_000,
    description: 'How often a worker writes its heartbeat to the database; `erpc workers list` calls it stale after 3 missed heartbeats (ms).',
    read: (c) => c.worker.heartbeatMs,
  }),
  positiveInt({
    name: 'ERPC_PUSH_TIMEOUT_MS',
    secret: false,
    group: WORKER,
    default: 30_000,
    description: 'Time limit of one delivery attempt (ms).',
    read: (c) => c.worker.pushTimeoutMs,
  }),
  positiveInt({
    name: 'ERPC_PUSH_LEASE_MS',
    secret: false,
    group: WORKER,
    defaultText: '`ERPC_PUSH_TIMEOUT_MS` + 30000',
    description: 'How long a worker holds a claimed push; must be longer than `ERPC_PUSH_TIMEOUT_MS` (ms).',
    read: (c) => c.worker.leaseMs,
  }),
  positiveInt({
    name: 'ERPC_PUSH_POLL_MS',
    secret: false,
    group: WORKER,
    default: 1_000,
    description: 'How often an idle worker looks for due pushes (ms).',
    read: (c) => c.worker.pollIntervalMs,
  }),
  positiveInt({
    name: 'ERPC_PUSH_ACK_CHECK_MS',
    secret: false,
    group: WORKER,
    default: 10_000,
    description: 'How often deliveries awaiting an acknowledgement are checked (ms).',
    read: (c) => c.worker.ackCheckIntervalMs,
  }),
  positiveInt({
    name: 'ERPC_PUSH_ACK_TIMEOUT_MS',
    secret: false,
    group: WORKER,
    default: 86_400_000,
    description: 'How long a delivery may wait for its acknowledgement before it fails (ms).',
    read: (c) => c.worker.ackTimeoutMs,
  }),
  positiveInt({
    name: 'ERPC_PUSH_SHUTDOWN_GRACE_MS',
    secret: false,
    group: WORKER,
    default: 10_000,
    description: 'How long a stopping worker waits for deliveries in flight (ms).',
    read: (c) => c.worker.shutdownGraceMs,
  }),
  number(
    {
      name: 'ERPC_PUSH_RETRY_BASE_MS',
      secret: false,
      group: RETRY,
      default: DEFAULT_RETRY_POLICY.baseMs,
      description: 'Delay before the second attempt of a failed delivery (ms).',
      read: (c) => c.worker.retry.baseMs,
    },
    0,
    undefined,
    'expected a number of milliseconds, 0 or more',
  ),
  number(
    {
      name: 'ERPC_PUSH_RETRY_FACTOR',
      secret: false,
      group: RETRY,
      default: DEFAULT_RETRY_POLICY.factor,
      description: 'Each further delay is the previous one times this.',
      read: (c) => c.worker.retry.factor,
    },
    1,
    undefined,
    'expected a number, 1 or more',
  ),
  number(
    {
      name: 'ERPC_PUSH_RETRY_CAP_MS',
      secret: false,
      group: RETRY,
      default: DEFAULT_RETRY_POLICY.capMs,
      description: 'No retry delay is longer than this; at least `ERPC_PUSH_RETRY_BASE_MS` (ms).',
      read: (c) => c.worker.retry.capMs,
    },
    0,
    undefined,
    'expected a number of milliseconds, 0 or more',
  ),
  positiveInt({
    name: 'ERPC_PUSH_RETRY_MAX_ATTEMPTS',
    secret: false,
    group: RETRY,
    default: DEFAULT_RETRY_POLICY.maxAttempts,
    description: 'Attempts in total, the first included; the next failure makes the push a dead letter.',
    read: (c) => c.worker.retry.maxAttempts,
  }),
  number(
    {
      name: 'ERPC_PUSH_RETRY_JITTER',
      secret: false,
      group: RETRY,
      default: DEFAULT_RETRY_POLICY.jitter,
      description: 'Fraction of each delay that is randomised (0: none, 1: full jitter).',
      read: (c) => c.worker.retry.jitter,
    },
    0,
    1,
    'expected a number from 0 to 1',
  ),
  positiveInt({
    name: 'ERPC_PUSH_RETRY_HORIZON_MS',
    secret: false,
    group: RETRY,
    default: DEFAULT_RETRY_POLICY.horizonMs,
    description:
      'How long failures an operator fixes (a connector\'s `operatorFixable` errors: folder missing, disk full, host unreachable) are retried with backoff, counted from acceptance or the last manual retry, instead of the attempt count (ms).',
    read: (c) => c.worker.retry.horizonMs,
  }),
  positiveInt({
    name: 'ERPC_WEBHOOK_TIMEOUT_MS',
    secret: false,
    group: WEBHOOKS,
    default: 10_000,
    description: 'Time limit of one webhook request, the answer included (ms); a request that takes longer is retried.',
    read: (c) => c.webhooks.timeoutMs,
  }),
  positiveInt({
    name: 'ERPC_WEBHOOK_DISABLE_AFTER',
    secret: false,
    group: WEBHOOKS,
    default: 5 * 86_400_000,
    description: 'An endpoint whose deliveries keep failing this long (no success in between) is disabled, with the reason on the endpoint (ms; default 5 days).',
    read: (c) => c.webhooks.disableAfterMs,
  }),
  text(
    {
      name: 'ERPC_WEBHOOK_RETRY_SCHEDULE_MS',
      secret: false,
      group: WEBHOOKS,
      default: DEFAULT_WEBHOOK_RETRY_SCHEDULE_MS.join(','),
      description:
        'Delays between the attempts of a failed webhook (comma-separated ms); after the last one the delivery fails for good. The default spans about 27.6 hours. A `Retry-After` answer replaces the delay of that retry (at most 24 h).',
      read: (c) => c.webhooks.retryScheduleMs.join(','),
    },
    'string',
    { pattern: '^\\s*\\d+(\\s*,\\s*\\d+)*\\s*$' },
    'expected comma-separated whole numbers of milliseconds',
  ),
  {
    name: 'ERPC_WEBHOOKS_ALLOW_HTTP',
    type: 'enum',
    secret: false,
    group: WEBHOOKS,
    default: 'off',
    description: '`off`: endpoints must use https; `loopback`: http (and https) to loopback addresses are allowed too, for a receiver on the same machine (development, tests).',
    reason: 'expected off or loopback',
    schema: { type: 'string', enum: ['off', 'loopback'], default: 'off' },
    read: (c) => c.webhooks.allowHttp,
  },
  text(
    {
      name: 'ERPC_WEBHOOKS_ALLOWED_NETWORKS',
      secret: false,
      group: WEBHOOKS,
      defaultText: 'unset: public addresses only',
      description:
        'Comma-separated CIDR ranges webhooks may be sent to although they are private or reserved (e.g. `10.20.0.0/16,fd00:1::/64` for a receiver inside your network). Everything else that is not a public unicast address is refused, at creation and at each delivery.',
      read: (c) => c.webhooks.allowedNetworks,
    },
    'string',
  ),
  positiveInt({
    name: 'ERPC_WEBHOOK_CONCURRENCY',
    secret: false,
    group: WEBHOOKS,
    default: 32,
    description: 'Webhook requests one worker process has in flight at once.',
    read: (c) => c.webhooks.concurrency,
  }),
  integer({
    name: 'ERPC_WEBHOOK_YIELD_MS',
    secret: false,
    group: WEBHOOKS,
    default: 10_000,
    description:
      'While the push worker of the same process has a backlog (its last claim came back full), new webhooks give way to push deliveries for up to this long, then go out in order with the rest: a burst of pushes shorter than this reaches the ERP at nearly the rate without webhooks, its webhooks follow (ms; 0: webhooks are sent alongside, never held; ADR 0050).',
    read: (c) => c.webhooks.yieldMs,
  }, 0, 600_000, 'expected a whole number of milliseconds from 0 to 600000'),
  integer({
    name: 'ERPC_PAYLOAD_MAX_DEPTH',
    secret: false,
    group: SERVER,
    default: DEFAULT_MAX_JSON_DEPTH,
    description: 'Deepest nesting of arrays and objects accepted in a payload or a connection config (at most 1000); deeper ones are refused with 422 ERPC_ERR_INPUT_REFUSED.',
    read: (c) => c.payloadMaxDepth,
  }, 1, MAX_JSON_DEPTH_LIMIT, 'expected an integer from 1 to 1000'),
];

/** The definition of each setting by its variable name. */
export const DEFINITION_BY_NAME: ReadonlyMap<string, SettingDefinition> = new Map(SETTING_DEFINITIONS.map((d) => [d.name, d]));

/** Every setting, in documentation order. */
export const SETTINGS: readonly SettingSpec[] = Object.freeze(
  SETTING_DEFINITIONS.map(({ name, type, default: def, secret, description, group }) =>
    Object.freeze({ name, type, default: def, secret, description, group }),
  ),
);
