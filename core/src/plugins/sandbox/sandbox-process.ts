import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, chownSync, constants, mkdtempSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Logger } from '../../logging/logger.js';
import {
  CHANNEL_FD,
  FATAL_EXIT_CODE,
  LineSplitter,
  LOG_LEVEL_ARG,
  LOG_LEVELS,
  MAX_SANDBOX_LINE_BYTES,
  PROTOCOL_VERSION,
  readSandboxMessage,
  TurnWriter,
  type HostMessage,
  type SandboxLogLevel,
  type SandboxMessage,
  type SandboxPluginSpec,
  type WireError,
} from './protocol.js';
import { sandboxEntry, type SandboxIdentity } from './permissions.js';

/** Why a sandbox process ended while it had calls in flight (shown, scrubbed, on a PLUGIN_CRASHED dead letter). */
export class SandboxCrash extends Error {
  constructor(
    readonly exitCode: number | null,
    readonly signal: NodeJS.Signals | null,
    readonly reason: string,
    /** The host killed it (a call outlived its deadline and grace), rather than it dying by itself. */
    readonly killedByHost: boolean,
    /** Calls that were in flight in the process when it ended. */
    readonly callsInFlight = 0,
  ) {
    super(reason);
    this.name = 'SandboxCrash';
  }
}

/** One answer of a call, as the sandbox sent it. */
export type RawResult = { ok: true; value: unknown } | { ok: false; error: WireError; invalid?: boolean };

/** The outcome of importing one plugin in a sandbox. */
export type LoadOutcome =
  | { readonly ok: true; readonly ops: { readonly checkDelivery: boolean; readonly dispose: boolean } }
  | { readonly ok: false; readonly code: string; readonly reason: string };

export interface SandboxProcessOptions {
  readonly label: string;
  readonly execArgv: readonly string[];
  /**
   * The OS limit on the process's data segment (MiB: V8's heap and reservations, buffers, native
   * allocations), set with `ulimit -d` before Node starts: what the heap cap alone does not bound.
   */
  readonly dataLimitMb?: number;
  readonly identity: SandboxIdentity | undefined;
  /**
   * The size of its libuv thread pool (ERPC_SANDBOX_THREADPOOL_SIZE), the one variable of its
   * environment; unset: libuv's default. sandbox-main removes it once the pool has started.
   */
  readonly threadPoolSize?: number;
  readonly logger: Logger;
  /** Scrubs a line the sandbox printed (the secrets of the connections it served). */
  readonly scrub: (text: string) => string;
  /** HostServices.files.sync of the plugin: the host flushes the path if it may. */
  readonly onSync: (path: string) => Promise<void>;
  /**
   * The least severe level of the plugin's log lines that `onLog` receives (default debug): the
   * sandbox is told, so lower ones never cross, and any that still arrive are dropped before the
   * printed-lines limit counts them.
   */
  readonly logLevel?: SandboxLogLevel;
  /** A log line the plugin wrote during call `id` (undefined: outside a call). */
  readonly onLog: (id: number | undefined, level: SandboxLogLevel, obj: unknown, msg: string | undefined) => void;
  /** The process ended (for any reason). */
  readonly onExit: (crash: SandboxCrash) => void;
}

const HELLO_TIMEOUT_MS = 15_000;

/** Printed lines (stdout, stderr, log messages) a sandbox may have logged per second; the rest are counted and dropped. */
const LOG_LINES_PER_SECOND = 200;
/** The longest printed line kept (bytes); the rest of a longer one is cut. */
const MAX_PRINTED_LINE_BYTES = 8 * 1024;

const SHELL = '/bin/sh';
let shellChecked: boolean | undefined;
function hasShell(): boolean {
  if (shellChecked === undefined) {
    try {
      accessSync(SHELL, constants.X_OK);
      shellChecked = true;
    } catch {
      shellChecked = false;
    }
  }
  return shellChecked;
}
let warnedNoShell = false;

