import type { Command } from 'commander';
import { ScaffoldError, scaffoldPlugin } from '@erpc/conformance';
import { ErpcError } from '../../errors/index.js';
import { EXIT, action, type CliCommand } from '../command.js';
import { pluginsGroup } from './plugins-group.js';

interface Options {
  type: string;
  name?: string;
  sdk?: string;
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
      .option('--sdk <spec>', 'the @erpc/sdk dependency spec (default ^<host SDK version>; e.g. file:/path/to/packages/sdk)')
      .action(
        action(async (folder: string, opts: Options) => {
          try {
            const result = await scaffoldPlugin(folder, {
              type: opts.type,
              ...(opts.name ? { name: opts.name } : {}),
              ...(opts.sdk ? { sdkDependency: opts.sdk } : {}),
            });
            process.stdout.write(`created ${result.dir}:\n${result.files.map((f) => `  ${f}`).join('\n')}\nnext: cd ${result.dir} && npm install && npm run build && npm test\n`);
            return EXIT.OK;
          } catch (err) {
            if (err instanceof ScaffoldError) throw new ErpcError('ERPC_ERR_USAGE', { reason: err.message });
            throw err;
          }
        }),
      );
  },
};
