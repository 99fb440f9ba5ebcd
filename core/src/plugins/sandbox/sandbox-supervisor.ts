import { close, fsync, open, realpath } from 'node:fs';
import path from 'node:path';
import type { PluginCapabilities } from '@erpc/sdk';
import { isPlainJson } from '../../input/plain-json.js';
import type { Logger } from '../../logging/logger.js';
import { scrubMessage, scrubValue } from '../../logging/scrubbing.js';
import type { HostConfig } from '../../settings/index.js';
import type { LoadedPlugin } from '../types.js';
import type { GrantPolicy } from './grants.js';
import { realOrLexical } from './grants.js';
import { prepareDefaultRoot, reachableIdentity, readablePackageFolders, sandboxCodeReads, sandboxDataLimitMb, sandboxEntry, sandboxExecArgv, sandboxIdentity, type SandboxIdentity } from './permissions.js';
import { LOG_LEVELS, type Operation, type SandboxLogLevel } from './protocol.js';
import { SandboxCrash, SandboxProcess, type RawResult } from './sandbox-process.js';

/** A call the supervisor runs in a sandbox. */
export interface SandboxCall {
  readonly plugin: LoadedPlugin;
  readonly op: Exclude<Operation, 'dispose'>;
  readonly connection: { readonly id: string; readonly orgId: string; readonly connectorType: string };
  /** The decrypted config of this connection, and only of it. */
  readonly config: Readonly<Record<string, unknown>>;
  readonly arg?: unknown;
  readonly timeoutMs: number;
  /** Aborts when the host gives up on the call (deadline, shutdown). */
  readonly signal: AbortSignal;
  /** The connection's secrets as a scrub list: what the sandbox prints is scrubbed with them. */
  readonly scrub: readonly string[];
  /** The connection's scrubbing logger: the plugin's log lines of this call go there. */
  readonly log: (level: SandboxLogLevel, obj: unknown, msg: string | undefined) => void;
  /** Run in a fresh process of its own, one such call per plugin at a time (after a shared sandbox crashed). */
  readonly alone?: boolean;
}

/** Thrown by {@link SandboxSupervisor.run} when the plugin is in its restart backoff. */
export class SandboxBackoff extends Error {
  constructor(readonly retryAfterMs: number) {
    super(`the plugin's sandbox keeps crashing; it is restarted in ${retryAfterMs} ms`);
    this.name = 'SandboxBackoff';
  }
}

/** A sandboxed call that outlived its deadline while its sandbox stayed responsive: the plugin's own slowness. */
export class SandboxTimeout extends Error {
  constructor(readonly timeoutMs: number) {
    super(`The operation did not finish within ${timeoutMs} ms and was aborted.`);
    this.name = 'SandboxTimeout';
  }
}

/** What a sandbox crash means for the call that was in it. */
export class SandboxCallCrash extends Error {
  constructor(
    readonly crash: SandboxCrash,
    /** The call was the only one in flight in that process: it caused the crash. */
    readonly alone: boolean,
  ) {
    super(crash.reason);
    this.name = 'SandboxCallCrash';
  }
}

/** Health of one plugin's sandboxes, for /healthz and metrics. */
export interface SandboxHealth {
  readonly connectorType: string;
  readonly healthy: boolean;
  readonly processes: number;
  readonly crashes: number;
  readonly restartInMs: number;
}

interface Entry {
  readonly key: string;
  readonly type: string;
  readonly process: SandboxProcess;
  readonly started: Promise<void>;
  readonly writeRoots: readonly string[];
  readonly network: boolean;
  readonly secrets: Set<string>;
}

interface PluginState {
  crashes: number;
  backoffMs: number;
  restartAt: number;
  lastCrashAt: number;
  /** One `alone` call at a time (each in a fresh process). */
  aloneChain: Promise<void>;
}

/** How long a call may go on after its deadline before its sandbox is killed. */
const KILL_GRACE_MS = 2_000;
/** How long a sandbox has to answer a ping at a call's deadline (less than the grace). */
const PING_TIMEOUT_MS = Math.min(1_000, KILL_GRACE_MS / 2);
const FIRST_BACKOFF_MS = 100;
/** A plugin that has not crashed for this long starts its backoff from the beginning again. */
const HEALTHY_AFTER_MS = 60_000;