/**
 * The working folders of the sandboxes this process started and has not seen exit. A sandbox's
 * folder is removed when it exits; one still here when the host exits (a CLI command ends with
 * process.exit while its check sandboxes are stopping) is removed then, so none is left in the
 * temporary folder.
 */
const liveWorkingFolders = new Set<string>();
process.once('exit', () => {
  for (const f of liveWorkingFolders) rmSync(f, { recursive: true, force: true });
});
function removeWorkingFolder(folder: string): void {
  rmSync(folder, { recursive: true, force: true });
  liveWorkingFolders.delete(folder);
}

/**
 * The host's handle on one sandbox process: spawn, load, calls in flight, deadlines enforced by
 * killing, exit. Every call of a process that ends rejects with a {@link SandboxCrash}.
 */
export class SandboxProcess {
  readonly #options: SandboxProcessOptions;
  readonly #child: ChildProcess;
  readonly #cwd: string;
  readonly #pending = new Map<number, { resolve(r: RawResult): void; reject(e: SandboxCrash): void; killTimer?: NodeJS.Timeout }>();
  #loads: Map<number, (o: LoadOutcome) => void> | undefined;
  #importing: number | undefined;
  #nextId = 1;
  #nextPing = 1;
  readonly #pongs = new Map<number, () => void>();
  #exited: SandboxCrash | undefined;
  #killedByHost = false;
  #fatal: string | undefined;
  #stderrTail: string[] = [];
  readonly #ready: Promise<void>;
  readonly #channel: Socket;
  readonly #writer: TurnWriter;
  /** Takes the first message (it must be hello); then undefined. */
  #hello: ((m: SandboxMessage) => void) | undefined;
  #violated: string | undefined;
  #logCount = 0;
  #minLogLevel = 0;
  #logDropped = 0;
  #disposed: (() => void) | undefined;
  lastUsed = performance.now();
  /** No new calls: it stops once its calls are done (replaced by a process with other grants). */
  draining = false;

