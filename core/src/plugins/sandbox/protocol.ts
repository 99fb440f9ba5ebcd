/**
 * The messages between the host and a sandbox process (docs/sandbox-protocol.md). Version 4.
 * Sent as lines of JSON (one message per line) over a socket pair on the sandbox's fd 3, which the
 * host reads with its own parser: a sandbox that writes anything else there is killed, never the
 * host (Node's IPC channel parses inside Node, where a malformed line throws in the host). Every
 * message has a `t` (type). This module imports nothing: the sandbox may read only its own files
 * and the plugin.
 */

export const PROTOCOL_VERSION = 4;

/** The sandbox's file descriptor of the channel (a UNIX socket pair end). */
export const CHANNEL_FD = 3;

/** The largest line a sandbox may send (a result, a log line): longer, and the sandbox is killed. */
export const MAX_SANDBOX_LINE_BYTES = 32 * 1024 * 1024;

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
      /**
       * The argument itself, inside the line: sent instead of `argText` for a push document whose
       * payload the host knows holds no raw JSON number, so one parse of the line gives it whole
       * (ADR 0048).
       */
      readonly arg?: unknown;
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

/** The levels of a plugin's log lines, least severe first. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type SandboxLogLevel = (typeof LOG_LEVELS)[number];

/** The sandbox entry's argument that names the least severe level the host logs (ADR 0046). */
export const LOG_LEVEL_ARG = '--erpc-log-level=';

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
  | { readonly t: 'log'; readonly id?: number; readonly level: SandboxLogLevel; readonly obj?: unknown; readonly msg?: string }
  /** HostServices.files.sync(path): the host flushes `path` if it lies below a granted root. */
  | { readonly t: 'sync'; readonly id: number; readonly path: string }
  /** An uncaught exception or unhandled rejection: the sandbox exits right after. */
  | { readonly t: 'fatal'; readonly message: string }
  | { readonly t: 'pong'; readonly n: number }
  | { readonly t: 'disposed' };

/** Exit code of a sandbox that ends itself after a `fatal`. */
export const FATAL_EXIT_CODE = 70;

/** The part of a socket a {@link TurnWriter} uses. */
interface CorkableChannel {
  cork(): void;
  uncork(): void;
  write(chunk: string, callback?: () => void): boolean;
}

/**
 * Writes lines to a channel so that those written in one turn of the event loop leave in one
 * write: the channel is corked at the first and uncorked by a `setImmediate`, after every callback
 * of that turn (a claimed batch's calls, fsyncs finished on one thread-pool wake-up, the answers to
 * one chunk of calls). `flush` sends what is queued at once, for a line that must leave before the
 * process may block or exit.
 */
export class TurnWriter {
  #queued = false;
  constructor(private readonly channel: CorkableChannel) {}

  write(line: string, callback?: () => void): void {
    if (!this.#queued) {
      this.#queued = true;
      this.channel.cork();
      setImmediate(() => this.flush());
    }
    this.channel.write(`${line}\n`, callback);
  }

  flush(): void {
    if (!this.#queued) return;
    this.#queued = false;
    this.channel.uncork();
  }
}

/**
 * Holds what arrives before `open()` and hands it on, in order, when it is called; afterwards
 * hands each item on at once. The sandbox holds the host's messages this way until it has said
 * hello (ADR 0052): the host sends its load without waiting for hello, and no plugin code may run
 * before the sandbox's environment is cleared.
 */
export class HoldUntilOpen<T> {
  #held: T[] | undefined = [];
  readonly #deliver: (item: T) => void;

  constructor(deliver: (item: T) => void) {
    this.#deliver = deliver;
  }

  push(item: T): void {
    if (this.#held !== undefined) this.#held.push(item);
    else this.#deliver(item);
  }

  open(): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    for (const item of held) this.#deliver(item);
  }
}

/**
 * Splits a byte stream into lines (without the newline), none longer than `maxBytes`. A longer line
 * either stops the splitter (`overflow: 'stop'`: `onOverflow` is called once and nothing more is
 * delivered) or is cut (`'truncate'`: its first `maxBytes` bytes are delivered, `onOverflow` is
 * called, and the rest of that line is skipped).
 */
export class LineSplitter {
  #parts: Uint8Array[] = [];
  #pending = 0;
  #stopped = false;
  #skipping = false;

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly options: { readonly maxBytes?: number; readonly overflow?: 'stop' | 'truncate'; readonly onOverflow?: () => void } = {},
  ) {}

