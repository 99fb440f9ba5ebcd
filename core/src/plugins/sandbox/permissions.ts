import { readFileSync, realpathSync } from 'node:fs';
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
      real = realpathSync(dir);
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
    const require = createRequire(path.join(real, 'package.json'));
    const names = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})]);
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

/** Node's options of a sandbox: the permission model with exactly these grants, and the heap cap. */
export function sandboxExecArgv(options: { read: readonly string[]; write: readonly string[]; network: boolean; memoryMb: number }): string[] {
  const args = ['--permission', `--max-old-space-size=${options.memoryMb}`, '--disable-warning=ExperimentalWarning'];
  for (const p of new Set(options.read)) args.push(`--allow-fs-read=${p}`);
  for (const p of new Set(options.write)) args.push(`--allow-fs-write=${p}`);
  if (options.network) args.push('--allow-net');
  return args;
}
