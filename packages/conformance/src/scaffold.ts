import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { SDK_VERSION } from '@erpc/sdk';

/** What {@link scaffoldPlugin} needs. */
export interface ScaffoldOptions {
  /** The connector type, `^[A-Z][A-Z0-9_]*$`, e.g. `ACME_THING_V1`. */
  type: string;
  /** The npm package name. Default: `erpc-connector-<type in kebab case>`. */
  name?: string;
  /** Shown in host listings. Default: derived from the type. */
  displayName?: string;
  /**
   * The `@erpc/sdk` dependency spec. Default `^<SDK_VERSION>` (from the registry). Inside a
   * checkout where the SDK is not published, pass `file:/abs/path/packages/sdk` or `link:…`.
   */
  sdkDependency?: string;
  /** The `@erpc/conformance` devDependency spec. Default `^<this kit's version>`. */
  conformanceDependency?: string;
}

/** What {@link scaffoldPlugin} wrote. */
export interface ScaffoldResult {
  /** The plugin folder (absolute). */
  dir: string;
  /** The files written, relative to `dir`. */
  files: string[];
}

/** Why scaffolding refused to run: a bad type or name, or a folder that is not empty. */
export class ScaffoldError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScaffoldError';
  }
}

const TEMPLATE_DIR = fileURLToPath(new URL('../templates/plugin/', import.meta.url));
const KIT_VERSION = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

async function templateFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const rel = path.join(prefix, entry.name);
    if (entry.isDirectory()) out.push(...(await templateFiles(path.join(dir, entry.name), rel)));
    else if (entry.name.endsWith('.tmpl')) out.push(rel);
  }
  return out.sort();
}

/**
 * Writes a complete connector plugin into `dir` (created if missing, refused if not empty):
 * package.json with the `erpc` manifest and a tsc build, config.schema.json with a `writeOnly`
 * secret, TypeScript source against `@erpc/sdk`, a conformance test wired to the vitest adapter
 * with a fake ERP to run against, a README and a tsconfig. The result passes the kit as generated.
 *
 * @throws {@link ScaffoldError} for an invalid type or name, or a non-empty folder.
 */
export async function scaffoldPlugin(dir: string, options: ScaffoldOptions): Promise<ScaffoldResult> {
  const type = options.type;
  if (!/^[A-Z][A-Z0-9_]*$/.test(type) || type.length > 64) {
    throw new ScaffoldError(`--type must be UPPER_SNAKE like ACME_THING_V1 (^[A-Z][A-Z0-9_]*$, at most 64 characters), got ${JSON.stringify(type)}`);
  }
  const kebab = type.toLowerCase().replace(/_/g, '-');
  const packageName = options.name ?? `erpc-connector-${kebab}`;
  if (!/^(@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/.test(packageName) || packageName.length > 214) {
    throw new ScaffoldError(`--name must be a valid npm package name, got ${JSON.stringify(packageName)}`);
  }
  const target = path.resolve(dir);
  const existing = await readdir(target).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw new ScaffoldError(`cannot use ${target}: ${err.code ?? err.message}`);
  });
  if (existing.length > 0) throw new ScaffoldError(`${target} is not empty; scaffold into a new or empty folder`);

  const displayName =
    options.displayName ??
    type
      .split('_')
      .filter((w) => !/^V\d+$/.test(w))
      .map((w) => w.charAt(0) + w.slice(1).toLowerCase())
      .join(' ');
  const values: Record<string, string> = {
    connectorType: type,
    codePrefix: type.replace(/_V\d+$/, ''),
    packageName,
    displayName: displayName || type,
    sdkRange: `^${SDK_VERSION.split('.')[0]}.0.0`,
    sdkDependency: options.sdkDependency ?? `^${SDK_VERSION}`,
    conformanceDependency: options.conformanceDependency ?? `^${KIT_VERSION}`,
  };
  const files: string[] = [];
  for (const rel of await templateFiles(TEMPLATE_DIR)) {
    const text = (await readFile(path.join(TEMPLATE_DIR, rel), 'utf8')).replace(/\{\{(\w+)\}\}/g, (whole, key: string) => {
      const v = values[key];
      if (v === undefined) return whole;
      // Values land inside JSON strings and TS string literals: keep them valid there.
      return JSON.stringify(v).slice(1, -1);
    });
    let out = rel.slice(0, -'.tmpl'.length);
    // npm drops files named .gitignore from packages, so the template cannot be called that.
    if (path.basename(out) === 'gitignore') out = path.join(path.dirname(out), '.gitignore');
    await mkdir(path.join(target, path.dirname(out)), { recursive: true });
    await writeFile(path.join(target, out), text);
    files.push(out);
  }
  return { dir: target, files };
}
