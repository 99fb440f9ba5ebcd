import { chmodSync, chownSync, mkdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErpcError } from '../../errors/index.js';

/**
 * The JavaScript file a sandbox runs. Under a test runner core runs from its TypeScript sources;
 * the sandbox is always the built file (a plain `node` cannot run TypeScript): `pnpm test` builds first.
 */
export function sandboxEntry(): string {
  const here = fileURLToPath(import.meta.url);
  const dir = path.dirname(here);
  if (here.endsWith('.ts')) return path.resolve(dir, '../../../dist/plugins/sandbox/sandbox-main.js');
  return path.join(dir, 'sandbox-main.js');
}

/**
 * What a sandbox reads of erpc's own code: the folder of its entry (the entry and the protocol)
 * and the settings module's environment file, through which even a sandbox touches its
 * environment (it removes the thread pool's size once the pool has started, ADR 0041).
 */
export function sandboxCodeReads(): string[] {
  const dir = path.dirname(sandboxEntry());
  return [dir, path.resolve(dir, '../../settings/process-env.js')];
}

/**
 * What a plugin may read: its own folder and the real folders of every package it resolves,
 * transitively (a pnpm layout links each dependency from a store folder; both are listed). Walked
 * from each package's `dependencies` and `optionalDependencies` with Node's own resolution, so a
 * dependency the plugin does not declare is not readable: it fails to import, as it would when
 * published.
 */
export function readablePackageFolders(pluginDir: string): string[] {
  const seen = new Set<string>();
  const walk = (dir: string, depth: number): void => {
    let real: string;
    try {
      // realpath(3), one system call: fs.realpathSync lstats every component in JavaScript, and
      // this runs for every plugin before its check sandbox can start.
      real = realpathSync.native(dir);
    } catch {
      return;
    }
    if (seen.has(real) || depth > 64 || seen.size > 5_000) return;
    seen.add(real);
    let pkg: { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string>; peerDependencies?: Record<string, string> };
    try {
      pkg = JSON.parse(readFileSync(path.join(real, 'package.json'), 'utf8')) as typeof pkg;
    } catch {
      return;
    }
    const names = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})]);
    if (names.size === 0) return;
    const require = createRequire(path.join(real, 'package.json'));
    for (const name of names) {
      const found = packageFolder(require, name, real);
      if (found !== undefined) walk(found, depth + 1);
    }
  };
  walk(pluginDir, 0);
  return [...seen];
}

/** The folder of package `name` as seen from `from` (package.json lookup, as Node resolves it). */
function packageFolder(require: NodeJS.Require, name: string, from: string): string | undefined {
  try {
    return path.dirname(require.resolve(`${name}/package.json`));
  } catch {
    // A package whose exports map hides package.json: find its folder on the node_modules path.
    for (let dir = from; ; dir = path.dirname(dir)) {
      const candidate = path.join(dir, 'node_modules', name);
      try {
        return realpathSync(candidate);
      } catch {
        // keep walking up
      }
      if (path.dirname(dir) === dir) return undefined;
    }
  }
}

/** A resolved OS identity for the sandbox processes, or undefined to keep the host's. */
export interface SandboxIdentity {
  readonly uid: number;
  readonly gid: number;
  readonly name: string;
}

/**
 * Where the host runs as root, sandboxes run as an unprivileged user (`uid`/`gid`, names or
 * numbers; default `nobody`), so the OS refuses what Node's permission model might not. Elsewhere
 * the host's own user is kept (a non-root process cannot switch users).
 */
export function sandboxIdentity(uid: string | undefined, gid: string | undefined): SandboxIdentity | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  const users = readDb('/etc/passwd');
  const groups = readDb('/etc/group');
  const user = lookup(users, uid ?? 'nobody');
  if (user === undefined) throw new ErpcError('ERPC_ERR_SETTING_INVALID', { name: 'ERPC_SANDBOX_UID', reason: `no such user (${uid ?? 'nobody'}) in /etc/passwd` });
  const uidNumber = Number(user[2]);
  if (uidNumber === 0) throw new ErpcError('ERPC_ERR_SETTING_INVALID', { name: 'ERPC_SANDBOX_UID', reason: 'sandboxes must not run as root' });
  let gidNumber = Number(user[3]);
  if (gid !== undefined) {
    const group = lookup(groups, gid);
    if (group === undefined) throw new ErpcError('ERPC_ERR_SETTING_INVALID', { name: 'ERPC_SANDBOX_GID', reason: `no such group (${gid}) in /etc/group` });
    gidNumber = Number(group[2]);
  }
  return { uid: uidNumber, gid: gidNumber, name: String(user[0]) };
}

function readDb(file: string): string[][] {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('#'))
      .map((l) => l.split(':'));
  } catch {
    return [];
  }
}

function lookup(rows: string[][], nameOrId: string): string[] | undefined {
  return /^\d+$/.test(nameOrId) ? (rows.find((r) => r[2] === nameOrId) ?? [nameOrId, 'x', nameOrId, nameOrId]) : rows.find((r) => r[0] === nameOrId);
}

