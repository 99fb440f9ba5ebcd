/**
 * The messages between the host and a sandbox process (docs/sandbox-protocol.md). Version 1.
 * Sent over the Node IPC channel of `child_process.fork` (JSON serialisation); every message has a
 * `t` (type). This module imports nothing: the sandbox may read only its own files and the plugin.
 */

export const PROTOCOL_VERSION = 1;

/** The tag and API version of a connector definition (as in @erpc/sdk, which the sandbox does not import). */
export const DEFINITION_TAG = 'erpc.connector';
export const DEFINITION_API_VERSION = 1;

/** A plugin the sandbox imports: its entry file, and the connector type its manifest declares. */
export interface SandboxPluginSpec {
  readonly key: number;
  readonly connectorType: string;
  readonly entryPath: string;
  /** The plugin's folder (the host computes what the sandbox may read from it). */
  readonly root?: string;
}

export type Operation = 'testConnection' | 'push' | 'checkDelivery' | 'dispose';

/** Host → sandbox. */
export type HostMessage =
  /** Import these entries, check each definition and create its port. `sequential`: one by one, announcing each. */
  | { readonly t: 'load'; readonly plugins: readonly SandboxPluginSpec[]; readonly sequential: boolean }
  /** Run one operation. `config` is the decrypted config of `connection`, and only of it. */
  | {
      readonly t: 'call';
      readonly id: number;
      readonly op: Exclude<Operation, 'dispose'>;
      readonly connectorType: string;
      readonly connection: { readonly id: string; readonly orgId: string; readonly connectorType: string };
      readonly config: unknown;
      /**
       * The operation's argument (the push document or the receipt) as JSON text: a payload's
       * exact numbers (raw JSON values, ADR 0027) keep their digits across the boundary, and the
       * sandbox parses them back the same way.
       */
      readonly argText?: string;
      readonly timeoutMs: number;
      /** The caller's signal had already aborted: the context's signal starts aborted. */
      readonly aborted?: boolean;
    }
  /** The host gave up on call `id` (deadline, shutdown): abort its signal. */
  | { readonly t: 'abort'; readonly id: number }
  /** The answer to a `sync` request. */
  | { readonly t: 'synced'; readonly id: number; readonly error?: { readonly code: string; readonly message: string } }
  /** Liveness: answer `pong` with the same `n` (a sandbox whose event loop is blocked cannot). */
  | { readonly t: 'ping'; readonly n: number }
  /** Call every port's dispose(), answer `disposed`, then exit. */
  | { readonly t: 'dispose' };

/** How a value or an error crosses the boundary: plain data only. */
export interface WireError {
  readonly name: string;
  readonly message: string;
  /** ConnectorError fields, when the thrown value had them. */
  readonly code?: string;
  readonly retryable?: boolean;
  /** A ConnectorError marked as a fault an operator fixes (retried over the long horizon). */
  readonly operatorFixable?: boolean;
  readonly details?: unknown;
}

/** Sandbox → host. */
export type SandboxMessage =
  | { readonly t: 'hello'; readonly v: number; readonly pid: number }
  /** Sequential loading: the import of `key` starts now (a hang or crash from here on is its doing). */
  | { readonly t: 'importing'; readonly key: number }
  | {
      readonly t: 'loaded';
      readonly key: number;
      readonly ok: true;
      /** Optional operations the port implements. */
      readonly ops: { readonly checkDelivery: boolean; readonly dispose: boolean };
    }
  | { readonly t: 'loaded'; readonly key: number; readonly ok: false; readonly code: string; readonly reason: string }
  | { readonly t: 'result'; readonly id: number; readonly ok: true; readonly value: unknown }
  /** `invalid`: the value could not be sent (not JSON: a function, a BigInt, a cycle). */
  | { readonly t: 'result'; readonly id: number; readonly ok: false; readonly error: WireError; readonly invalid?: boolean }
  /** A log line of the plugin; `id` is the call it was written in (scrubbed by the host with that connection's secrets). */
  | { readonly t: 'log'; readonly id?: number; readonly level: 'debug' | 'info' | 'warn' | 'error'; readonly obj?: unknown; readonly msg?: string }
  /** HostServices.files.sync(path): the host flushes `path` if it lies below a granted root. */
  | { readonly t: 'sync'; readonly id: number; readonly path: string }
  /** An uncaught exception or unhandled rejection: the sandbox exits right after. */
  | { readonly t: 'fatal'; readonly message: string }
  | { readonly t: 'pong'; readonly n: number }
  | { readonly t: 'disposed' };

/** Exit code of a sandbox that ends itself after a `fatal`. */
export const FATAL_EXIT_CODE = 70;
