import type { Command } from 'commander';
import { buildApp } from '../../api/app.js';
import { openHost, type Host } from '../../container.js';
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
 * in the host's lifecycle: it stops in reverse order, on a signal or when start-up fails.
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
          const stopped = (async () => {
            const signal = await nextStopSignal();
            logger.info({ signal }, 'shutting down');
            await host.close();
          })();
          try {
            const keysCheck = await host.enforceKeys();
            const app = await buildApp(host, { healthChecks: [keysCheck] });
            const worker = opts.worker === false ? undefined : host.createPushRuntime();
            await host.lifecycle.add({
              name: 'http',
              start: async () => {
                await app.listen({ port: config.port, host: config.host });
                const address = app.server.address();
                const boundPort = typeof address === 'object' && address !== null ? address.port : config.port;
                const shownHost = config.host.includes(':') ? `[${config.host}]` : config.host;
                const url = `http://${shownHost}:${boundPort}`;
                logger.info({ url, docs: `${url}/docs` }, `erpc listening on ${url}`);
                process.stdout.write(`erpc listening on ${url} (API docs: ${url}/docs)\n`);
              },
              stop: () => app.close(),
            });
            // Started once the server listens; stopped before it closes (reverse order).
            if (worker !== undefined) await host.lifecycle.add({ name: 'push-worker', start: () => worker.start(), stop: () => worker.stop() });
            await host.lifecycle.start();
          } catch (err) {
            await host.close();
            throw err;
          }
          if ((await host.services.organizations.count()) === 0) {
            process.stdout.write('No organisation yet. Create one (it prints an API key) with:\n\n  pnpm erpc orgs create Acme --json\n\n');
          }
          await stopped;
          return EXIT.OK;
        }),
      );
  },
};
