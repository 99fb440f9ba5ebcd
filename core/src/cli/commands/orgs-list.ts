import type { Command } from 'commander';
import { EXIT, action, type CliCommand } from '../command.js';
import { commandSettings, runAdmin } from '../host.js';
import { orgsGroup } from './orgs-group.js';

/** `erpc orgs list [--json]` */
export const orgsListCommand: CliCommand = {
  register(program: Command) {
    orgsGroup(program)
      .command('list')
      .description('list the organisations')
      .option('--json', 'print {"items":[{"id","name","createdAt"}]}')
      .action(
        action(async (opts: { json?: boolean }) =>
          {
            const items = await runAdmin(commandSettings(), 'orgs.list', {}, (host) => host.services.organizations.list());
            if (opts.json) process.stdout.write(`${JSON.stringify({ items })}\n`);
            else if (items.length === 0) process.stdout.write('No organisations yet. Create one with: pnpm erpc orgs create NAME\n');
            else process.stdout.write(`${items.map((o) => `${o.id}  ${o.createdAt}  ${o.name}`).join('\n')}\n`);
            return EXIT.OK;
          },
        ),
      );
  },
};
