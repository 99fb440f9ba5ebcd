import type { Command } from 'commander';
import type { Host } from '../../container.js';
import { together } from '../../lifecycle.js';
import { Shutdown } from '../../shutdown.js';
import { EXIT, action, type CliCommand } from '../command.js';
import { startAdminSocket } from '../admin-socket.js';
import { commandLogger, commandSettings, nextStopSignal } from '../host.js';

interface Options {
  worker?: boolean;
  allowMissingKeys?: boolean;
  port?: string;
  host?: string;
}

/**
 * `erpc serve [--port N] [--host H]`: check the keys, migrate, load the plugins, serve the HTTP API
 * (and deliver pushes in-process unless --no-worker) until SIGINT/SIGTERM. Everything it opens is
 * in the host's lifecycle: it stops in reverse order, on a signal or when start-up fails. On a
 * signal the shutdown is bounded (ADR 0031): readiness 503 at once, the drain delay, then the
 * HTTP server and the worker stop in parallel, and the process exits within
 * ERPC_SHUTDOWN_TIMEOUT_MS whatever clients or connectors do.
 */
export const serveCommand: CliCommand = {
  register(program: Command) {
    program
      .command('serve')
      .description('run the HTTP API (migrates the database and loads the plugins first)')
      .option('--port <n>', 'port to listen on (0: any free port); default $PORT or 3000')
      .option('--host <h>', 'address to listen on; default $HOST or 127.0.0.1')
      .option('--allow-missing-keys', 'start even when connection rows are under encryption keys that are not loaded (also ERPC_ALLOW_MISSING_KEYS=1)')
      .option('--no-worker', 'do not deliver pushes in this process (run `erpc worker` processes instead)')
      .action(
        action(async (opts: Options) => {
          // Every setting (the worker's included) is checked here, before any listener opens.
          const config = commandSettings({ PORT: opts.port, HOST: opts.host, ERPC_ALLOW_MISSING_KEYS: opts.allowMissingKeys === true ? true : undefined });
          const logger = commandLogger(config, 'info');
          let hostReady!: (host: Host) => void;
          let hostFailed!: (err: unknown) => void;
          const hostPromise = new Promise<Host>((resolve, reject) => {
            hostReady = resolve;
            hostFailed = reject;
          });
          // Loaded here, not at start-up: the CLI's other commands do not need the API or the container.
          const [{ openHost }, { buildApp }, { closeHttp, listenHttp }] = await Promise.all([import('../../container.js'), import('../../api/app.js'), import('../../api/http-server.js')]);
          let host: Host;
          try {
            host = await openHost(config, {
              logger,
              metricsDefaults: true,
              // Keys are checked before any listener (the admin socket included) opens; on the embedded
              // database the admin socket claims the data directory before the database is opened.
              beforeDatabase: async (lifecycle) => {
                if (config.databaseUrl !== undefined) return;
                const admin = await startAdminSocket(hostPromise, config.dataDir);
                lifecycle.own('admin-socket', () => admin.close());
              },
            });
          } catch (err) {
            hostFailed(err);
            throw err;
          }
          hostReady(host);
          const shutdown = new Shutdown(config.shutdown, host.readiness, logger);
          const stopped = (async () => {
            const signal = await nextStopSignal();
            shutdown.begin(signal);
            await shutdown.drain();
            await host.close();
          })();
          try {
            await host.enforceKeys();
            const app = await buildApp(host);
            const worker = opts.worker === false ? undefined : host.createPushRuntime();
            const http = {
              name: 'http',
              start: async () => {
                const url = await listenHttp(app, config.port, config.host);
                logger.info({ url, docs: `${url}/docs` }, `erpc listening on ${url}`);
                process.stdout.write(`erpc listening on ${url} (API docs: ${url}/docs)\n`);
              },
              stop: () => closeHttp(app, shutdown.servicesBudgetMs(), logger),
            };
            // The worker starts once the server listens; both stop at once, each within the budget.
            const pushWorker = worker === undefined ? [] : [{ name: 'push-worker', start: () => worker.start(), stop: () => worker.stop({ graceMs: Math.min(config.worker.shutdownGraceMs, shutdown.servicesBudgetMs()) }) }];
            await host.lifecycle.add(together('http+push-worker', [http, ...pushWorker]));
            await host.lifecycle.start();
          } catch (err) {
            await host.close();
            throw err;
          }
          if ((await host.services.organizations.count()) === 0) {
            process.stdout.write('No organisation yet. Create one (it prints an API key) with:\n\n  pnpm erpc orgs create Acme --json\n\n');
          }
          await stopped;
          shutdown.done();
          return EXIT.OK;
        }),
      );
  },
};
