/**
 * A structured logger handed to connectors. Accepts either a message or an object
 * (with an optional message). The host's implementation replaces every secret value of the
 * current connection's config wherever it appears in a line, but connectors should still
 * never log their config.
 */
export interface ConnectorLogger {
  /** Debug-level line. */
  debug(objOrMsg: object | string, msg?: string): void;
  /** Info-level line. */
  info(objOrMsg: object | string, msg?: string): void;
  /** Warning-level line. */
  warn(objOrMsg: object | string, msg?: string): void;
  /** Error-level line. */
  error(objOrMsg: object | string, msg?: string): void;
}

/** A source of the current time; injected so hosts and tests can control it. */
export interface Clock {
  /** The current time. */
  now(): Date;
}

/** Identifies the connection an operation runs for. */
export interface ConnectionRef {
  /** The connection's id (UUID). */
  readonly id: string;
  /** The organisation owning the connection. */
  readonly orgId: string;
  /** The connector type of the connection, e.g. `DROPZONE_JSON_V1`. */
  readonly connectorType: string;
}

/**
 * The context of one operation (`testConnection`, `push`, `checkDelivery`).
 *
 * @typeParam C - the shape of the connector's config (validated against its config schema).
 */
export interface OperationContext<C = Record<string, unknown>> {
  /** The decrypted connection config, deep-frozen: never mutate it. */
  readonly config: Readonly<C>;
  /** Aborted when the host's timeout for this operation expires; honour it. */
  readonly signal: AbortSignal;
  /** A logger that scrubs the config's secret values. */
  readonly logger: ConnectorLogger;
  /** The connection the operation runs for. */
  readonly connection: ConnectionRef;
}

/** A business document handed to a connector's `push`. */
export interface PushDocument {
  /** The host's id of this push (UUID); stable across retries. */
  readonly pushId: string;
  /** The kind of document, e.g. `invoice`, `credit_note`, `journal_entry`. */
  readonly documentType: string;
  /** The document's id in the source application (arbitrary text: never use it as a path). */
  readonly documentId: string;
  /** The same key for every retry of the same logical push; use it to stay idempotent. */
  readonly idempotencyKey: string;
  /**
   * The document itself, as JSON, with exact numbers (ADR 0027): a number a JavaScript number
   * carries exactly (`String(n)` is the text that was sent) is a plain `number`; any other number
   * (`118.00`, `-0`, a 30-digit integer, `1e400`) is a raw JSON value (`JSON.rawJSON`) holding its
   * exact text. `JSON.stringify(payload)` writes every number with the digits it was sent with;
   * read one with {@link numberText} (exact text) or {@link numberValue} (nearest double).
   */
  readonly payload: unknown;
  /** When the push was accepted, ISO-8601 UTC. */
  readonly createdAt: string;
  /**
   * Which delivery attempt this is, from 1. Set by hosts since SDK 1.0 (absent from older hosts:
   * treat as 1). Above 1, an earlier attempt may have died half-way (a killed worker), so a
   * connector can clean up what such an attempt may have left behind.
   */
  readonly attempt?: number;
}

/** What a successful push returns. */
export interface PushReceipt {
  /** The reference of the document on the ERP side (a file name, an ERP id…). */
  externalRef: string;
  /** Extra information for the host's delivery record. Must not contain secrets. */
  details?: Record<string, unknown>;
  /**
   * `false` when this document will never be acknowledged (e.g. acknowledgements are off in the
   * connection's config): the host then never calls `checkDelivery` for it. Default: the host
   * checks every delivered push of a port that has `checkDelivery`.
   */
  expectAcknowledgement?: boolean;
}

/** The outcome of `testConnection`: a failed test is `ok: false`, not a throw. */
export interface ConnectionTestResult {
  /** Whether the ERP was reached and accepts writes. */
  ok: boolean;
  /** How long the test took, in milliseconds. */
  latencyMs: number;
  /** A message a person can act on (required in practice when `ok` is false). Never a secret. */
  message?: string;
}

/** The states a delivery check may report. */
export type DeliveryState = 'pending' | 'acknowledged' | 'rejected';

/** The states a delivery check may report, as data. */
export const DELIVERY_STATES: readonly DeliveryState[] = Object.freeze(['pending', 'acknowledged', 'rejected']);

/** The outcome of `checkDelivery`. */
export interface DeliveryStatus {
  /** `pending`: nothing yet; `acknowledged`: the ERP imported it; `rejected`: the ERP refused it. */
  state: DeliveryState;
  /** For `rejected`: the ERP's reason, as a person can read it. */
  message?: string;
  /** Extra information, e.g. the ERP's document number. Must not contain secrets. */
  details?: Record<string, unknown>;
}