  constructor(options: SandboxProcessOptions) {
    this.#options = options;
    // Its own working directory, owned by its user.
    this.#cwd = mkdtempSync(path.join(tmpdir(), 'erpc-sandbox-'));
    liveWorkingFolders.add(this.#cwd);
    if (options.identity !== undefined) chownSync(this.#cwd, options.identity.uid, options.identity.gid);
    // Its working directory is readable, not writable: a plugin writes only below its granted roots
    // (a writable temporary folder would let it fill the host's disk).
    const logLevel = options.logLevel ?? 'debug';
    this.#minLogLevel = LOG_LEVELS.indexOf(logLevel);
    const nodeArgs = [...options.execArgv, `--allow-fs-read=${this.#cwd}`, sandboxEntry(), `${LOG_LEVEL_ARG}${logLevel}`];
    const limited = options.dataLimitMb !== undefined && hasShell();
    if (options.dataLimitMb !== undefined && !limited && !warnedNoShell) {
      warnedNoShell = true;
      options.logger.warn({ sandbox: options.label }, `${SHELL} is missing: sandboxes run without the OS data-segment limit (only the V8 heap cap, ERPC_SANDBOX_MEMORY_MB, bounds their memory)`);
    }
    this.#child = spawn(
      limited ? SHELL : process.execPath,
      // `ulimit -d` (KiB) in a shell that then becomes Node (exec): the limit holds for the sandbox's whole life.
      limited ? ['-c', 'ulimit -d "$1" || exit 71; shift; unset PWD OLDPWD; exec "$@"', 'erpc-sandbox', String(options.dataLimitMb! * 1024), process.execPath, ...nodeArgs] : nodeArgs,
      {
        // A clean environment: no key, no database URL, nothing of the host's. Only the size of
        // the thread pool, which libuv reads from there (ADR 0041).
        env: options.threadPoolSize === undefined ? {} : { UV_THREADPOOL_SIZE: String(options.threadPoolSize) },
        cwd: this.#cwd,
        // fd 3: the channel (a socket pair), read by the host's own parser.
        stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
        ...(options.identity !== undefined ? { uid: options.identity.uid, gid: options.identity.gid } : {}),
      },
    );
    this.#channel = this.#child.stdio[CHANNEL_FD] as Socket;
    this.#writer = new TurnWriter(this.#channel);
    this.#channel.on('error', () => undefined); // EPIPE and the like: the exit handler reports the end
    const messages = new LineSplitter((line) => this.#onLine(line), {
      maxBytes: MAX_SANDBOX_LINE_BYTES,
      onOverflow: () => this.#violation(`a message over ${MAX_SANDBOX_LINE_BYTES / 1024 / 1024} MiB`),
    });
    this.#channel.on('data', (chunk: Buffer) => messages.push(chunk));
    // The sandbox closed its end (as it does when it exits): if it lives on, it can no longer be talked to.
    this.#channel.on('end', () => setTimeout(() => this.#violation('it closed its channel'), 1_000).unref());
    for (const [stream, level] of [
      [this.#child.stdout, 'info'],
      [this.#child.stderr, 'warn'],
    ] as const) {
      if (stream === null) continue;
      const lines = new LineSplitter(
        (line) => {
          if (level === 'warn') {
            this.#stderrTail.push(line.slice(0, 500));
            if (this.#stderrTail.length > 20) this.#stderrTail.shift();
          }
          if (this.#mayLog()) options.logger[level]({ sandbox: options.label, stream: level === 'info' ? 'stdout' : 'stderr' }, options.scrub(line).slice(0, 2_000));
        },
        { maxBytes: MAX_PRINTED_LINE_BYTES, overflow: 'truncate' },
      );
      stream.on('data', (chunk: Buffer) => lines.push(chunk));
    }
    this.#ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.kill();
        reject(new SandboxCrash(null, null, `the sandbox did not start within ${HELLO_TIMEOUT_MS} ms`, true));
      }, HELLO_TIMEOUT_MS);
      timer.unref();
      this.#hello = (m) => {
        clearTimeout(timer);
        if (m.t === 'hello' && m.v === PROTOCOL_VERSION) resolve();
        else {
          this.kill();
          reject(new SandboxCrash(null, null, `the sandbox speaks another protocol (${JSON.stringify(m).slice(0, 80)})`, false));
        }
      };
      this.#child.once('exit', () => {
        clearTimeout(timer);
        reject(this.#exited ?? new SandboxCrash(null, null, 'the sandbox exited before it started', false));
      });
    });
    this.#ready.catch(() => undefined);
    this.#child.on('error', (err) => options.logger.warn({ sandbox: options.label, err }, 'sandbox process error'));
    this.#child.once('exit', (code, signal) => this.#onExit(code, signal));
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get inflight(): number {
    return this.#pending.size;
  }

  get alive(): boolean {
    return this.#exited === undefined;
  }

  /** Resolves once the sandbox answered hello. */
  ready(): Promise<void> {
    return this.#ready;
  }

  /**
   * Imports the plugins; resolves with each one's outcome by key. Rejects with a SandboxCrash
   * when the process ends first; `importing()` then names the plugin being imported (sequential).
   */
  async load(plugins: readonly SandboxPluginSpec[], sequential: boolean, outcomes = new Map<number, LoadOutcome>()): Promise<Map<number, LoadOutcome>> {
    // Sent at once, before hello if the sandbox is still booting (ADR 0052): it reads the load
    // when it has started, so the imports begin without waiting for a round trip through the
    // host. An answer counts only once hello proved the protocol (#onLine takes hello first).
    const waits = new Map<number, (o: LoadOutcome) => void>();
    const all = plugins.map((p) => new Promise<void>((resolve) => waits.set(p.key, (o) => (outcomes.set(p.key, o), resolve()))));
    this.#loads = waits;
    const ended = new Promise<never>((_, reject) => this.#child.once('exit', () => reject(this.#exited)));
    ended.catch(() => undefined);
    this.#send({ t: 'load', plugins, sequential });
    await Promise.race([this.#ready.then(() => Promise.all(all)), ended]);
    this.#loads = undefined;
    return outcomes;
  }

  /** The plugin key whose sequential import is under way (the culprit when the process hangs or dies). */
  importing(): number | undefined {
    return this.#importing;
  }

  /** Sends one call; resolves with the sandbox's answer, rejects with a SandboxCrash. */
  call(message: Omit<Extract<HostMessage, { t: 'call' }>, 't' | 'id'>, onId?: (id: number) => void): Promise<RawResult> {
    if (this.#exited !== undefined) return Promise.reject(this.#exited);
    const id = this.#nextId++;
    onId?.(id);
    this.lastUsed = performance.now();
    return new Promise<RawResult>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#send({ t: 'call', id, ...message });
    });
  }

  /**
   * The host gave up on call `id`: tell the sandbox, and kill the process if the call has not
   * ended `graceMs` later (a busy loop never reads the message; a call that ignores its signal
   * would hold the process for ever).
   */
  abandon(id: number, graceMs: number): void {
    const pending = this.#pending.get(id);
    if (pending === undefined) return;
    this.#send({ t: 'abort', id });
    pending.killTimer ??= setTimeout(() => {
      if (!this.#pending.has(id)) return;
      this.#options.logger.warn({ sandbox: this.#options.label, pid: this.pid }, `a call did not end ${graceMs} ms after its deadline: the sandbox is killed and replaced`);
      this.kill();
    }, graceMs);
    pending.killTimer.unref();
  }

  /** True when the sandbox answers a ping within `timeoutMs` (its event loop runs). */
  ping(timeoutMs: number): Promise<boolean> {
    if (this.#exited !== undefined) return Promise.resolve(false);
    const n = this.#nextPing++;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.#pongs.delete(n);
        resolve(false);
      }, timeoutMs);
      timer.unref();
      this.#pongs.set(n, () => {
        clearTimeout(timer);
        resolve(true);
      });
      this.#send({ t: 'ping', n });
    });
  }

  /** Whether call `id` is still waiting for its answer. */
  pending(id: number): boolean {
    return this.#pending.has(id);
  }

  /** SIGKILL: nothing the plugin does can delay it. */
  kill(): void {
    if (this.#exited !== undefined) return;
    this.#killedByHost = true;
    this.#child.kill('SIGKILL');
  }

  /** Calls every port's dispose() and ends the process, killing it after `timeoutMs`. */
  async stop(timeoutMs: number): Promise<void> {
    if (this.#exited !== undefined) return;
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    const disposed = new Promise<void>((resolve) => (this.#disposed = resolve));
    this.#send({ t: 'dispose' });
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([disposed, exited, late]);
    clearTimeout(timer);
    if (this.#exited === undefined) {
      await Promise.race([exited, new Promise((r) => setTimeout(r, 500))]);
      this.kill();
      await exited;
    }
  }

  /** The messages of one turn of the event loop leave in one write (ADR 0041, addendum). */
  #send(message: HostMessage): void {
    if (this.#exited !== undefined || this.#violated !== undefined || !this.#channel.writable) return;
    this.#writer.write(JSON.stringify(message));
  }

  #onLine(line: string): void {
    if (this.#violated !== undefined || this.#exited !== undefined) return;
    const m = readSandboxMessage(line);
    if ('violation' in m) return this.#violation(`it sent ${m.violation}`);
    if (this.#hello !== undefined) {
      const hello = this.#hello;
      this.#hello = undefined;
      return hello(m);
    }
    this.#onMessage(m);
  }

  /** The sandbox broke the protocol (plugin code wrote to the channel): it is killed, its calls fail. */
  #violation(what: string): void {
    if (this.#violated !== undefined || this.#exited !== undefined) return;
    this.#violated = what;
    this.#options.logger.warn({ sandbox: this.#options.label, pid: this.pid }, `the sandbox broke the protocol (${what}): it is killed and replaced`);
    // Not a deadline kill: which of its calls caused it is found as for a crash.
    this.#child.kill('SIGKILL');
  }

  /**
   * Whether one more printed line may be logged now: at most LOG_LINES_PER_SECOND a second; the
   * lines dropped are counted and reported in one warning when the second is over.
   */
  #mayLog(): boolean {
    if (this.#logCount < LOG_LINES_PER_SECOND) {
      if (this.#logCount++ === 0) setTimeout(() => this.#endLogWindow(), 1_000).unref();
      return true;
    }
    this.#logDropped++;
    return false;
  }

  #endLogWindow(): void {
    if (this.#logDropped > 0) {
      this.#options.logger.warn(
        { sandbox: this.#options.label, dropped: this.#logDropped },
        `the sandbox printed more than ${LOG_LINES_PER_SECOND} lines in a second: ${this.#logDropped} of them were not logged`,
      );
    }
    this.#logCount = 0;
    this.#logDropped = 0;
  }

  #onMessage(m: SandboxMessage): void {
    switch (m.t) {
      case 'result': {
        const pending = this.#pending.get(m.id);
        if (pending === undefined) return;
        this.#pending.delete(m.id);
        clearTimeout(pending.killTimer);
        this.lastUsed = performance.now();
        pending.resolve(m.ok ? { ok: true, value: m.value } : { ok: false, error: m.error, ...(m.invalid === true ? { invalid: true } : {}) });
        break;
      }
      case 'log':
        if (LOG_LEVELS.indexOf(m.level) >= this.#minLogLevel && this.#mayLog()) this.#options.onLog(m.id, m.level, m.obj, m.msg);
        break;
      case 'sync':
        this.#options.onSync(m.path).then(
          () => this.#send({ t: 'synced', id: m.id }),
          (err: NodeJS.ErrnoException) => this.#send({ t: 'synced', id: m.id, error: { code: String(err.code ?? 'EIO'), message: String(err.message) } }),
        );
        break;
      case 'importing':
        this.#importing = m.key;
        break;
      case 'loaded': {
        this.#importing = undefined;
        const answer = this.#loads?.get(m.key);
        // One answer per plugin: a second one (or one for a plugin not being loaded) is forged.
        if (answer === undefined) return this.#violation(`it answered for plugin ${m.key}, which it was not loading or had answered for`);
        this.#loads?.delete(m.key);
        answer(m.ok ? { ok: true, ops: m.ops } : { ok: false, code: m.code, reason: m.reason });
        break;
      }
      case 'fatal':
        this.#fatal = m.message;
        break;
      case 'pong':
        this.#pongs.get(m.n)?.();
        this.#pongs.delete(m.n);
        break;
      case 'disposed':
        this.#disposed?.();
        break;
      case 'hello':
        break;
    }
  }

  #onExit(code: number | null, signal: NodeJS.Signals | null): void {
    const memory = this.#stderrTail.some((l) => /out of memory|Allocation failed|invalid table size|Reached heap limit/i.test(l));
    const reason = memory
      ? 'the sandbox ran out of memory (ERPC_SANDBOX_MEMORY_MB)'
      : this.#violated !== undefined
        ? `the sandbox broke the protocol: ${this.#violated}`
        : this.#fatal !== undefined
        ? `uncaught error in the plugin: ${this.#fatal}`
        : this.#killedByHost
          ? 'the sandbox was killed: a call did not end after its deadline'
          : code === FATAL_EXIT_CODE
            ? 'the plugin failed outside a call'
            : signal !== null
              ? `the sandbox was ended by ${signal}`
              : `the sandbox exited with code ${code}`;
    const crash = new SandboxCrash(code, signal, this.#options.scrub(reason).slice(0, 1_000), this.#killedByHost, this.#pending.size);
    this.#exited = crash;
    for (const pending of this.#pending.values()) {
      clearTimeout(pending.killTimer);
      pending.reject(crash);
    }
    this.#pending.clear();
    removeWorkingFolder(this.#cwd);
    this.#options.onExit(crash);
  }
}