/**
 * Starts, reuses and stops the sandbox processes that run plugin code, and contains their
 * failures (docs/security.md). One process per plugin (ERPC_SANDBOX_SCOPE=plugin) or per
 * connection; started on first use; at most ERPC_SANDBOX_MAX_PROCESSES live (the least recently
 * used idle one stops first); idle ones stop after ERPC_SANDBOX_IDLE_MS. A process is started with
 * exactly the grants of the connections it serves; a connection needing more starts a replacement
 * and the old one drains. A process that exits fails only its own calls; a plugin whose processes
 * keep crashing waits a backoff (100 ms doubling up to ERPC_SANDBOX_RESTART_MAX_MS) before the next.
 */
export class SandboxSupervisor {
  /** Processes killed because they stopped answering: their overdue calls are crashes, not timeouts. */
  readonly #frozen = new WeakSet<SandboxProcess>();
  readonly #entries = new Map<string, Entry>();
  readonly #plugins = new Map<string, PluginState>();
  readonly #readable = new Map<string, string[]>();
  readonly #identity: SandboxIdentity | undefined;
  readonly #idleTimer: NodeJS.Timeout;
  #stopped = false;

  constructor(
    private readonly settings: HostConfig['sandbox'],
    private readonly grants: GrantPolicy,
    private readonly logger: Logger,
  ) {
    this.#identity = sandboxIdentity(settings.uid, settings.gid);
    this.#idleTimer = setInterval(() => this.#stopIdle(), Math.max(1_000, Math.min(settings.idleMs, 30_000)));
    this.#idleTimer.unref();
  }

  /** The user sandboxes run as (undefined: the host's own). */
  get identity(): SandboxIdentity | undefined {
    return this.#identity;
  }

  /**
   * Runs one operation in the plugin's sandbox and resolves with the value it answered. Rejects
   * with the plugin's error (as plain data: a ConnectorError stays recognisable), a
   * {@link SandboxCallCrash}, a {@link SandboxBackoff}, or the abort reason.
   */
  async run(call: SandboxCall): Promise<unknown> {
    if (this.#stopped) throw new SandboxBackoff(1_000);
    const state = this.#state(call.plugin.connectorType);
    // A call run alone is how the culprit of a crash is found: one at a time, never held back.
    if (call.alone === true) return this.#runAlone(call, state);
    const wait = state.restartAt - performance.now();
    if (wait > 0) throw new SandboxBackoff(Math.ceil(wait));
    const entry = this.#entryFor(call);
    return this.#runIn(entry, call);
  }

  /** Per plugin with a process or a crash record. */
  health(): SandboxHealth[] {
    const now = performance.now();
    return [...this.#plugins.entries()].map(([type, s]) => ({
      connectorType: type,
      healthy: s.restartAt <= now && (s.crashes === 0 || now - s.lastCrashAt > HEALTHY_AFTER_MS),
      processes: [...this.#entries.values()].filter((e) => e.type === type && e.process.alive).length,
      crashes: s.crashes,
      restartInMs: Math.max(0, Math.ceil(s.restartAt - now)),
    }));
  }

