#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { EXIT, exitCode } from './command.js';
import { commands } from './commands/index.js';

const program = new Command('erpc')
  .description('erpc: push business documents into each organisation\'s ERP through connector plugins')
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });
for (const command of commands) command.register(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // --help and --version end here with exit code 0; wrong usage with 2.
    process.exit(err.exitCode === 0 ? EXIT.OK : EXIT.USAGE);
  }
  throw err;
}
// Long-running commands (serve, worker) resolve only when they shut down. Exit explicitly so a
// plugin that left a timer behind (e.g. an import that never finished) cannot keep the CLI alive.
process.exit(exitCode());
