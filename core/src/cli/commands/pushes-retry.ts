import type { Command } from 'commander';
import type { BulkRetryFilter } from '../../push/push-service.js';
import { EXIT, action, type CliCommand } from '../command.js';
import { commandSettings, withHost } from '../host.js';
import { pushesGroup } from './operator-lists.js';

/**
 * `erpc pushes retry --org ORG [--code C] [--connection ID] [--document-type T] [--dead-after ISO]
 * [--dead-before ISO] [--dry-run] [--json]`: puts every matching dead letter of the organisation
 * back to PENDING (PushService.retryDead, the same as POST /v1/pushes/retry). Idempotent.
 */
export const pushesRetryCommand: CliCommand = {
  register(program: Command) {
    pushesGroup(program)
      .command('retry')
      .description('put every DEAD push of an organisation matching the filter back to PENDING, in batches')
      .requiredOption('--org <id>', 'the organisation')
      .option('--code <code>', 'only dead letters whose last error has this code (e.g. DROPZONE_DISK_FULL)')
      .option('--connection <id>', 'only those of this connection')
      .option('--document-type <type>', 'only documents of this type')
      .option('--dead-after <iso>', 'only those that became dead at or after this time')
      .option('--dead-before <iso>', 'only those that became dead before this time')
      .option('--dry-run', 'only count the matching dead letters')
      .option('--json', 'print {requeued, matched, dryRun} as JSON')
      .action(
        action(async (opts: { org: string; code?: string; connection?: string; documentType?: string; deadAfter?: string; deadBefore?: string; dryRun?: boolean; json?: boolean }) => {
          const filter: BulkRetryFilter = {
            ...(opts.code !== undefined ? { code: opts.code } : {}),
            ...(opts.connection !== undefined ? { connectionId: opts.connection } : {}),
            ...(opts.documentType !== undefined ? { documentType: opts.documentType } : {}),
            ...(opts.deadAfter !== undefined ? { deadAfter: opts.deadAfter } : {}),
            ...(opts.deadBefore !== undefined ? { deadBefore: opts.deadBefore } : {}),
          };
          const result = await withHost(commandSettings(), (host) => host.services.pushes.retryDead(opts.org, filter, { dryRun: opts.dryRun === true }), { plugins: 'none' });
          if (opts.json === true) process.stdout.write(`${JSON.stringify(result)}\n`);
          else if (result.dryRun) process.stdout.write(`${result.matched} dead letters match; none requeued (dry run)\n`);
          else process.stdout.write(`${result.requeued} dead letters requeued (${result.matched} matched)\n`);
          return EXIT.OK;
        }),
      );
  },
};