  push(chunk: Uint8Array): void {
    const max = this.options.maxBytes ?? Number.POSITIVE_INFINITY;
    let start = 0;
    while (!this.#stopped) {
      const nl = chunk.indexOf(10, start);
      const end = nl === -1 ? chunk.length : nl;
      if (this.#skipping) {
        if (nl === -1) return;
        this.#skipping = false;
      } else {
        const piece = chunk.subarray(start, end);
        if (this.#pending + piece.length > max) {
          this.options.onOverflow?.();
          if (this.options.overflow !== 'truncate') {
            this.#stopped = true;
            this.#parts = [];
            return;
          }
          this.#parts.push(piece.subarray(0, max - this.#pending));
          this.#emit(max);
          this.#skipping = nl === -1;
        } else if (nl === -1) {
          // A copy: the stream may reuse its buffer.
          if (piece.length > 0) this.#parts.push(Uint8Array.prototype.slice.call(piece));
          this.#pending += piece.length;
          return;
        } else {
          this.#parts.push(piece);
          this.#emit(this.#pending + piece.length);
        }
      }
      if (nl === -1) return;
      start = nl + 1;
    }
  }

  #emit(length: number): void {
    const parts = this.#parts;
    this.#parts = [];
    this.#pending = 0;
    this.onLine(decoder.decode(parts.length === 1 ? parts[0]! : concat(parts, length)));
  }
}

const decoder = new TextDecoder();

function concat(parts: readonly Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const LEVELS: ReadonlySet<string> = new Set(LOG_LEVELS);
const isId = (x: unknown): x is number => Number.isSafeInteger(x);
const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const optional = (x: unknown, check: (v: unknown) => boolean): boolean => x === undefined || check(x);
const isString = (x: unknown): x is string => typeof x === 'string';
const isBoolean = (x: unknown): x is boolean => typeof x === 'boolean';

function isWireError(x: unknown): x is WireError {
  return (
    isRecord(x) &&
    isString(x.name) &&
    isString(x.message) &&
    optional(x.code, isString) &&
    optional(x.retryable, isBoolean) &&
    optional(x.operatorFixable, isBoolean)
  );
}

/**
 * One line from a sandbox as a message, or a reason it is none. The sandbox runs plugin code, so a
 * line is untrusted input: anything but a well-formed message is a protocol violation.
 */
export function readSandboxMessage(line: string): SandboxMessage | { readonly violation: string } {
  let m: unknown;
  try {
    m = JSON.parse(line);
  } catch {
    return { violation: 'a line that is not JSON' };
  }
  if (!isRecord(m) || !isString(m.t)) return { violation: 'a message without a type' };
  const ok = ((): boolean => {
    switch (m.t) {
      case 'hello':
        return isId(m.v) && isId(m.pid);
      case 'importing':
        return isId(m.key);
      case 'loaded':
        if (!isId(m.key)) return false;
        if (m.ok === true) return isRecord(m.ops) && isBoolean(m.ops.checkDelivery) && isBoolean(m.ops.dispose);
        return m.ok === false && isString(m.code) && isString(m.reason);
      case 'result':
        if (!isId(m.id)) return false;
        if (m.ok === true) return true;
        return m.ok === false && isWireError(m.error) && optional(m.invalid, isBoolean);
      case 'log':
        return LEVELS.has(m.level as string) && optional(m.id, isId) && optional(m.msg, isString);
      case 'sync':
        return isId(m.id) && isString(m.path);
      case 'fatal':
        return isString(m.message);
      case 'pong':
        return isId(m.n);
      case 'disposed':
        return true;
      default:
        return false;
    }
  })();
  return ok ? (m as SandboxMessage) : { violation: `a malformed ${JSON.stringify(m.t).slice(0, 40)} message` };
}
