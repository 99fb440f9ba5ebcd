import type { Command } from 'commander';
import { buildApp } from '../../api/app.js';
import { enforceKeysAtStartup, type KeysHealthCheck } from '../../keys/index.js';
import type { OrganizationService } from '../../auth/organization-service.js';
import { ErpcError } from '../../errors/index.js';
import { TOKENS } from '../../tokens.js';
import { EXIT, action, type CliCommand } from '../command.js';
import { startAdminSocket } from '../admin-socket.js';
import { dataDirOf, openHost, type Host } from '../host-context.js';
import { pushWorkerService } from './serve-worker.js';

/**
 * Something that runs beside the HTTP server for the life of `erpc serve` (e.g. the push
 * worker): started once the server listens, stopped before the database closes.
 */
export interface BackgroundService {
  readonly name: string;
  start(host: Host): Promise<void> | void;
  stop(): Promise<void> | void;
}

/**
 * Factories of the background services `serve` runs in-process. Add one here (e.g. the push
 * worker) and it starts and stops with the server.
 */
export const backgroundServices: ((host: Host, opts: { worker?: boolean }) => BackgroundService | undefined)[] = [pushWorkerService];

interface Options {
  worker?: boolean;
  allowMissingKeys?: boolean;
  port?: string;
  host?: string;
}

function parsePort(raw: string | undefined): number {
  const value = raw === undefined || raw.trim() === '' ? 3000 : Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65535) {
    throw new ErpcError('ERPC_ERR_USAGE', { reason: 'the port (--port or PORT) must be an integer from 0 to 65535' });
  }
  return value;
}

/** `erpc serve [--port N] [--host H]`: migrate, load plugins, serve the HTTP API until SIGINT/SIGTERM. */
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
          const port = parsePort(opts.port ?? process.env.PORT);
          const hostname = opts.host ?? process.env.HOST ?? '127.0.0.1';
          const embedded = process.env.DATABASE_URL === undefined || process.env.DATABASE_URL.trim() === '';
          let admin: { close(): Promise<void> } | undefined;
          let hostReady!: (host: Host) => void;
          let hostFailed!: (err: unknown) => void;
          const hostPromise = new Promise<Host>((resolve, reject) => {
            hostReady = resolve;
            hostFailed = reject;
          });
          // Keys are checked before any listener (the admin socket included) opens; on the embedded
          // database the admin socket claims the data directory before the database is opened.
          let host: Host;
          try {
            host = await openHost({
              env: process.env,
              metricsDefaults: true,
              beforeDatabase: async () => {
                if (embedded) admin = await startAdminSocket(hostPromise, dataDirOf(process.env));
              },
            });
          } catch (err) {
            hostFailed(err);
            await admin?.close();
            throw err;
          }
          hostReady(host);
          const logger = host.logger;
          let keysCheck: KeysHealthCheck;
          try {
            keysCheck = await enforceKeysAtStartup(host, opts.allowMissingKeys === true);
          } catch (err) {
            await admin?.close();
            await host.close();
            throw err;
          }
          const app = await buildApp(host.container, { healthChecks: [keysCheck] });
          const services: BackgroundService[] = [];
          const pending: BackgroundService[] = [];
          let stopping: Promise<void> | undefined;
          const stop = (signal: string): Promise<void> => {
            stopping ??= (async () => {
              logger.info({ signal }, 'shutting down');
              await app.close().catch((err: unknown) => logger.error({ err }, 'closing the HTTP server failed'));
              await admin?.close();
              for (const s of [...services].reverse()) {
                await Promise.resolve(s.stop()).catch((err: unknown) => logger.error({ err, service: s.name }, 'stopping a background service failed'));
              }
              await host.close();
            })();
            return stopping;
          };
          const done = new Promise<void>((resolve) => {
            const onSignal = (signal: NodeJS.Signals) => void stop(signal).then(resolve);
            process.once('SIGINT', onSignal);
            process.once('SIGTERM', onSignal);
          });
          try {
            // Factories read their settings now, so a bad one stops start-up before any listener.
            for (const factory of backgroundServices) {
              const service = factory(host, opts);
              if (service !== undefined) pending.push(service);
            }
            await app.listen({ port, host: hostname });
          } catch (err) {
            await admin?.close();
            await host.close();
            throw err;
          }
          const address = app.server.address();
          const boundPort = typeof address === 'object' && address !== null ? address.port : port;
          const shownHost = hostname.includes(':') ? `[${hostname}]` : hostname;
          const url = `http://${shownHost}:${boundPort}`;
          logger.info({ url, docs: `${url}/docs` }, `erpc listening on ${url}`);
          process.stdout.write(`erpc listening on ${url} (API docs: ${url}/docs)\n`);
          for (const service of pending) {
            await service.start(host);
            services.push(service);
          }
          const orgCount = await host.resolve<OrganizationService>(TOKENS.OrganizationService).count();
          if (orgCount === 0) {
            process.stdout.write(
              'No organisation yet. Create one (it prints an API key) with:\n\n  pnpm erpc orgs create Acme --json\n\n',
            );
          }
          await done;
          return EXIT.OK;
        }),
      );
  },
};
