import type { Command } from 'commander';
import { commandGroup } from '../command.js';

/** The `erpc orgs` command group (created by whichever subcommand registers first). */
export function orgsGroup(program: Command): Command {
  return commandGroup(program, 'orgs', 'manage organisations (tenants)');
}

/** The `erpc api-keys` command group. (`erpc keys` is for encryption keys.) */
export function apiKeysGroup(program: Command): Command {
  return commandGroup(program, 'api-keys', 'manage the API keys of organisations');
}
