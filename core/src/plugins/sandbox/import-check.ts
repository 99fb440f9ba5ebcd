import { availableParallelism } from 'node:os';
import path from 'node:path';
import type { Logger } from '../../logging/logger.js';
import { reachableIdentity, readablePackageFolders, sandboxCodeReads, sandboxDataLimitMb, sandboxEntry, sandboxExecArgv, type SandboxIdentity } from './permissions.js';
import type { SandboxPluginSpec } from './protocol.js';
import { SandboxCrash, SandboxProcess, type LoadOutcome } from './sandbox-process.js';

/** The outcome of checking one plugin's entry in a sandbox (codes as the in-process loader's, plus these two). */
export type CheckOutcome =
  | LoadOutcome
  | { readonly ok: false; readonly code: 'ERPC_ERR_PLUGIN_IMPORT_TIMEOUT'; readonly reason: string }
  | { readonly ok: false; readonly code: 'ERPC_ERR_PLUGIN_IMPORT_CRASHED'; readonly reason: string };

export interface ImportCheckOptions {
  /** Bound on one entry import (ms), enforced by killing the process. */
  readonly timeoutMs: number;
  readonly memoryMb: number;
  readonly identity: SandboxIdentity | undefined;
  readonly logger: Logger;
}

/**
 * Start-up never waits on plugin code: each entry is imported, its definition checked and its
 * port created in a short-lived sandbox, never in the host. One sandbox checks many plugins at
 * once; when it hangs past the import timeout or dies, it is killed and every plugin it held is
 * checked again in a sandbox of its own, which names the one that hung or died
 * (ERPC_ERR_PLUGIN_IMPORT_TIMEOUT / ERPC_ERR_PLUGIN_IMPORT_CRASHED) beyond doubt.
 * 200 plugins cost one process start, not 200.
 */
export async function checkEntriesInSandboxes(plugins: readonly SandboxPluginSpec[], options: ImportCheckOptions): Promise<Map<number, CheckOutcome>> {
  return prepareEntryCheck(plugins.map(pluginRootOf), options).run(plugins);
}

/**
 * Starts the check sandboxes now, for plugins in `roots` (their folders), so that they boot while
 * the host validates manifests and schemas; `run` then hands each the plugins that passed. With
 * many plugins the imports are split between two sandboxes (start-up has idle cores: the host
 * itself only waits), each reading only its own share of the plugin folders.
 */
export function prepareEntryCheck(roots: readonly string[], options: ImportCheckOptions): { run(plugins: readonly SandboxPluginSpec[]): Promise<Map<number, CheckOutcome>> } {
  const shares = splitRoots(roots, checkerCount(roots.length));
  let spawned: (SandboxProcess | undefined)[] = shares.map((share) => spawnChecker(share, options));
  return {
    async run(plugins) {
      const ready = spawned;
      spawned = [];
      const byShare = shares.map(() => [] as SandboxPluginSpec[]);
      const shareOf = new Map<string, number>();
      shares.forEach((share, i) => share.forEach((root) => shareOf.set(root, i)));
      // A plugin whose folder was not announced (none should be) gets a sandbox of its own share.
      const strays: SandboxPluginSpec[] = [];
      for (const p of plugins) {
        const i = shareOf.get(pluginRootOf(p));
        if (i === undefined) strays.push(p);
        else byShare[i]!.push(p);
      }
      const runs = byShare.map((share, i) => {
        if (share.length === 0) {
          void ready[i]?.stop(1_000);
          return Promise.resolve(new Map<number, CheckOutcome>());
        }
        return runChecks(share, options, ready[i]);
      });
      if (strays.length > 0) runs.push(runChecks(strays, options, undefined));
      const outcomes = new Map<number, CheckOutcome>();
      for (const part of await Promise.all(runs)) for (const [key, outcome] of part) outcomes.set(key, outcome);
      return outcomes;
    },
  };
}

/** Below this many plugins one sandbox imports them all: a second process start costs more than it saves. */
const SPLIT_FROM = 40;

function checkerCount(plugins: number): number {
  if (plugins === 0) return 0;
  return plugins >= SPLIT_FROM && availableParallelism() > 1 ? 2 : 1;
}

/** `roots` in `count` contiguous shares of (nearly) equal size. */
function splitRoots(roots: readonly string[], count: number): string[][] {
  const shares: string[][] = [];
  const size = Math.ceil(roots.length / Math.max(count, 1));
  for (let i = 0; i < count; i++) shares.push(roots.slice(i * size, (i + 1) * size));
  return shares.filter((s) => s.length > 0);
}

