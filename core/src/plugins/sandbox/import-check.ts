import path from 'node:path';
import type { Logger } from '../../logging/logger.js';
import { reachableIdentity, readablePackageFolders, sandboxEntry, sandboxExecArgv, type SandboxIdentity } from './permissions.js';
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
 * once; when it hangs past the import timeout or dies, it is killed and the plugins it had not
 * answered for are checked again one by one in a fresh sandbox, which names the one that hung or
 * died (ERPC_ERR_PLUGIN_IMPORT_TIMEOUT / ERPC_ERR_PLUGIN_IMPORT_CRASHED) and goes on without it.
 * 200 plugins cost one process start, not 200.
 */
export async function checkEntriesInSandboxes(plugins: readonly SandboxPluginSpec[], options: ImportCheckOptions): Promise<Map<number, CheckOutcome>> {
  return prepareEntryCheck(plugins.map(pluginRootOf), options).run(plugins);
}

/**
 * Starts the first check sandbox now, for plugins in `roots` (their folders), so that it boots
 * while the host validates manifests and schemas; `run` then hands it the plugins that passed.
 */
export function prepareEntryCheck(roots: readonly string[], options: ImportCheckOptions): { run(plugins: readonly SandboxPluginSpec[]): Promise<Map<number, CheckOutcome>> } {
  let first: SandboxProcess | undefined = roots.length === 0 ? undefined : spawnChecker(roots, options);
  return {
    async run(plugins) {
      const spawned = first;
      first = undefined;
      if (plugins.length === 0) {
        void spawned?.stop(1_000);
        return new Map();
      }
      return runChecks(plugins, options, spawned);
    },
  };
}

function spawnChecker(roots: readonly string[], options: ImportCheckOptions): SandboxProcess {
  const read = [path.dirname(sandboxEntry()), ...new Set(roots.flatMap((r) => readablePackageFolders(r).concat(r)))];
  return new SandboxProcess({
    label: 'plugin check',
    execArgv: sandboxExecArgv({ read, write: [], network: false, memoryMb: options.memoryMb }),
    identity: reachableIdentity(options.identity, [sandboxEntry(), ...roots], (m) => options.logger.warn(m)),
    logger: options.logger,
    scrub: (text) => text,
    onSync: () => Promise.reject(Object.assign(new Error('no files are granted while a plugin is imported'), { code: 'EACCES' })),
    onLog: (_id, level, obj, msg) => options.logger[level]({ component: 'plugin-check', ...(typeof obj === 'object' && obj !== null ? { plugin: obj } : {}) }, msg ?? 'plugin log line at import'),
    onExit: () => undefined,
  });
}

async function runChecks(plugins: readonly SandboxPluginSpec[], options: ImportCheckOptions, spawned: SandboxProcess | undefined): Promise<Map<number, CheckOutcome>> {
  const outcomes = new Map<number, CheckOutcome>();
  let remaining = [...plugins];
  let sequential = false;
  let ready = spawned;
  while (remaining.length > 0) {
    const batch = remaining;
    const process = ready ?? spawnChecker(batch.map(pluginRootOf), options);
    ready = undefined;
    let timedOut = false;
    const result = await runWithWatchdog(process, batch, sequential, options.timeoutMs, () => (timedOut = true));
    for (const [key, outcome] of result.outcomes) outcomes.set(key, outcome);
    if (result.complete) {
      void process.stop(1_000);
      break;
    }
    process.kill();
    if (sequential) {
      const culprit = result.importing;
      if (culprit !== undefined && !outcomes.has(culprit)) {
        outcomes.set(
          culprit,
          timedOut
            ? { ok: false, code: 'ERPC_ERR_PLUGIN_IMPORT_TIMEOUT', reason: `${options.timeoutMs}` }
            : { ok: false, code: 'ERPC_ERR_PLUGIN_IMPORT_CRASHED', reason: result.crash?.reason ?? 'the sandbox ended' },
        );
      }
    }
    // The next round: one by one, without those that answered (and the culprit).
    const wasSequential = sequential;
    sequential = true;
    const before = remaining.length;
    remaining = batch.filter((p) => !outcomes.has(p.key));
    if (remaining.length === before && wasSequential && result.importing === undefined) {
      // Nothing answered and no culprit could be named (the sandbox did not even start): fail them all.
      for (const p of remaining) outcomes.set(p.key, { ok: false, code: 'ERPC_ERR_PLUGIN_IMPORT_CRASHED', reason: result.crash?.reason ?? 'the sandbox did not start' });
      remaining = [];
    }
  }
  return outcomes;
}

/** The plugin folder of an entry: the nearest folder up from the entry that the spec names (its package root). */
function pluginRootOf(p: SandboxPluginSpec): string {
  return p.root ?? path.dirname(p.entryPath);
}

/**
 * Loads `batch` and waits until every plugin answered, the process ended, or no progress was made
 * for `timeoutMs` (parallel: the whole batch; sequential: the plugin being imported).
 */
async function runWithWatchdog(
  process: SandboxProcess,
  batch: readonly SandboxPluginSpec[],
  sequential: boolean,
  timeoutMs: number,
  onTimeout: () => void,
): Promise<{ complete: boolean; outcomes: Map<number, LoadOutcome>; importing: number | undefined; crash?: SandboxCrash }> {
  const answered = new Map<number, LoadOutcome>();
  let lastImporting: number | undefined;
  let since = performance.now();
  let watchdog: NodeJS.Timeout | undefined;
  const stalled = new Promise<'timeout'>((resolve) => {
    watchdog = setInterval(() => {
      const now = process.importing();
      if (now !== lastImporting) {
        lastImporting = now;
        since = performance.now();
      }
      if (performance.now() - since > timeoutMs) resolve('timeout');
    }, Math.min(50, timeoutMs));
    watchdog.unref();
  });
  try {
    const loading = process.load(batch, sequential, answered).then(
      (outcomes) => ({ kind: 'done' as const, outcomes }),
      (err: unknown) => ({ kind: 'crash' as const, err }),
    );
    const first = await Promise.race([loading, stalled]);
    if (first === 'timeout') {
      onTimeout();
      return { complete: false, outcomes: answered, importing: process.importing() };
    }
    if (first.kind === 'done') return { complete: true, outcomes: first.outcomes, importing: undefined };
    const crash = first.err instanceof SandboxCrash ? first.err : new SandboxCrash(null, null, String(first.err), false);
    return { complete: false, outcomes: answered, importing: process.importing(), crash };
  } finally {
    clearInterval(watchdog);
  }
}
