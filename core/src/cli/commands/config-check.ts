import type { Command } from 'commander';
import { describeSettings, loadHostConfig, unknownSettings, type DescribedSetting } from '../../settings/index.js';
import { DEFINITION_BY_NAME } from '../../settings/definitions.js';
import { unknownSettingMessage } from '../../settings/unknown-settings.js';
import { action, type CliCommand, commandGroup, EXIT } from '../command.js';

/** The `erpc config` command group (created by whichever subcommand registers first). */
export function configGroup(program: Command): Command {
  return commandGroup(program, 'config', "the host's settings (docs/configuration.md)");
}

/**
 * `erpc config check [--json]`: loads the settings as `serve` would (without opening the
 * database), prints each effective value and its source, secrets only as set/unset, and warns
 * about variables that look like settings but are none. An invalid setting exits 3.
 */
export const configCheckCommand: CliCommand = {
  register(program: Command) {
    configGroup(program)
      .command('check')
      .description('validate the settings and print their effective values (secrets as set/unset); exit 3 on an invalid one')
      .option('--json', 'print {"settings":[{"name","value","source","secret"}],"warnings":[{"setting","suggestion","message"}]}')
      .action(
        action(async (opts: { json?: boolean }) => {
          const settings = describeSettings(loadHostConfig());
          const warnings = unknownSettings().map(({ name, suggestion }) => ({ setting: name, suggestion, message: unknownSettingMessage(name, suggestion) }));
          if (opts.json) {
            process.stdout.write(`${JSON.stringify({ settings, warnings })}\n`);
            return EXIT.OK;
          }
          for (const w of warnings) process.stderr.write(`warning: ${w.message}\n`);
          process.stdout.write(table(settings));
          return EXIT.OK;
        }),
      );
  },
};

function shown(setting: DescribedSetting): string {
  if (setting.value === null) return `(${(DEFINITION_BY_NAME.get(setting.name)?.defaultText ?? 'unset').replaceAll('`', '')})`;
  if (Array.isArray(setting.value)) return setting.value.join(':');
  return String(setting.value);
}

function table(settings: DescribedSetting[]): string {
  const rows = [['NAME', 'VALUE', 'SOURCE'], ...settings.map((s) => [s.name, shown(s), s.source])];
  const widths = [0, 1].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map(([name, value, source]) => `${name!.padEnd(widths[0]!)}  ${value!.padEnd(widths[1]!)}  ${source}`).join('\n') + '\n';
}