function spawnChecker(roots: readonly string[], options: ImportCheckOptions): SandboxProcess {
  const read = [...sandboxCodeReads(), ...new Set(roots.flatMap((r) => readablePackageFolders(r).concat(r)))];
  return new SandboxProcess({
    label: 'plugin check',
    execArgv: sandboxExecArgv({ read, write: [], network: false, memoryMb: options.memoryMb }),
    dataLimitMb: sandboxDataLimitMb(options.memoryMb),
    identity: reachableIdentity(options.identity, [sandboxEntry(), ...roots], (m) => options.logger.warn(m)),
    logger: options.logger,
    scrub: (text) => text,
    onSync: () => Promise.reject(Object.assign(new Error('no files are granted while a plugin is imported'), { code: 'EACCES' })),
    onLog: (_id, level, obj, msg) => options.logger[level]({ component: 'plugin-check', ...(typeof obj === 'object' && obj !== null ? { plugin: obj } : {}) }, msg ?? 'plugin log line at import'),
    onExit: () => undefined,
  });
}

async function runChecks(plugins: readonly SandboxPluginSpec[], options: ImportCheckOptions, spawned: SandboxProcess | undefined): Promise<Map<number, CheckOutcome>> {
  const shared = spawned ?? spawnChecker(plugins.map(pluginRootOf), options);
  const first = await runWithWatchdog(shared, plugins, options.timeoutMs);
  if (first.complete) {
    void shared.stop(1_000);
    return first.outcomes;
  }
  shared.kill();
  // A shared sandbox that hung or died cannot be believed about anything: the plugins in it can
  // write on its channel, so an answer may be forged and a culprit framed. Each plugin is checked
  // again in a sandbox of its own, where whatever happens is its own doing (ADR 0039).
  const outcomes = new Map<number, CheckOutcome>();
  const queue = [...plugins];
  const alone = async (): Promise<void> => {
    for (let p = queue.shift(); p !== undefined; p = queue.shift()) outcomes.set(p.key, await checkAlone(p, options));
  };
  await Promise.all(Array.from({ length: Math.min(ALONE_IN_PARALLEL, queue.length) }, alone));
  return outcomes;
}

/** Sandboxes checking one plugin each at a time, after a shared one failed. */
const ALONE_IN_PARALLEL = 2;

async function checkAlone(plugin: SandboxPluginSpec, options: ImportCheckOptions): Promise<CheckOutcome> {
  const process = spawnChecker([pluginRootOf(plugin)], options);
  const result = await runWithWatchdog(process, [plugin], options.timeoutMs);
  if (result.complete) {
    void process.stop(1_000);
    return result.outcomes.get(plugin.key) ?? { ok: false, code: 'ERPC_ERR_PLUGIN_IMPORT_CRASHED', reason: 'no answer' };
  }
  process.kill();
  return result.timedOut
    ? { ok: false, code: 'ERPC_ERR_PLUGIN_IMPORT_TIMEOUT', reason: `${options.timeoutMs}` }
    : { ok: false, code: 'ERPC_ERR_PLUGIN_IMPORT_CRASHED', reason: result.crash?.reason ?? 'the sandbox ended' };
}

/** The plugin folder of an entry: the nearest folder up from the entry that the spec names (its package root). */
function pluginRootOf(p: SandboxPluginSpec): string {
  return p.root ?? path.dirname(p.entryPath);
}

/**
 * Loads `batch` and waits until every plugin answered, the process ended, or `timeoutMs` passed
 * (`timedOut`). The caller kills the process when it is not complete.
 */
async function runWithWatchdog(
  process: SandboxProcess,
  batch: readonly SandboxPluginSpec[],
  timeoutMs: number,
): Promise<{ complete: boolean; timedOut: boolean; outcomes: Map<number, LoadOutcome>; crash?: SandboxCrash }> {
  const answered = new Map<number, LoadOutcome>();
  let watchdog: NodeJS.Timeout | undefined;
  const stalled = new Promise<'timeout'>((resolve) => {
    watchdog = setTimeout(() => resolve('timeout'), timeoutMs);
    watchdog.unref();
  });
  try {
    const loading = process.load(batch, false, answered).then(
      (outcomes) => ({ kind: 'done' as const, outcomes }),
      (err: unknown) => ({ kind: 'crash' as const, err }),
    );
    const first = await Promise.race([loading, stalled]);
    if (first === 'timeout') return { complete: false, timedOut: true, outcomes: answered };
    if (first.kind === 'done') return { complete: true, timedOut: false, outcomes: first.outcomes };
    const crash = first.err instanceof SandboxCrash ? first.err : new SandboxCrash(null, null, String(first.err), false);
    return { complete: false, timedOut: false, outcomes: answered, crash };
  } finally {
    clearTimeout(watchdog);
  }
}
