import type { Command } from 'commander';
import { ErpcError } from '../../errors/index.js';
import { createPushRuntime } from '../../push/push-runtime.js';
import { pushWorkerOptionsFromEnv } from '../../push/worker-config.js';
import { EXIT, action, type CliCommand } from '../command.js';
import { openHost } from '../host-context.js';
import { enforceKeysAtStartup } from '../../keys/index.js';

/** Parses --concurrency. */
export function parseConcurrency(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 1024) {
    throw new ErpcError('ERPC_ERR_USAGE', { reason: '--concurrency must be an integer from 1 to 1024' });
  }
  return n;
}

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
          const databaseUrl = process.env.DATABASE_URL?.trim();
          if (databaseUrl === undefined || databaseUrl === '') {
            // The embedded database belongs to one process: `erpc serve` runs the worker in-process there.
            // A configuration problem, not wrong arguments: exit 3 like any other setting.
            throw new ErpcError('ERPC_ERR_SETTING_INVALID', {
              name: 'DATABASE_URL',
              reason: 'erpc worker needs PostgreSQL (postgres://…). On the embedded database, `erpc serve` runs the worker in-process.',
            });
          }
          const options = pushWorkerOptionsFromEnv(process.env);
          const concurrency = parseConcurrency(opts.concurrency);
          if (concurrency !== undefined) options.concurrency = concurrency;
          const host = await openHost({ env: process.env, metricsDefaults: false });
          try {
            await enforceKeysAtStartup(host, opts.allowMissingKeys === true);
          } catch (err) {
            await host.close();
            throw err;
          }
          const runtime = createPushRuntime(host.container, { ...options, listenUrl: databaseUrl });
          let resolveDone: () => void = () => undefined;
          const done = new Promise<void>((resolve) => {
            resolveDone = resolve;
          });
          const onSignal = (signal: NodeJS.Signals) => {
            host.logger.info({ signal }, 'stopping the worker: no new claims, finishing in-flight pushes');
            resolveDone();
          };
          process.once('SIGTERM', onSignal);
          process.once('SIGINT', onSignal);
          try {
            await runtime.start();
            process.stdout.write(`erpc worker ${runtime.worker.workerId} running (concurrency ${options.concurrency ?? 16})\n`);
            await done;
            await runtime.stop();
          } finally {
            await host.close();
          }
          return EXIT.OK;
        }),
      );
  },
};
