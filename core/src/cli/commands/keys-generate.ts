import type { Command } from 'commander';
import { generateKey, keyIdOf } from '../../crypto/index.js';
import { EXIT, action, type CliCommand } from '../command.js';
import { keysGroup } from './keys-group.js';

/** `erpc keys generate`: a fresh key (64 hex) on stdout, its key id as a hint on stderr. */
export const keysGenerateCommand: CliCommand = {
  register(program: Command) {
    keysGroup(program)
      .command('generate')
      .description('print a fresh random encryption key (64 hex characters) for ENCRYPTION_MASTER_KEY')
      .action(
        action(async () => {
          const key = generateKey();
          // stdout carries only the key, so `KEY=$(pnpm erpc keys generate)` works.
          process.stdout.write(`${key}\n`);
          process.stderr.write(
            `key id ${keyIdOf(key)}. Deploy it as ENCRYPTION_MASTER_KEY with the current key in ENCRYPTION_PREVIOUS_KEYS, then run \`pnpm erpc keys rotate\`.\n`,
          );
          return EXIT.OK;
        }),
      );
  },
};
