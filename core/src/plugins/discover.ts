import { readFileSync, readdirSync, statSync, type Dirent } from 'node:fs';
import path from 'node:path';
import fg from 'fast-glob';
import { ErpcError } from '../errors/index.js';

/**
 * A package directory found in a plugin folder: a plugin candidate until its package.json is read
 * (a directory without one is no package, and is skipped).
 */
export interface PluginCandidate {
  /** The package directory (absolute, as found; may be a symlink, e.g. in node_modules). */
  readonly dir: string;
  readonly packageJsonPath: string;
  /** The plugin folder (absolute) it was found in. */
  readonly folder: string;
  /** `dir` relative to `folder`, with `/` separators: `name` or `@scope/name`. */
  readonly relative: string;
  /**
   * True when the directory listings showed every component of `relative` as a directory, not a
   * symlink: `folder`'s real path joined with `relative` is then the package's real path.
   */
  readonly plainDirs: boolean;
}

export interface DiscoveryResult {
  readonly candidates: readonly PluginCandidate[];
  /** Plugin folders that could not be read. */
  readonly unreadable: readonly { readonly dir: string; readonly error: ErpcError }[];
}

// The packages `<dir>/*/package.json` and `<dir>/@*/*/package.json` (a node_modules folder works as
// a plugin folder), found as their directories: one readdir of the folder (and of each scope)
// instead of one per package; whether package.json exists is learnt by reading it, done anyway.
// Two one-level globs (`*` in the folder, then `*` in each `@*` scope found there) rather than
// one glob of both patterns: fast-glob's first run is mostly compiling its patterns, and one
// pattern of depth one compiles in two thirds of the time.

/**
 * Finds package directories in each folder. Order is deterministic: the folders in the order given
 * (earlier folders win duplicate connector types), then package paths sorted within a folder.
 */
export function discoverPlugins(dirs: readonly string[]): DiscoveryResult {
  const results = dirs.map((dir) => discoverIn(path.resolve(dir)));
  const seen = new Set<string>();
  const candidates: PluginCandidate[] = [];
  const unreadable: { dir: string; error: ErpcError }[] = [];
  for (const r of results) {
    if ('error' in r) {
      unreadable.push(r);
      continue;
    }
    for (const c of r.candidates) {
      // The same folder given twice is searched once.
      if (seen.has(c.dir)) continue;
      seen.add(c.dir);
      candidates.push(c);
    }
  }
  return { candidates, unreadable };
}

// Synchronous, like the manifest checks that follow: a start-up step with nothing to overlap, where
// fast-glob's async walk costs more (thread-pool round trips) than the directory reads themselves.
function discoverIn(dir: string): { candidates: PluginCandidate[] } | { dir: string; error: ErpcError } {
  try {
    const s = statSync(dir);
    if (!s.isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
    // `--plugins-dir ../my-plugin`: the folder is a plugin itself (its package.json has a manifest).
    if (isPluginPackage(dir)) {
      return { candidates: [{ dir, packageJsonPath: path.join(dir, 'package.json'), folder: path.dirname(dir), relative: path.basename(dir), plainDirs: false }] };
    }
    // fast-glob learns each entry's type from readdir; what it saw is kept, so that a package
    // directory known to be a plain directory needs no lstat later.
    const plain = new Set<string>();
    const readdirSpy = ((p: string, opts?: { withFileTypes?: boolean }) => {
      const entries = readdirSync(p, opts as { withFileTypes: true }) as Dirent[] | string[];
      if (opts?.withFileTypes === true) {
        for (const d of entries as Dirent[]) if (d.isDirectory()) plain.add(path.join(p, d.name));
      }
      return entries;
    }) as unknown as typeof readdirSync;
    const options = {
      onlyDirectories: true,
      followSymbolicLinks: true,
      suppressErrors: false,
      dot: false,
      deep: 1,
      fs: { readdirSync: readdirSpy },
    };
    const matches = fg.sync('*', { ...options, cwd: dir });
    for (const scope of matches.filter((m) => m.startsWith('@'))) {
      for (const name of fg.sync('*', { ...options, cwd: path.join(dir, scope) })) matches.push(`${scope}/${name}`);
    }
    // Sorted as the package.json paths would be ("a-b/package.json" before "a/package.json"):
    // this order decides which of two plugins of one type is kept.
    const relatives = matches.sort((a, b) => (`${a}/package.json` < `${b}/package.json` ? -1 : 1));
    return {
      candidates: relatives.map((relative) => {
        const pkgDir = path.join(dir, relative);
        const scope = relative.includes('/') ? path.dirname(pkgDir) : undefined;
        const plainDirs = plain.has(pkgDir) && (scope === undefined || plain.has(scope));
        return { dir: pkgDir, packageJsonPath: path.join(pkgDir, 'package.json'), folder: dir, relative, plainDirs };
      }),
    };
  } catch (cause) {
    const code = (cause as { code?: unknown }).code;
    const reason =
      code === 'ENOENT' ? 'it does not exist' : code === 'ENOTDIR' ? 'it is not a directory' : code === 'EACCES' ? 'permission denied' : String((cause as Error).message ?? cause);
    return { dir, error: new ErpcError('ERPC_ERR_PLUGIN_DIR_UNREADABLE', { dir, reason }, { cause }) };
  }
}

/** Whether `dir` holds a package.json with an `erpc` manifest field (a plugin, not a folder of plugins). */
function isPluginPackage(dir: string): boolean {
  try {
    const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { erpc?: unknown };
    return typeof pkg === 'object' && pkg !== null && pkg.erpc !== undefined;
  } catch {
    return false;
  }
}
