import type { Command } from 'commander';
import { openHost } from '../../container.js';
import { ErpcError } from '../../errors/index.js';
import { EXIT, action, type CliCommand } from '../command.js';
import { commandLogger, commandSettings, nextStopSignal } from '../host.js';

/**
 * `erpc worker [--concurrency N]`: delivers pushes until SIGTERM/SIGINT, then stops claiming,
 * finishes (or releases) what it holds and exits 0. Any number of workers may share one
 * PostgreSQL database.
 */
export const workerCommand: CliCommand = {
  register(program: Command) {
    program
      .command('worker')
      .description('deliver pushes (needs DATABASE_URL; run as many as you like); stops gracefully on SIGTERM')
      .option('--allow-missing-keys', 'start even when connection rows are under encryption keys that are not loaded (also ERPC_ALLOW_MISSING_KEYS=1)')
      .option('--concurrency <n>', 'deliveries in flight at once in this process (default $ERPC_WORKER_CONCURRENCY or 16)')
      .action(
        action(async (opts: { concurrency?: string; allowMissingKeys?: boolean }) => {
          const config = commandSettings({
            ERPC_WORKER_CONCURRENCY: opts.concurrency,
            ERPC_ALLOW_MISSING_KEYS: opts.allowMissingKeys === true ? true : undefined,
          });
          if (config.databaseUrl === undefined) {
            // The embedded database belongs to one process: `erpc serve` runs the worker in-process there.
            // A configuration problem, not wrong arguments: exit 3 like any other setting.
            throw new ErpcError('ERPC_ERR_SETTING_INVALID', {
              name: 'DATABASE_URL',
              reason: 'erpc worker needs PostgreSQL (postgres://…). On the embedded database, `erpc serve` runs the worker in-process.',
            });
          }
          const logger = commandLogger(config, 'info');
          const host = await openHost(config, { logger });
          try {
            await host.enforceKeys();
            const runtime = host.createPushRuntime();
            await host.lifecycle.add({ name: 'push-worker', start: () => runtime.start(), stop: () => runtime.stop() });
            await host.lifecycle.start();
            process.stdout.write(`erpc worker ${runtime.worker.workerId} running (concurrency ${config.worker.concurrency})\n`);
            const signal = await nextStopSignal();
            logger.info({ signal }, 'stopping the worker: no new claims, finishing in-flight pushes');
          } finally {
            await host.close();
          }
          return EXIT.OK;
        }),
      );
  },
};
