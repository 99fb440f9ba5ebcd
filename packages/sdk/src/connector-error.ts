/** Options of a {@link ConnectorError}. */
export interface ConnectorErrorOptions {
  /** Whether the host should try again later (network down, disk full) or give up (bad config). */
  retryable: boolean;
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
  /** Extra machine-readable information (no secrets). */
  readonly details?: Record<string, unknown>;

  constructor(code: string, message: string, options: ConnectorErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ConnectorError';
    this.code = code;
    this.retryable = options.retryable;
    if (options.details !== undefined) this.details = options.details;
  }
}

/** The shape hosts rely on: what {@link isConnectorError} checks. */
export interface ConnectorErrorLike {
  name: 'ConnectorError';
  code: string;
  retryable: boolean;
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
