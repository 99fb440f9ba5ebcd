import type { Command } from 'commander';
import { commandGroup } from '../command.js';

/**
 * The `erpc plugins` command group. Subcommand modules (`plugins list`, `plugins new`…) attach to
 * it through this function, whichever registers first creates it.
 */
export function pluginsGroup(program: Command): Command {
  return commandGroup(program, 'plugins', 'inspect and create connector plugins');
}
