import type { Command } from 'commander';
import { EXIT, action, type CliCommand } from '../command.js';
import { commandSettings, runAdmin } from '../host.js';
import { orgsGroup } from './orgs-group.js';

/** `erpc orgs create NAME [--json]`: creates an organisation and prints its first API key (the only time it is shown). */
export const orgsCreateCommand: CliCommand = {
  register(program: Command) {
    orgsGroup(program)
      .command('create')
      .argument('<name>', 'the organisation\'s name')
      .description('create an organisation and its first API key (shown once)')
      .option('--json', 'print {"org":{"id","name"},"apiKey"}')
      .action(
        action(async (name: string, opts: { json?: boolean }) =>
          {
            const result = await runAdmin(commandSettings(), 'orgs.create', { name }, (host) => host.services.organizations.create(name));
            if (opts.json) process.stdout.write(`${JSON.stringify(result)}\n`);
            else {
              process.stdout.write(
                `Created organisation ${result.org.name} (${result.org.id}).\n` +
                  `API key (shown only now; store it safely):\n\n  ${result.apiKey}\n\n` +
                  `Use it as: curl -H "Authorization: Bearer ${result.apiKey}" http://127.0.0.1:3000/v1/connections\n`,
              );
            }
            return EXIT.OK;
          },
        ),
      );
  },
};
