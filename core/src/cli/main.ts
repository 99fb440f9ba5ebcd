#!/usr/bin/env node
import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import { EXIT, exitCode } from './command.js';
import { commands } from './commands/index.js';

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

const program = new Command('erpc')
  .description('erpc: push business documents into each organisation\'s ERP through connector plugins')
  .version(version, '-V, --version', 'print the erpc version')
  .addHelpText(
    'after',
    `
Examples:
  erpc serve --port 3000                 run the API (and a worker) on the embedded database
  erpc orgs create Acme --json           create an organisation and print its first API key
  erpc plugins new ../my-erp --type MY_ERP_V1
  erpc workers list --json               the workers sharing this database, live or stale

Exit codes: 0 ok, 1 the command found failures, 2 wrong usage, 3 could not run (configuration,
database, keys). Under --json an error is one JSON document on stdout. docs/cli.md lists every command.`,
  )
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });
for (const command of commands) command.register(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError && err.exitCode !== 0 && process.argv.includes('--json')) {
    // Wrong usage under --json: one JSON document on stdout too (commander also wrote its line on stderr).
    const message = err.message.replace(/^error: /, '');
    process.stdout.write(`${JSON.stringify({ error: { code: 'ERPC_ERR_USAGE', message } })}\n`);
  }
  if (err instanceof CommanderError) {
    // --help and --version end here with exit code 0; wrong usage with 2.
    process.exit(err.exitCode === 0 ? EXIT.OK : EXIT.USAGE);
  }
  throw err;
}
// Long-running commands (serve, worker) resolve only when they shut down. Exit explicitly so a
// plugin that left a timer behind (e.g. an import that never finished) cannot keep the CLI alive.
process.exit(exitCode());
