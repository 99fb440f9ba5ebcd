import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
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
// A plain readdir finds what fast-glob's `*` with onlyDirectories and followSymbolicLinks found
// (names not starting with a dot; a link counts when it leads to a directory), without compiling
// a pattern first (ADR 0040).

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
// an async walk costs more (thread-pool round trips) than the directory reads themselves.
function discoverIn(dir: string): { candidates: PluginCandidate[] } | { dir: string; error: ErpcError } {
  try {
    const s = statSync(dir);
    if (!s.isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
    // `--plugins-dir ../my-plugin`: the folder is a plugin itself (its package.json has a manifest).
    if (isPluginPackage(dir)) {
      return { candidates: [{ dir, packageJsonPath: path.join(dir, 'package.json'), folder: path.dirname(dir), relative: path.basename(dir), plainDirs: false }] };
    }
    const found = packageDirs(dir);
    for (const scope of found.filter((m) => m.name.startsWith('@'))) {
      for (const inScope of packageDirs(path.join(dir, scope.name))) {
        found.push({ name: `${scope.name}/${inScope.name}`, plain: scope.plain && inScope.plain });
      }
    }
    // Sorted as the package.json paths would be ("a-b/package.json" before "a/package.json"):
    // this order decides which of two plugins of one type is kept.
    const sorted = found.map((f) => ({ ...f, key: `${f.name}/package.json` })).sort((a, b) => (a.key < b.key ? -1 : 1));
    return {
      candidates: sorted.map(({ name: relative, plain: plainDirs }) => {
        const pkgDir = path.join(dir, relative);
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

/**
 * The directories in `dir` whose names do not start with a dot, links to directories included;
 * `plain`: readdir showed a directory, not a link. A link that leads nowhere (or to a file) is
 * skipped; a folder that cannot be read throws.
 */
function packageDirs(dir: string): { name: string; plain: boolean }[] {
  const dirs: { name: string; plain: boolean }[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    if (entry.isDirectory()) dirs.push({ name: entry.name, plain: true });
    else if (entry.isSymbolicLink() && isDirectory(path.join(dir, entry.name))) dirs.push({ name: entry.name, plain: false });
  }
  return dirs;
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Whether `dir` holds a package.json with an `erpc` manifest field (a plugin, not a folder of plugins). */
function isPluginPackage(dir: string): boolean {
  const file = path.join(dir, 'package.json');
  // Asked first without throwing: a folder of plugins has no package.json, and the first fs error
  // of a process costs about a millisecond (Node builds its error map).
  if (statSync(file, { throwIfNoEntry: false }) === undefined) return false;
  try {
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { erpc?: unknown };
    return typeof pkg === 'object' && pkg !== null && pkg.erpc !== undefined;
  } catch {
    return false;
  }
}
