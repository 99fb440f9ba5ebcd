import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Command } from 'commander';
import { ErpcError } from '../../errors/index.js';
import { EXIT, action, type CliCommand } from '../command.js';
import { pluginsGroup } from './plugins-group.js';

interface Options {
  type: string;
  name?: string;
  sdk?: string;
  fromRegistry?: boolean;
}

const run = promisify(execFile);

/**
 * Packs this host's `@erpc/sdk` and `@erpc/conformance` with `pnpm pack` into a fresh folder: the
 * scaffolded plugin depends on the tarballs by `file:` (they are not published yet, and their
 * npm scope is unclaimed: installing them by name could fetch someone else's package).
 */
async function packHostPackages(): Promise<{ dir: string; sdk: string; conformance: string }> {
  const require = createRequire(import.meta.url);
  const dir = await mkdtemp(path.join(tmpdir(), 'erpc-vendor-'));
  const packed: string[] = [];
  for (const pkg of ['@erpc/sdk', '@erpc/conformance']) {
    const pkgDir = path.dirname(require.resolve(`${pkg}/package.json`));
    await run('pnpm', ['pack', '--pack-destination', dir], { cwd: pkgDir });
    const prefix = pkg.slice(1).replace('/', '-');
    const tgz = (await readdir(dir)).find((f) => f.startsWith(`${prefix}-`) && f.endsWith('.tgz') && !packed.includes(f));
    if (tgz === undefined) throw new ErpcError('ERPC_ERR_USAGE', { reason: `pnpm pack did not produce a tarball of ${pkg}` });
    packed.push(tgz);
  }
  return { dir, sdk: packed[0]!, conformance: packed[1]! };
}

/** `erpc plugins new <folder> --type ACME_THING_V1 [--name pkg] [--sdk spec]`: scaffolds a plugin (the kit's generator). */
export const pluginsNewCommand: CliCommand = {
  register(program: Command) {
    pluginsGroup(program)
      .command('new')
      .description('write a new connector plugin (TypeScript, config schema, conformance test, README) into a folder')
      .argument('<folder>', 'where to write it; must be new or empty')
      .requiredOption('--type <TYPE>', 'the connector type, UPPER_SNAKE, e.g. ACME_THING_V1')
      .option('--name <package>', 'the npm package name (default erpc-connector-<type>)')
      .option('--sdk <spec>', 'the @erpc/sdk dependency spec (e.g. file:/path/to/packages/sdk); default: this host\'s SDK, vendored')
      .option('--from-registry', 'depend on @erpc/sdk and @erpc/conformance from the npm registry (once published) instead of vendoring them')
      .addHelpText('after', '\nExamples:\n  erpc plugins new ../acme-erp --type ACME_ERP_V1\n  erpc plugins new ../acme-erp --type ACME_ERP_V1 --from-registry\n')
      .action(
        action(async (folder: string, opts: Options) => {
          const { ScaffoldError, scaffoldPlugin } = await import('@erpc/conformance');
          let vendor: Awaited<ReturnType<typeof packHostPackages>> | undefined;
          try {
            vendor = opts.fromRegistry === true || opts.sdk !== undefined ? undefined : await packHostPackages();
            const result = await scaffoldPlugin(folder, {
              type: opts.type,
              ...(opts.name ? { name: opts.name } : {}),
              ...(opts.sdk ? { sdkDependency: opts.sdk } : {}),
              ...(vendor !== undefined ? { sdkDependency: `file:./vendor/${vendor.sdk}`, conformanceDependency: `file:./vendor/${vendor.conformance}` } : {}),
            });
            if (vendor !== undefined) {
              await mkdir(path.join(result.dir, 'vendor'), { recursive: true });
              for (const f of [vendor.sdk, vendor.conformance]) {
                await rename(path.join(vendor.dir, f), path.join(result.dir, 'vendor', f));
                result.files.push(`vendor/${f}`);
              }
              // The kit depends on @erpc/sdk by name: point that at the vendored tarball too.
              const pkgPath = path.join(result.dir, 'package.json');
              const pkg = JSON.parse(await readFile(pkgPath, 'utf8')) as Record<string, unknown>;
              pkg.overrides = { '@erpc/sdk': '$@erpc/sdk' };
              await writeFile(pkgPath, `${JSON.stringify(pkg, null, 2)}\n`);
            }
            process.stdout.write(`created ${result.dir}:\n${result.files.map((f) => `  ${f}`).join('\n')}\nnext: cd ${result.dir} && npm install && npm run build && npm test\n`);
            if (vendor !== undefined) {
              process.stderr.write('@erpc/sdk and @erpc/conformance are vendored from this host (vendor/*.tgz): they are not on the npm registry yet. Use --from-registry once they are.\n');
            }
            return EXIT.OK;
          } catch (err) {
            if (err instanceof ScaffoldError) throw new ErpcError('ERPC_ERR_USAGE', { reason: err.message });
            throw err;
          } finally {
            if (vendor !== undefined) await rm(vendor.dir, { recursive: true, force: true });
          }
        }),
      );
  },
};
