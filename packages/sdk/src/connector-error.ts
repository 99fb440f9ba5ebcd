/** Options of a {@link ConnectorError}. */
export interface ConnectorErrorOptions {
  /** Whether the host should try again later (network down, disk full) or give up (bad config). */
  retryable: boolean;
  /**
   * A condition an operator fixes (folder missing or not writable, disk full, host unreachable):
   * the host retries with backoff over its long retry horizon (`ERPC_PUSH_RETRY_HORIZON_MS`,
   * default 24 h) instead of its attempt count, so the document is delivered once the condition
   * is fixed rather than buried as a dead letter. Implies `retryable: true` (set it too: hosts
   * older than SDK 1.1 ignore this field and see an ordinary retryable error). Default false.
   */
  operatorFixable?: boolean;
  /** The lower failure. Its message is not shown to users, but keep secrets out of it anyway. */
  cause?: unknown;
  /** Extra machine-readable information. Must not contain secrets. */
  details?: Record<string, unknown>;
}

/**
 * The error connectors throw. Hosts recognise it by `name === "ConnectorError"` and a string
 * `code`, never by `instanceof` (a plugin may bundle its own copy of the SDK).
 *
 * Codes are the connector's own, UPPER_SNAKE (e.g. `DROPZONE_DISK_FULL`). Messages are read by
 * people: say what is wrong and how to fix it, and never include a secret.
 */
export class ConnectorError extends Error {
  /** The connector's machine-readable error code. */
  readonly code: string;
  /** Whether the operation may succeed if tried again later. */
  readonly retryable: boolean;
  /** Whether an operator fixes the condition; retried over the host's long horizon (see {@link ConnectorErrorOptions.operatorFixable}). */
  readonly operatorFixable: boolean;
  /** Extra machine-readable information (no secrets). */
  readonly details?: Record<string, unknown>;

  constructor(code: string, message: string, options: ConnectorErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ConnectorError';
    this.code = code;
    this.operatorFixable = options.operatorFixable === true;
    this.retryable = options.retryable || this.operatorFixable;
    if (options.details !== undefined) this.details = options.details;
  }
}

/** The shape hosts rely on: what {@link isConnectorError} checks. */
export interface ConnectorErrorLike {
  name: 'ConnectorError';
  code: string;
  retryable: boolean;
  /** Absent on errors of SDKs before 1.1 (and on plain objects): read it as false. */
  operatorFixable?: boolean;
  message: string;
  details?: Record<string, unknown>;
}

/** True when `err` is a ConnectorError from any copy of the SDK (or a plain object shaped like one). */
export function isConnectorError(err: unknown): err is ConnectorErrorLike {
  return (
    typeof err === 'object' &&
    err !== null &&
    (err as { name?: unknown }).name === 'ConnectorError' &&
    typeof (err as { code?: unknown }).code === 'string' &&
    typeof (err as { retryable?: unknown }).retryable === 'boolean'
  );
}
