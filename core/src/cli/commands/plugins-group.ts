import type { Command } from 'commander';

/**
 * The `erpc plugins` command group. Subcommand modules (`plugins list`, `plugins new`…) attach to
 * it through this function, whichever registers first creates it.
 */
export function pluginsGroup(program: Command): Command {
  const existing = program.commands.find((c) => c.name() === 'plugins');
  if (existing !== undefined) return existing;
  return program.command('plugins').description('inspect and create connector plugins');
}
