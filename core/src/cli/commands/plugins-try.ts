import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { Keyring, generateKey } from '../../crypto/index.js';
import { ErpcError } from '../../errors/index.js';
import { loadHostConfig, type LogLevel } from '../../settings/index.js';
import { processEnv } from '../../settings/process-env.js';
import { EXIT, action, type CliCommand } from '../command.js';
import { commandLogger } from '../host.js';
import { pluginsGroup } from './plugins-group.js';

interface Options {
  config: string;
  document?: string;
  json?: boolean;
}

async function readJson(file: string, what: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as unknown;
  } catch (err) {
    throw new ErpcError('ERPC_ERR_USAGE', { reason: `${what} ${file} is not a readable JSON file (${(err as NodeJS.ErrnoException).code ?? (err as Error).name}).` });
  }
}

/**
 * `erpc plugins try DIR --config c.json [--document d.json] [--json]`: loads the plugin in DIR and
 * runs, through the host's own machinery (config validation, encryption, the one connector call,
 * the push worker), its connection test and one push, on a throwaway embedded database with a
 * throwaway key. Prints what the connector returned; exit 1 when the test or the push failed.
 */
export const pluginsTryCommand: CliCommand = {
  register(program: Command) {
    pluginsGroup(program)
      .command('try')
      .description('run one connection test and one push of a plugin through the host, with no server, org or database to set up')
      .argument('<dir>', 'the plugin folder (built)')
      .requiredOption('--config <file>', 'the connection config (JSON)')
      .option('--document <file>', 'the document to push: {"documentType","documentId","payload"} (default: an empty invoice)')
      .option('--json', 'print {"test":{ok,latencyMs,message?},"push":{status,externalRef?,receiptDetails?,lastError?}}')
      .addHelpText('after', '\nExample:\n  erpc plugins try . --config ./try/config.json --document ./try/invoice.json\n')
      .action(
        action(async (dir: string, opts: Options) => {
          const connectionConfig = await readJson(opts.config, '--config');
          const document = opts.document === undefined ? undefined : ((await readJson(opts.document, '--document')) as Record<string, unknown>);
          const dataDir = await mkdtemp(path.join(tmpdir(), 'erpc-try-'));
          const env = processEnv();
          // Only the plugin and a throwaway database: nothing of the operator's settings.
          const config = loadHostConfig({
            env: { ERPC_PLUGIN_DIRS: path.resolve(dir), ERPC_DATA_DIR: dataDir, ERPC_SCHEMA_CACHE_DIR: 'off', ERPC_LOG_LEVEL: env.ERPC_LOG_LEVEL as LogLevel | undefined },
          });
          try {
            const { openHost } = await import('../../container.js');
            const host = await openHost(config, { logger: commandLogger(config), keyring: new Keyring(generateKey()) });
            try {
              const [plugin] = host.registry.list();
              if (plugin === undefined) {
                const failed = host.pluginReport.failed[0];
                throw new ErpcError('ERPC_ERR_USAGE', { reason: failed !== undefined ? `the plugin did not load: ${failed.error.code}: ${failed.error.message}` : `no plugin found in ${dir}` });
              }
              const { org } = await host.services.organizations.create('plugins try');
              const connection = await host.services.connections.create(org.id, { connectorType: plugin.connectorType, name: 'try', config: connectionConfig as Record<string, unknown>, activate: true });
              const test = await host.services.connections.test(org.id, connection.id);
              const { push } = await host.services.pushes.accept(org.id, {
                documentType: (document?.documentType as string | undefined) ?? plugin.documentTypes?.[0] ?? 'invoice',
                documentId: (document?.documentId as string | undefined) ?? 'TRY-1',
                payload: (document?.payload as Record<string, unknown> | undefined) ?? {},
              });
              const runtime = host.createPushRuntime();
              await runtime.worker.runOnce();
              const view = await host.services.pushes.get(org.id, push.id);
              const result = {
                test,
                push: {
                  status: view.status,
                  ...(view.externalRef !== undefined && view.externalRef !== null ? { externalRef: view.externalRef } : {}),
                  ...(view.receiptDetails !== undefined && view.receiptDetails !== null ? { receiptDetails: view.receiptDetails } : {}),
                  ...(view.lastError !== undefined && view.lastError !== null ? { lastError: view.lastError } : {}),
                },
              };
              if (opts.json === true) process.stdout.write(`${JSON.stringify(result)}\n`);
              else {
                process.stdout.write(`test: ${test.ok ? 'ok' : 'FAILED'} in ${test.latencyMs} ms${test.message !== undefined ? ` — ${test.message}` : ''}\n`);
                process.stdout.write(`push: ${view.status}${result.push.externalRef !== undefined ? ` externalRef ${result.push.externalRef}` : ''}\n`);
                if (result.push.receiptDetails !== undefined) process.stdout.write(`  receipt: ${JSON.stringify(result.push.receiptDetails)}\n`);
                if (result.push.lastError !== undefined) process.stdout.write(`  error: ${JSON.stringify(result.push.lastError)}\n`);
              }
              const delivered = view.status === 'DELIVERED' || view.status === 'ACKNOWLEDGED';
              return test.ok && delivered ? EXIT.OK : EXIT.FAILURE;
            } finally {
              await host.close();
            }
          } finally {
            await rm(dataDir, { recursive: true, force: true });
          }
        }),
      );
  },
};
