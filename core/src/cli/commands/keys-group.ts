import type { Command } from 'commander';
import { commandGroup } from '../command.js';

/** The `erpc keys` command group (encryption keys; API keys are `erpc api-keys`). Whichever subcommand registers first creates it. */
export function keysGroup(program: Command): Command {
  return commandGroup(program, 'keys', 'encryption keys: generate a key, show which keys the stored configs use, rotate them');
}
