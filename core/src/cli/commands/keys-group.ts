import type { Command } from 'commander';

/** The `erpc keys` command group (encryption keys; API keys are `erpc api-keys`). Whichever subcommand registers first creates it. */
export function keysGroup(program: Command): Command {
  const existing = program.commands.find((c) => c.name() === 'keys');
  if (existing !== undefined) return existing;
  return program.command('keys').description('encryption keys: generate a key, show which keys the stored configs use, rotate them');
}