  /** Live processes and their resident memory is read by the host's metrics; this is the count. */
  get processCount(): number {
    return [...this.#entries.values()].filter((e) => e.process.alive).length;
  }

  /** Disposes every port and ends every process (killing what does not end within `timeoutMs`). */
  async stop(timeoutMs = 5_000): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#idleTimer);
    await Promise.all([...this.#entries.values()].map((e) => e.process.stop(timeoutMs)));
    this.#entries.clear();
  }

  async #runAlone(call: SandboxCall, state: PluginState): Promise<unknown> {
    const previous = state.aloneChain;
    let release!: () => void;
    state.aloneChain = new Promise<void>((resolve) => (release = resolve));
    await previous;
    const entry = this.#spawn(`${call.plugin.connectorType}#alone`, call, [], false);
    try {
      return await this.#runIn(entry, call);
    } finally {
      void entry.process.stop(1_000);
      release();
    }
  }

  async #runIn(entry: Entry, call: SandboxCall): Promise<unknown> {
    for (const s of call.scrub) entry.secrets.add(s);
    try {
      await entry.started;
    } catch (err) {
      throw err instanceof SandboxCrash ? new SandboxCallCrash(err, call.alone === true) : err;
    }
    // The deadline starts now, with the call in a ready process: waiting for a sandbox is not the plugin's time.
    let id: number | undefined;
    // The caller's signal: a shutdown (or the caller's own deadline) gives up on the call.
    const onAbort = (): void => {
      if (id !== undefined) entry.process.abandon(id, KILL_GRACE_MS);
    };
    call.signal.addEventListener('abort', onAbort, { once: true });
    // The deadline, enforced here (ADR 0027): at the deadline the sandbox is told to abort and
    // pinged. A sandbox that answers the ping is alive, so this call is just late: it is a timeout
    // (charged), and if it still has not ended after the grace the process is killed (its other
    // calls are re-run alone, uncharged). A sandbox that does not answer is frozen (a busy loop):
    // it is killed at once, and every call in it is a crash, re-run alone to find which one did it.
    let overdue = false;
    let frozen = false;
    const deadline = setTimeout(() => {
      if (id === undefined || !entry.process.pending(id)) return;
      overdue = true;
      const callId = id;
      entry.process.abandon(callId, KILL_GRACE_MS);
      // The ping's answer is awaited for less than the grace, so a frozen sandbox is known as frozen
      // before the grace kills it: its overdue calls are crashes re-run alone, not timeouts charged.
      void entry.process.ping(PING_TIMEOUT_MS).then((alive) => {
        if (!alive && entry.process.pending(callId)) {
          frozen = true;
          // Its other overdue calls were late because of the freeze, not by themselves.
          this.#frozen.add(entry.process);
          this.logger.warn({ component: 'sandbox', connectorType: call.plugin.connectorType, pid: entry.process.pid }, 'a sandbox stopped answering (its event loop is blocked): it is killed and replaced');
          entry.process.kill();
        }
      });
    }, call.timeoutMs);
    deadline.unref();
    const logs = this.#callLogs;
    let raw: RawResult;
    try {
      raw = await entry.process.call(
        {
          op: call.op,
          connectorType: call.plugin.connectorType,
          connection: call.connection,
          config: call.config,
          ...callArgument(call),
          timeoutMs: call.timeoutMs,
          ...(call.signal.aborted ? { aborted: true } : {}),
        },
        (callId) => {
          id = callId;
          logs.set(`${entry.key}:${callId}`, call.log);
        },
      );
    } catch (err) {
      if (err instanceof SandboxCrash) {
        if (overdue && !frozen && !this.#frozen.has(entry.process)) throw new SandboxTimeout(call.timeoutMs);
        throw new SandboxCallCrash(err, err.callsInFlight <= 1 || call.alone === true);
      }
      throw err;
    } finally {
      clearTimeout(deadline);
      call.signal.removeEventListener('abort', onAbort);
      if (id !== undefined) logs.delete(`${entry.key}:${id}`);
    }
    if (overdue) throw new SandboxTimeout(call.timeoutMs);
    if (raw.ok) return raw.value;
    // Plain data on both sides: a ConnectorError keeps its name, code and retryable flag.
    const { name, message, ...fields } = raw.error;
    throw Object.assign(new Error(message), fields, { name: raw.invalid === true ? 'TypeError' : name });
  }

  readonly #callLogs = new Map<string, SandboxCall['log']>();

  #state(type: string): PluginState {
    let s = this.#plugins.get(type);
    if (s === undefined) {
      s = { crashes: 0, backoffMs: 0, restartAt: 0, lastCrashAt: 0, aloneChain: Promise.resolve() };
      this.#plugins.set(type, s);
    }
    return s;
  }