/**
 * The port every connector implements. Field names are fixed by the wire contract: plugins
 * written without the SDK depend on them.
 *
 * @typeParam C - the shape of the connector's config.
 */
export interface ERPConnectorPort<C = Record<string, unknown>> {
  /** Checks that the ERP can be reached with `ctx.config`. Resolves `ok: false` on failure. */
  testConnection(ctx: OperationContext<C>): Promise<ConnectionTestResult>;
  /**
   * Delivers one document. Must be idempotent on `document.idempotencyKey`. Throws a
   * {@link ConnectorError} on failure, with `retryable` telling the host whether to try again.
   */
  push(document: PushDocument, ctx: OperationContext<C>): Promise<PushReceipt>;
  /**
   * Optional: reports whether the ERP has acknowledged or rejected a document that `push`
   * delivered. The host calls it periodically for delivered pushes.
   */
  checkDelivery?(receipt: PushReceipt, ctx: OperationContext<C>): Promise<DeliveryStatus>;
  /** Optional: releases resources when the host shuts down. */
  dispose?(): void | Promise<void>;
}

/** Host services a connector receives once, at load, in `create(deps)`. */
export interface HostServices {
  /** A logger for events outside an operation (no config is in scope there). */
  readonly logger: ConnectorLogger;
  /** The host's clock. */
  readonly clock: Clock;
  /**
   * Durability for connectors that write files, when the host provides it. In a sandbox, Node's
   * permission model disables `fsync` (and every other call on a raw file descriptor that could
   * reach past the granted paths), so a file connector asks the host instead: the host flushes
   * the file or folder at that path, after checking it lies below the roots granted to the
   * connection. Absent on hosts older than erpc 0.2: fall back to your own `fsync`.
   */
  readonly files?: HostFiles;
}

/** What {@link HostServices.files} offers. */
export interface HostFiles {
  /**
   * Flushes the regular file or the folder at `path` (absolute) to stable storage, like `fsync`
   * on a descriptor of it: a file's data and metadata, or a folder's entries (creates, links,
   * renames, deletes). Rejects with an Error carrying an errno `code` (ENOENT, EIO, EACCES when
   * the path is outside what was granted…).
   */
  sync(path: string): Promise<void>;
}

/** The tag that identifies a connector definition. */
export const CONNECTOR_DEFINITION_TAG = 'erpc.connector' as const;

/** The connector definition API version this SDK produces and hosts accept. */
export const CONNECTOR_API_VERSION = 1 as const;

/**
 * A connector definition: the default export of a plugin's entry module. Recognised by its
 * `$$type` tag and `apiVersion`, never by `instanceof`.
 */
export interface ConnectorDefinition<C = Record<string, unknown>> {
  /** Always `"erpc.connector"`. */
  readonly $$type: typeof CONNECTOR_DEFINITION_TAG;
  /** Always `1` in this SDK version. */
  readonly apiVersion: typeof CONNECTOR_API_VERSION;
  /** Must equal the manifest's `connectorType`. */
  readonly connectorType: string;
  /** Builds the connector, once, at load. Must not do I/O. */
  create(deps: HostServices): ERPConnectorPort<C>;
}

/** The `erpc` field of a plugin's `package.json`. */
export interface PluginManifest {
  /** Always 1. */
  manifestVersion: 1;
  /** The connector type, `^[A-Z][A-Z0-9_]*$`. */
  connectorType: string;
  /** Human-readable name. */
  displayName?: string;
  /** Longer description. */
  description?: string;
  /** Relative path of the entry module. */
  entry: string;
  /** Relative path of the config JSON Schema. */
  configSchema: string;
  /** Semver range of SDK versions the plugin supports. */
  sdk: string;
  /** Document types the connector accepts. */
  documentTypes?: string[];
  /** ConnectorError codes the connector may fail with: the `code` label of the host's metrics (others are `other`). */
  errorCodes?: string[];
  /** What the plugin needs (network, paths it writes under); declared for the operator to grant (ERPC_PLUGIN_GRANTS). */
  capabilities?: PluginCapabilities;
}

/**
 * The manifest's `capabilities`: what a plugin needs beyond computing. Declared by the plugin,
 * granted by the operator (ERPC_PLUGIN_GRANTS); the host's sandbox gives a plugin only what it
 * declared and was granted (docs/security.md).
 */
export interface PluginCapabilities {
  /** The plugin opens network connections (to the ERP). */
  network?: boolean;
  /** JSON Pointers of config fields holding a path the plugin writes under, e.g. `"/rootPath"`. */
  fsWrite?: string[];
}
