import { ERROR_REGISTRY, formatMessage, type ErrorCode } from './registry.js';

/** Options of an {@link ErpcError}. */
export interface ErpcErrorOptions {
  /** Machine-readable details; never a secret or ciphertext. Sent to API clients. */
  details?: unknown;
  /** The lower failure. Logged server-side, never sent to clients. */
  cause?: unknown;
  /** Overrides the registry's message template (still no secrets). */
  message?: string;
}

/** An error from the registry: a code for programs, a message for people, an HTTP status. */
export class ErpcError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details?: unknown;

  constructor(code: ErrorCode, params: Record<string, unknown> = {}, options: ErpcErrorOptions = {}) {
    const spec = ERROR_REGISTRY[code];
    super(options.message ?? formatMessage(spec.message, params), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ErpcError';
    this.code = code;
    this.status = spec.status;
    if (options.details !== undefined) this.details = options.details;
  }

  /** The API's error body: `{"error": {"code", "message", "details"?}}`. */
  toBody(): { error: { code: string; message: string; details?: unknown } } {
    return {
      error: { code: this.code, message: this.message, ...(this.details === undefined ? {} : { details: this.details }) },
    };
  }
}

/** True for an {@link ErpcError}, also across module copies. */
export function isErpcError(err: unknown): err is ErpcError {
  return (
    err instanceof ErpcError ||
    (typeof err === 'object' &&
      err !== null &&
      (err as { name?: unknown }).name === 'ErpcError' &&
      typeof (err as { code?: unknown }).code === 'string')
  );
}
