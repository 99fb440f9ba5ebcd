import type { Command } from 'commander';
import { ErpcError } from '../../errors/index.js';
import { together, type LifecycleHook } from '../../lifecycle.js';
import { Shutdown } from '../../shutdown.js';
import { EXIT, action, type CliCommand } from '../command.js';
import { commandLogger, commandSettings, nextStopSignal } from '../host.js';

interface Options {
  concurrency?: string;
  allowMissingKeys?: boolean;
  httpPort?: string;
  httpHost?: string;
}

/**
 * `erpc worker [--concurrency N] [--http-port N]`: delivers pushes until SIGTERM/SIGINT, then
 * stops claiming, finishes (or releases) what it holds and exits 0, within
 * ERPC_SHUTDOWN_TIMEOUT_MS (ADR 0031). With --http-port it serves /healthz, /livez, /readyz and
 * /metrics. It writes a heartbeat (`erpc workers list`). Any number of workers may share one
 * PostgreSQL database.
 */
export const workerCommand: CliCommand = {
  register(program: Command) {
    program
      .command('worker')
      .description('deliver pushes (needs DATABASE_URL; run as many as you like); stops gracefully on SIGTERM')
      .option('--allow-missing-keys', 'start even when connection rows are under encryption keys that are not loaded (also ERPC_ALLOW_MISSING_KEYS=1)')
      .option('--concurrency <n>', 'deliveries in flight at once in this process (default $ERPC_WORKER_CONCURRENCY or 16)')
      .option('--http-port <n>', 'serve /healthz, /livez, /readyz and /metrics on this port (default $ERPC_WORKER_HTTP_PORT; off when unset)')
      .option('--http-host <h>', 'address of that port (default $ERPC_WORKER_HTTP_HOST or 127.0.0.1)')
      .addHelpText('after', '\nExamples:\n  DATABASE_URL=postgres://… erpc worker --concurrency 32\n  DATABASE_URL=postgres://… erpc worker --http-port 9464   # scrape http://127.0.0.1:9464/metrics\n')
      .action(
        action(async (opts: Options) => {
          const config = commandSettings({
            ERPC_WORKER_CONCURRENCY: opts.concurrency,
            ERPC_ALLOW_MISSING_KEYS: opts.allowMissingKeys === true ? true : undefined,
            ERPC_WORKER_HTTP_PORT: opts.httpPort,
            ERPC_WORKER_HTTP_HOST: opts.httpHost,
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
          const [{ openHost }, { buildOpsApp }, { closeHttp, listenHttp }] = await Promise.all([import('../../container.js'), import('../../api/ops-app.js'), import('../../api/http-server.js')]);
          const host = await openHost(config, { logger, metricsDefaults: true });
          const shutdown = new Shutdown(config.shutdown, host.readiness, logger);
          try {
            await host.enforceKeys();
            const runtime = host.createPushRuntime();
            const hooks: LifecycleHook[] = [];
            const { port, host: httpHost } = config.workerHttp;
            let opsUrl: string | undefined;
            if (port !== undefined) {
              const app = await buildOpsApp(host);
              hooks.push({
                name: 'ops-http',
                start: async () => {
                  opsUrl = await listenHttp(app, port, httpHost);
                },
                stop: () => closeHttp(app, shutdown.servicesBudgetMs(), logger),
              });
            }
            hooks.push({
              name: 'push-worker',
              start: () => runtime.start(),
              stop: () => runtime.stop({ graceMs: Math.min(config.worker.shutdownGraceMs, shutdown.servicesBudgetMs()) }),
            });
            await host.lifecycle.add(together('worker', hooks));
            await host.lifecycle.start();
            const ops = opsUrl === undefined ? '' : `, health and metrics on ${opsUrl}`;
            if (opsUrl !== undefined) logger.info({ url: opsUrl }, `worker health and metrics on ${opsUrl}`);
            process.stdout.write(`erpc worker ${runtime.worker.workerId} running (concurrency ${config.worker.concurrency}${ops})\n`);
            const signal = await nextStopSignal();
            shutdown.begin(signal);
            logger.info({ signal }, 'stopping the worker: no new claims, finishing in-flight pushes');
            // The drain delay is for probes of the ops port; without one there is nothing to drain.
            if (opsUrl !== undefined) await shutdown.drain();
          } finally {
            await host.close();
          }
          shutdown.done();
          return EXIT.OK;
        }),
      );
  },
};
