/** pino's levels, plus `silent`. */
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** Environment variables, as `process.env` holds them. */
export type Env = Readonly<Record<string, string | undefined>>;

/**
 * Every setting of the host process, parsed and validated once by `loadHostConfig`, deep-frozen.
 * docs/configuration.md says what each one means; paths are absolute.
 */
export interface HostConfig {
  /** DATABASE_URL (secret: may hold a password); undefined: the embedded PostgreSQL (PGlite). */
  readonly databaseUrl: string | undefined;
  /** ERPC_DATA_DIR: folder of the embedded database. */
  readonly dataDir: string;
  /** ENCRYPTION_MASTER_KEY as written (secret); `keyringFromEnv` validates it. */
  readonly encryptionMasterKey: string | undefined;
  /** ENCRYPTION_PREVIOUS_KEYS as written, a comma-separated list (secret). */
  readonly encryptionPreviousKeys: string | undefined;
  /** ERPC_ALLOW_MISSING_KEYS / --allow-missing-keys. */
  readonly allowMissingKeys: boolean;
  /** PORT / --port. */
  readonly port: number;
  /** HOST / --host. */
  readonly host: string;
  /** ERPC_LOG_LEVEL; undefined when not set (long-running commands then use info, one-shot ones warn). */
  readonly logLevel: LogLevel | undefined;
  /** ERPC_PLUGIN_DIRS / --plugins-dir, in priority order. */
  readonly pluginDirs: readonly string[];
  /** ERPC_PLUGIN_IMPORT_TIMEOUT_MS. */
  readonly pluginImportTimeoutMs: number;
  /** ERPC_SCHEMA_CACHE_DIR; undefined when `off`. */
  readonly schemaCacheDir: string | undefined;
  /** ERPC_TEST_TIMEOUT_MS. */
  readonly connectionTestTimeoutMs: number;
  /** ERPC_METRICS_TOKEN (secret); undefined: GET /metrics is open. */
  readonly metricsToken: string | undefined;
  /** How plugin code is isolated (docs/security.md). */
  readonly sandbox: {
    /** ERPC_PLUGIN_ISOLATION. */
    readonly isolation: 'process' | 'in-process';
    /** ERPC_PLUGIN_TRUSTED: connector types that run in-process anyway. */
    readonly trusted: readonly string[];
    /** ERPC_PLUGIN_GRANTS, parsed: capabilities granted per connector type. */
    readonly grants: Readonly<Record<string, PluginGrant>>;
    /** ERPC_PLUGIN_GRANTS as written (for `erpc config check`); undefined when unset. */
    readonly grantsText: string | undefined;
    /** ERPC_SANDBOX_SCOPE. */
    readonly scope: 'plugin' | 'connection';
    /** ERPC_SANDBOX_MAX_PROCESSES. */
    readonly maxProcesses: number;
    /** ERPC_SANDBOX_IDLE_MS. */
    readonly idleMs: number;
    /** ERPC_SANDBOX_THREADPOOL_SIZE, or the host's UV_THREADPOOL_SIZE: the libuv thread pool of each sandbox. */
    readonly threadPoolSize: number;
    /** ERPC_SANDBOX_MEMORY_MB. */
    readonly memoryMb: number;
    /** V8 tiers of a sandbox: lite (no optimising compilers, less memory) or full. */
    readonly jit: 'lite' | 'full';
    /** ERPC_SANDBOX_UID / ERPC_SANDBOX_GID as written; undefined: the default. */
    readonly uid: string | undefined;
    readonly gid: string | undefined;
    /** ERPC_SANDBOX_RESTART_MAX_MS. */
    readonly restartMaxMs: number;
  };
  /** ERPC_PAYLOAD_MAX_DEPTH: nesting levels accepted in a payload or a config. */
  readonly payloadMaxDepth: number;
  readonly shutdown: {
    /** ERPC_SHUTDOWN_DRAIN_MS: readiness 503 while requests are still served. */
    readonly drainMs: number;
    /** ERPC_SHUTDOWN_TIMEOUT_MS: the process exits within this after the signal. Longer than drainMs. */
    readonly timeoutMs: number;
  };
  /** `erpc worker`'s health and metrics port. */
  readonly workerHttp: {
    /** ERPC_WORKER_HTTP_PORT / --http-port; undefined: no port. */
    readonly port: number | undefined;
    /** ERPC_WORKER_HTTP_HOST / --http-host. */
    readonly host: string;
  };
  readonly webhooks: {
    /** ERPC_WEBHOOK_TIMEOUT_MS. */
    readonly timeoutMs: number;
    /** ERPC_WEBHOOK_DISABLE_AFTER (ms). */
    readonly disableAfterMs: number;
    /** ERPC_WEBHOOK_RETRY_SCHEDULE_MS, parsed. */
    readonly retryScheduleMs: readonly number[];
    /** ERPC_WEBHOOKS_ALLOW_HTTP. */
    readonly allowHttp: 'off' | 'loopback';
    /** ERPC_WEBHOOKS_ALLOWED_NETWORKS, parsed (CIDRs). */
    readonly allowedNetworks: readonly string[];
    /** ERPC_WEBHOOK_CONCURRENCY. */
    readonly concurrency: number;
    /** ERPC_WEBHOOK_YIELD_MS (0: never held). */
    readonly yieldMs: number;
  };
  readonly worker: {
    /** ERPC_WORKER_CONCURRENCY / --concurrency. */
    readonly concurrency: number;
    /** ERPC_WORKER_PREFETCH; undefined: the worker's default (concurrency / 2). */
    readonly prefetch: number | undefined;
    /** ERPC_PUSH_TIMEOUT_MS. */
    readonly pushTimeoutMs: number;
    /** ERPC_PUSH_LEASE_MS; undefined: pushTimeoutMs + 30000. Longer than pushTimeoutMs. */
    readonly leaseMs: number | undefined;
    /** ERPC_PUSH_POLL_MS. */
    readonly pollIntervalMs: number;
    /** ERPC_PUSH_ACK_CHECK_MS. */
    readonly ackCheckIntervalMs: number;
    /** ERPC_PUSH_ACK_TIMEOUT_MS. */
    readonly ackTimeoutMs: number;
    /** ERPC_PUSH_SHUTDOWN_GRACE_MS. */
    readonly shutdownGraceMs: number;
    /** ERPC_WORKER_HEARTBEAT_MS. */
    readonly heartbeatMs: number;
    /** ERPC_PUSH_RETRY_{BASE_MS,FACTOR,CAP_MS,MAX_ATTEMPTS,JITTER,HORIZON_MS}; a valid RetryPolicy's options. */
    readonly retry: {
      readonly baseMs: number;
      readonly factor: number;
      readonly capMs: number;
      readonly maxAttempts: number;
      readonly jitter: number;
      /** ERPC_PUSH_RETRY_HORIZON_MS: how long operator-fixable failures are retried. */
      readonly horizonMs: number;
    };
  };
}

/** What the operator granted one connector type (ERPC_PLUGIN_GRANTS). */
export interface PluginGrant {
  /** Roots the plugin may write below; `{orgId}` is replaced by the connection's organisation. */
  readonly fsWrite?: readonly string[];
  /** Outbound network. */
  readonly network?: boolean;
}

/** Raw command-line values keyed by the setting's variable name; they win over the environment. */
export type SettingOverrides = Partial<Record<string, string | readonly string[] | boolean | undefined>>;

/** One setting as the docs describe it. */
export interface SettingSpec {
  /** The environment variable. */
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'path' | 'path-list' | 'enum';
  /** The default as documented (a relative path is resolved against the working directory); undefined: none. */
  default: string | number | boolean | undefined;
  /** Never printed: `erpc config check` shows `set` or `unset`. */
  secret: boolean;
  /** What it means, in one line. */
  description: string;
  /** The docs section it is listed in. */
  group: string;
}

/** Where an effective value came from. */
export type SettingSource = 'env' | 'default' | 'cli';
