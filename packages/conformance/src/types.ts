import type { ERPConnectorPort, PushDocument } from '@erpc/sdk';

/** The outcome of one check. */
export type CheckStatus = 'pass' | 'fail' | 'skipped';

/** The result of one conformance check, identified by a stable id listed in docs/conformance.md. */
export interface CheckResult {
  /** Stable id, e.g. `push.idempotent`. The part before the first dot is the check group. */
  id: string;
  /** `pass`, `fail`, or `skipped` (the check could not run; `message` says why). */
  status: CheckStatus;
  /** Why the check failed or was skipped; for a pass, optional detail. */
  message?: string;
}

/** The report of a whole conformance run. */
export interface ConformanceReport {
  /** The plugin: its package name and version (`name@version`), or its folder when unreadable. */
  plugin: string;
  /** True when no check failed (skipped checks do not fail a run). */
  passed: boolean;
  /** Every check, in the documented order. */
  checks: CheckResult[];
}

/** A config, or a factory that returns a fresh one (e.g. a new temp folder) each time it is called. */
export type ConfigSource = Record<string, unknown> | (() => Record<string, unknown> | Promise<Record<string, unknown>>);

/** Time limits of a run, in milliseconds. */
export interface ConformanceTimeouts {
  /** Importing the plugin's entry module. Default 10 000. */
  importMs?: number;
  /** One connector operation (`testConnection`, `push`, `checkDelivery`). Default 10 000. */
  operationMs?: number;
  /** How soon an operation must settle once handed an already-aborted signal. Default 1 000. */
  abortMs?: number;
}

/** What {@link runConformance} needs to know about the plugin under test. */
export interface ConformanceOptions {
  /** The plugin folder: the one holding the `package.json` with the `erpc` manifest. */
  pluginDir: string;
  /**
   * A config that must work: `testConnection` gives `ok: true` and pushes succeed. A factory is
   * called once per check, so each check can get fresh state (a new temp folder, say).
   */
  validConfig: ConfigSource;
  /** Configs the config schema must reject. Without any, `config-schema.invalid-configs` is skipped. */
  invalidConfigs?: Record<string, unknown>[];
  /**
   * A config that passes the schema but points at an ERP that cannot be reached (a closed port, a
   * missing folder). Without it, the checks about failures are skipped.
   */
  unreachableConfig?: ConfigSource;
  /**
   * Documents to push. Defaults to {@link defaultSampleDocuments} for the manifest's
   * `documentTypes`. `pushId`, `idempotencyKey` and `createdAt` are filled in when missing.
   */
  sampleDocuments?: SampleDocument[];
  /** Time limits. */
  timeouts?: ConformanceTimeouts;
  /**
   * Where the ports under test come from. Default: `create()` of the imported definition, in this
   * process. The host's `erpc conformance` passes ports that run in its plugin sandbox (a separate
   * process under Node's permission model, with only the capabilities the manifest declares), so
   * a plugin that reads or writes beyond them fails here, as it would in production.
   */
  ports?: () => Promise<ERPConnectorPort<Record<string, unknown>>>;
}

/** A sample document: a {@link PushDocument} whose ids may be left for the kit to fill in. */
export type SampleDocument = Pick<PushDocument, 'documentType' | 'documentId' | 'payload'> &
  Partial<Pick<PushDocument, 'pushId' | 'idempotencyKey' | 'createdAt'>>;