  #entryFor(call: SandboxCall): Entry {
    const type = call.plugin.connectorType;
    const key = this.settings.scope === 'connection' ? `${type}:${call.connection.id}` : type;
    const grant = this.grants.effective(type, call.plugin.manifest.capabilities as PluginCapabilities | undefined, call.connection.orgId);
    const current = this.#entries.get(key);
    if (current !== undefined && current.process.alive && !current.process.draining) {
      if (grant.writeRoots.every((r) => current.writeRoots.includes(r))) return current;
      // This connection needs folders the running process was not started with: a replacement
      // gets the union; the old process finishes its calls and stops.
      current.process.draining = true;
      const roots = [...new Set([...current.writeRoots, ...grant.writeRoots])];
      const next = this.#spawn(key, call, roots, grant.network);
      void current.started.then(() => this.#stopWhenIdle(current));
      return next;
    }
    return this.#spawn(key, call, grant.writeRoots, grant.network);
  }

  #spawn(key: string, call: SandboxCall, writeRoots: readonly string[], network: boolean): Entry {
    this.#evictForRoom();
    const plugin = call.plugin;
    const read = [...sandboxCodeReads(), ...this.#readableOf(plugin), ...writeRoots];
    const warn = (m: string): void => this.logger.warn({ component: 'sandbox' }, m);
    const reader = reachableIdentity(this.#identity, [sandboxEntry(), plugin.dir], warn);
    const base = this.grants.defaultBase;
    for (const root of writeRoots) if (base !== undefined && root.startsWith(`${base}${path.sep}`)) prepareDefaultRoot(root, base, reader);
    // The granted roots must be reachable too (a data directory inside a folder only root may enter).
    const identity = reachableIdentity(reader, writeRoots, warn);
    const secrets = new Set<string>();
    let entry!: Entry;
    const process = new SandboxProcess({
      label: `${plugin.connectorType}`,
      execArgv: sandboxExecArgv({ read, write: writeRoots, network, memoryMb: this.settings.memoryMb, jit: this.settings.jit, calls: true }),
      dataLimitMb: sandboxDataLimitMb(this.settings.memoryMb),
      identity,
      threadPoolSize: this.settings.threadPoolSize,
      logger: this.logger.child({ component: 'sandbox', connectorType: plugin.connectorType }),
      logLevel: leastLoggedLevel(this.logger),
      scrub: (text) => scrubMessage(text, scrubListOf(secrets)),
      onSync: (p) => syncBelow(p, writeRoots),
      onLog: (id, level, obj, msg) => {
        const target = id === undefined ? undefined : this.#callLogs.get(`${key}:${id}`);
        if (target !== undefined) target(level, obj, msg);
        else {
          const list = scrubListOf(secrets);
          this.logger.child({ component: 'connector', connectorType: plugin.connectorType })[level](scrubValue(obj ?? {}, list) as object, msg === undefined ? undefined : scrubMessage(msg, list));
        }
      },
      onExit: (crash) => {
        if (this.#entries.get(key) === entry) this.#entries.delete(key);
        // A process of one call (alone) that ends names its call as the cause; the plugin's shared
        // sandboxes are not held back for it.
        if (process.draining || this.#stopped || crash.exitCode === 0 || key.includes('#alone')) return;
        const s = this.#state(plugin.connectorType);
        const now = performance.now();
        if (now - s.lastCrashAt > HEALTHY_AFTER_MS) s.backoffMs = 0;
        s.crashes += 1;
        s.lastCrashAt = now;
        s.backoffMs = s.backoffMs === 0 ? FIRST_BACKOFF_MS : Math.min(this.settings.restartMaxMs, s.backoffMs * 2);
        s.restartAt = now + s.backoffMs;
        this.logger.warn(
          { component: 'sandbox', connectorType: plugin.connectorType, pid: process.pid, exitCode: crash.exitCode, signal: crash.signal, restartInMs: s.backoffMs },
          `a sandbox of ${plugin.connectorType} ended: ${crash.reason}`,
        );
      },
    });
    const started = process.load([{ key: 0, connectorType: plugin.connectorType, entryPath: entryPathOf(plugin) }], false).then((outcomes) => {
      const outcome = outcomes.get(0);
      if (outcome === undefined || !outcome.ok) {
        process.kill();
        throw new SandboxCrash(null, null, `the plugin did not load in its sandbox: ${outcome === undefined ? 'no answer' : `${outcome.code} ${outcome.reason}`}`, true);
      }
    });
    started.catch(() => undefined);
    entry = { key, type: plugin.connectorType, process, started, writeRoots, network, secrets };
    if (!key.includes('#alone')) this.#entries.set(key, entry);
    return entry;
  }

  #readableOf(plugin: LoadedPlugin): string[] {
    let folders = this.#readable.get(plugin.dir);
    if (folders === undefined) {
      folders = readablePackageFolders(plugin.dir);
      this.#readable.set(plugin.dir, folders);
    }
    return folders;
  }

  #evictForRoom(): void {
    const live = [...this.#entries.values()].filter((e) => e.process.alive);
    if (live.length < this.settings.maxProcesses) return;
    const idle = live.filter((e) => e.process.inflight === 0).sort((a, b) => a.process.lastUsed - b.process.lastUsed);
    const victim = idle[0];
    if (victim === undefined) {
      this.logger.warn({ component: 'sandbox', live: live.length }, 'every sandbox process is busy: starting one more than ERPC_SANDBOX_MAX_PROCESSES');
      return;
    }
    this.#entries.delete(victim.key);
    victim.process.draining = true;
    void victim.process.stop(2_000);
  }

  #stopIdle(): void {
    const now = performance.now();
    for (const e of [...this.#entries.values()]) {
      if (e.process.inflight === 0 && now - e.process.lastUsed > this.settings.idleMs) {
        this.#entries.delete(e.key);
        e.process.draining = true;
        void e.process.stop(2_000);
      }
    }
  }

  #stopWhenIdle(entry: Entry): void {
    const check = (): void => {
      if (!entry.process.alive) return;
      if (entry.process.inflight === 0) void entry.process.stop(2_000);
      else setTimeout(check, 200).unref();
    };
    check();
  }
}

/** The entry file of a loaded plugin (absolute, inside its folder). */
function entryPathOf(plugin: LoadedPlugin): string {
  return plugin.entryPath ?? path.resolve(plugin.dir, plugin.manifest.entry);
}

function scrubListOf(secrets: Set<string>): string[] {
  return [...secrets].sort((a, b) => b.length - a.length);
}

/**
 * HostServices.files.sync for a sandbox: Node's permission model disables fsync there, so the
 * host flushes the file or folder, after checking (real paths) that it lies below a granted root.
 * It answers once the fsync is done; the descriptor is closed after that, off the answer's path
 * (ADR 0041: every thread-pool trip here is one more wait on the host's busy event loop).
 */
function syncBelow(p: string, roots: readonly string[]): Promise<void> {
  if (typeof p !== 'string' || !path.isAbsolute(p)) return Promise.reject(Object.assign(new Error('sync needs an absolute path'), { code: 'EINVAL' }));
  return new Promise<void>((resolve, reject) => {
    realpath.native(p, (err, real) => {
      if (err !== null) return reject(err);
      const allowed = roots.map(realOrLexical);
      if (!allowed.some((r) => real === r || real.startsWith(`${r}${path.sep}`))) {
        return reject(Object.assign(new Error(`${p} is outside the folders granted to this plugin`), { code: 'EACCES' }));
      }
      open(real, 'r', (openErr, fd) => {
        if (openErr !== null) return reject(openErr);
        fsync(fd, (syncErr) => {
          if (syncErr === null) resolve();
          else reject(syncErr);
          // A read-only descriptor after its fsync: nothing left for close to report.
          close(fd, () => undefined);
        });
      });
    });
  });
}

/** The least severe plugin log level `logger` writes (error when it writes none of them). */
export function leastLoggedLevel(logger: Logger): SandboxLogLevel {
  return LOG_LEVELS.find((level) => logger.isLevelEnabled(level)) ?? 'error';
}

/**
 * How a call's argument crosses (ADR 0048): a push document whose payload is known to hold no
 * raw JSON number goes inside the line, parsed once with it; any other argument as JSON text of
 * its own, parsed by the sandbox with exact numbers where needed (ADR 0027).
 */
export function callArgument(call: Pick<SandboxCall, 'op' | 'arg'>): { arg?: unknown; argText?: string } {
  if (call.arg === undefined) return {};
  if (call.op === 'push' && isPlainJson((call.arg as { payload?: unknown }).payload)) return { arg: call.arg };
  return { argText: JSON.stringify(call.arg) };
}
