import type { Command } from 'commander';
import { ErpcError } from '../../errors/index.js';
import { commandSettings, refuseWhileServing } from '../host.js';
import { EXIT, action, type CliCommand } from '../command.js';

interface Options {
  json?: boolean;
  status?: boolean;
}

/** `erpc migrate [--status] [--json]`: applies pending migrations to DATABASE_URL or the embedded database. */
export const migrateCommand: CliCommand = {
  register(program: Command) {
    program
      .command('migrate')
      .description('apply pending database migrations (DATABASE_URL, else the embedded database in ERPC_DATA_DIR)')
      .option('--status', 'only show applied and pending migrations; change nothing')
      .option('--json', 'print one JSON document: {"database":{kind,target},"applied":[…],"pending":[…]} (with --status) or {"database","ran":[…],"batch"}')
      .action(
        action(async (opts: Options) => {
          const config = commandSettings();
          const url = config.databaseUrl;
          // Only one process may open an embedded database; a running server has migrated it anyway.
          await refuseWhileServing(config);
          const { checkDatabase, closeDatabase, createDatabase, databaseKind, databaseTarget, migrateLatest, migrationStatus } = await import('../../storage/index.js');
          const db = await createDatabase({ databaseUrl: url, dataDir: config.dataDir });
          try {
            await checkDatabase(db, url);
            const database = { kind: databaseKind(db), target: databaseTarget(db) };
            if (opts.status) {
              const status = await migrationStatus(db, url);
              if (opts.json) process.stdout.write(`${JSON.stringify({ database, ...status })}\n`);
              else {
                process.stdout.write(`${database.target}\n`);
                for (const name of status.applied) process.stdout.write(`  applied  ${name}\n`);
                for (const name of status.pending) process.stdout.write(`  pending  ${name}\n`);
              }
              return EXIT.OK;
            }
            const result = await migrateLatest(db, url);
            if (opts.json) process.stdout.write(`${JSON.stringify({ database, ran: result.applied, batch: result.batch })}\n`);
            else if (result.applied.length === 0) process.stdout.write(`${database.target}: already up to date\n`);
            else {
              process.stdout.write(`${database.target}: applied ${result.applied.length} migration(s) (batch ${result.batch})\n`);
              for (const name of result.applied) process.stdout.write(`  ${name}\n`);
            }
            return EXIT.OK;
          } finally {
            await closeDatabase(db).catch(() => undefined);
          }
        }),
      );
  },
};
