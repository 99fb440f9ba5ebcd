import type { Command } from 'commander';
import { EXIT, action, type CliCommand } from '../command.js';
import { commandSettings, runAdmin } from '../host.js';
import { apiKeysGroup } from './orgs-group.js';

/** `erpc api-keys create --org ID [--json]` */
export const apiKeysCreateCommand: CliCommand = {
  register(program: Command) {
    apiKeysGroup(program)
      .command('create')
      .description('add an API key to an organisation (the key is shown once)')
      .requiredOption('--org <id>', 'the organisation id (`erpc orgs list`)')
      .option('--json', 'print {"id","apiKey"}')
      .action(
        action(async (opts: { org: string; json?: boolean }) =>
          {
            const key = await runAdmin(commandSettings(), 'apiKeys.create', { orgId: opts.org }, (host) => host.services.apiKeys.create(opts.org));
            if (opts.json) process.stdout.write(`${JSON.stringify(key)}\n`);
            else process.stdout.write(`API key ${key.id} (shown only now; store it safely):\n\n  ${key.apiKey}\n`);
            return EXIT.OK;
          },
        ),
      );
  },
};

/** `erpc api-keys revoke KEY_ID` */
export const apiKeysRevokeCommand: CliCommand = {
  register(program: Command) {
    apiKeysGroup(program)
      .command('revoke')
      .argument('<keyId>', 'the key id (the part after "erpc_", before the next "_")')
      .description('revoke an API key; it stops working at once')
      .action(
        action(async (keyId: string) =>
          {
            await runAdmin(commandSettings(), 'apiKeys.revoke', { keyId }, (host) => host.services.apiKeys.revoke(keyId));
            process.stdout.write(`Revoked API key ${keyId}.\n`);
            return EXIT.OK;
          },
        ),
      );
  },
};

/** `erpc api-keys list --org ID [--json]` (ids and dates, never a secret) */
export const apiKeysListCommand: CliCommand = {
  register(program: Command) {
    apiKeysGroup(program)
      .command('list')
      .description('list the API keys of an organisation (never the secrets)')
      .requiredOption('--org <id>', 'the organisation id')
      .option('--json', 'print {"items":[{"id","orgId","createdAt","revokedAt"}]}')
      .action(
        action(async (opts: { org: string; json?: boolean }) =>
          {
            const items = await runAdmin(commandSettings(), 'apiKeys.list', { orgId: opts.org }, (host) => host.services.apiKeys.list(opts.org));
            if (opts.json) process.stdout.write(`${JSON.stringify({ items })}\n`);
            else if (items.length === 0) process.stdout.write('No API keys.\n');
            else process.stdout.write(`${items.map((k) => `${k.id}  created ${k.createdAt}  ${k.revokedAt === null ? 'active' : `revoked ${k.revokedAt}`}`).join('\n')}\n`);
            return EXIT.OK;
          },
        ),
      );
  },
};