/**
 * The OS limit on a sandbox's data segment (MiB), from its heap cap: room for the heap, V8's own
 * reservations (about 600 MiB with every tier) and buffers, and no more (ADR 0039).
 */
export function sandboxDataLimitMb(memoryMb: number): number {
  return 2 * memoryMb + 1024;
}

/**
 * Node's options of a sandbox: the permission model with exactly these grants, and the heap cap.
 * `calls`: a sandbox that serves connector calls (not a start-up import check).
 */
export function sandboxExecArgv(options: { read: readonly string[]; write: readonly string[]; network: boolean; memoryMb: number; jit?: 'lite' | 'full'; calls?: boolean }): string[] {
  const args = ['--permission', `--max-old-space-size=${options.memoryMb}`, '--disable-warning=ExperimentalWarning'];
  // Memory per sandbox (ADR 0039): a small young generation and V8's size-over-speed heuristics
  // (full), or V8's lite mode: no optimising compilers, lazily allocated feedback (lite). A start-up
  // check sandbox lives for the imports only: V8's defaults, since --optimize-for-size costs its
  // boot 15-20 ms of CPU, on the path of every start (ADR 0052).
  if (options.jit === 'lite') args.push('--lite-mode');
  else if (options.calls === true) args.push('--max-semi-space-size=1', '--optimize-for-size');
  // A call sandbox's V8 works on its main thread only (ADR 0041): its background threads' memory
  // (about 5 MB) for no measured throughput or latency on DROPZONE. Lite mode gains nothing from it.
  if (options.calls === true && options.jit !== 'lite') args.push('--single-threaded');
  for (const p of new Set(options.read)) args.push(`--allow-fs-read=${p}`);
  for (const p of new Set(options.write)) args.push(`--allow-fs-write=${p}`);
  if (options.network) args.push('--allow-net');
  return args;
}

let warnedUnreachable = false;

/**
 * The identity to start a sandbox with: `identity`, unless that user cannot reach the files the
 * sandbox must read (the host's checkout or plugin folder sits in a folder only root may enter,
 * e.g. a `mktemp -d` directory). Then the sandbox runs as the host's user, still under Node's
 * permission model, and the host warns once, naming the folder to open up.
 */
export function reachableIdentity(identity: SandboxIdentity | undefined, paths: readonly string[], warn: (msg: string) => void): SandboxIdentity | undefined {
  if (identity === undefined) return undefined;
  // Folders already found enterable: the plugins of one folder share its whole prefix, so each
  // costs one stat (its own folder), not one per component of its path.
  const enterable = new Set<string>();
  for (const p of paths) {
    const blocked = firstBlocked(p, identity, enterable);
    if (blocked !== undefined) {
      if (!warnedUnreachable) {
        warnedUnreachable = true;
        warn(
          `the sandbox user ${identity.name} cannot enter ${blocked} (needed to read ${p}): sandboxes run as the host's user instead, still under Node's permission model. ` +
            `Give the folder o+x (chmod o+x ${blocked}) or install erpc and its plugins where ${identity.name} can read them (docs/security.md).`,
        );
      }
      return undefined;
    }
  }
  return identity;
}

/** The first folder on the way to `p` (or `p` itself) that `identity` may not enter or read. */
function firstBlocked(p: string, identity: SandboxIdentity, enterable: Set<string>): string | undefined {
  const parts = path.resolve(p).split(path.sep).filter((x) => x !== '');
  let current: string = path.sep;
  for (let i = 0; i <= parts.length; i++) {
    if (i < parts.length && enterable.has(current)) {
      current = path.join(current, parts[i]!);
      continue;
    }
    let st;
    try {
      st = statSync(current);
    } catch {
      return undefined; // not there (yet): nothing to decide
    }
    const last = i === parts.length;
    const need = st.isDirectory() ? (last ? 0o5 : 0o1) : 0o4;
    const bits = st.uid === identity.uid ? (st.mode >> 6) & 7 : st.gid === identity.gid ? (st.mode >> 3) & 7 : st.mode & 7;
    if ((bits & need) !== need) return current;
    if (last) return undefined;
    if (st.isDirectory()) enterable.add(current);
    current = path.join(current, parts[i]!);
  }
  return undefined;
}

/**
 * Makes a root the host grants by default (`<data dir>/drops/<org>`) usable by the sandbox user:
 * created if missing, owned by that user, its parents enterable (never listable) by others.
 */
export function prepareDefaultRoot(root: string, base: string, identity: SandboxIdentity | undefined): void {
  mkdirSync(root, { recursive: true, mode: 0o700 });
  if (identity === undefined) return;
  for (let dir = path.dirname(root); dir.length >= path.dirname(base).length && dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const st = statSync(dir);
    if ((st.mode & 0o001) === 0) chmodSync(dir, (st.mode & 0o7777) | 0o001);
    if (dir === path.dirname(base)) break;
  }
  chownSync(root, identity.uid, identity.gid);
}
