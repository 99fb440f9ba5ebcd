import type { Command } from 'commander';

/** The `erpc orgs` command group (created by whichever subcommand registers first). */
export function orgsGroup(program: Command): Command {
  return program.commands.find((c) => c.name() === 'orgs') ?? program.command('orgs').description('manage organisations (tenants)');
}

/** The `erpc api-keys` command group. (`erpc keys` is for encryption keys.) */
export function apiKeysGroup(program: Command): Command {
  return program.commands.find((c) => c.name() === 'api-keys') ?? program.command('api-keys').description('manage the API keys of organisations');
}
