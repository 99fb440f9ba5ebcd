import { stat } from 'node:fs/promises';
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
}

export interface DiscoveryResult {
  readonly candidates: readonly PluginCandidate[];
  /** Plugin folders that could not be read. */
  readonly unreadable: readonly { readonly dir: string; readonly error: ErpcError }[];
}

// The packages `<dir>/*/package.json` and `<dir>/@*/*/package.json` (a node_modules folder works as
// a plugin folder), found as their directories: one readdir of the folder (and of each scope)
// instead of one per package; whether package.json exists is learnt by reading it, done anyway.
const PATTERNS = ['*', '@*/*'];

/**
 * Finds package directories in each folder. Order is deterministic: the folders in the order given
 * (earlier folders win duplicate connector types), then package paths sorted within a folder.
 */
export async function discoverPlugins(dirs: readonly string[]): Promise<DiscoveryResult> {
  const results = await Promise.all(dirs.map((dir) => discoverIn(path.resolve(dir))));
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

async function discoverIn(dir: string): Promise<{ candidates: PluginCandidate[] } | { dir: string; error: ErpcError }> {
  try {
    const s = await stat(dir);
    if (!s.isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
    const matches = await fg(PATTERNS, {
      cwd: dir,
      onlyDirectories: true,
      followSymbolicLinks: true,
      suppressErrors: false,
      dot: false,
    });
    // Sorted as the package.json paths would be ("a-b/package.json" before "a/package.json"):
    // this order decides which of two plugins of one type is kept.
    const packageJsons = matches.map((m) => `${m}/package.json`).sort();
    return {
      candidates: packageJsons.map((m) => {
        const packageJsonPath = path.join(dir, m);
        return { dir: path.dirname(packageJsonPath), packageJsonPath, folder: dir };
      }),
    };
  } catch (cause) {
    const code = (cause as { code?: unknown }).code;
    const reason =
      code === 'ENOENT' ? 'it does not exist' : code === 'ENOTDIR' ? 'it is not a directory' : code === 'EACCES' ? 'permission denied' : String((cause as Error).message ?? cause);
    return { dir, error: new ErpcError('ERPC_ERR_PLUGIN_DIR_UNREADABLE', { dir, reason }, { cause }) };
  }
}
