import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ERPConnectorPort, OperationContext, PluginManifest } from '@erpc/sdk';
import type { Logger } from '../../logging/logger.js';
import type { HostConfig } from '../../settings/index.js';
import type { LoadedPlugin } from '../types.js';
import { GrantPolicy, valueAt } from './grants.js';
import { checkEntriesInSandboxes } from './import-check.js';
import { sandboxIdentity } from './permissions.js';
import { SandboxSupervisor } from './sandbox-supervisor.js';

type Config = Record<string, unknown>;

/**
 * Ports for `erpc conformance` that run the plugin the way the host does: in a sandbox process
 * under Node's permission model, with only the capabilities its manifest declares, granted for
 * the configs of the run (each config's declared path fields become its granted folders; the
 * network when declared). A plugin that reads or writes beyond that, or needs `fsync` without
 * `HostServices.files`, fails the kit's checks here instead of in production.
 */
export async function sandboxedConformancePorts(
  config: HostConfig,
  pluginDir: string,
  configs: readonly Config[],
  logger: Logger,
  timeoutMs: number,
): Promise<{ ports: () => Promise<ERPConnectorPort<Config>>; close(): Promise<void> }> {
  const dir = path.resolve(pluginDir);
  const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string; erpc: PluginManifest };
  const manifest = pkg.erpc;
  const entryPath = path.resolve(dir, manifest.entry);
  const declared = manifest.capabilities;
  const fsWrite = [...new Set(configs.flatMap((c) => (declared?.fsWrite ?? []).map((pointer) => valueAt(c, pointer)).filter((v): v is string => typeof v === 'string' && path.isAbsolute(v))))];
  const settings = {
    ...config,
    databaseUrl: 'conformance',
    sandbox: { ...config.sandbox, grants: { [manifest.connectorType]: { fsWrite, network: declared?.network === true } } },
  };
  const identity = sandboxIdentity(config.sandbox.uid, config.sandbox.gid);
  const checked = (await checkEntriesInSandboxes([{ key: 0, connectorType: manifest.connectorType, entryPath, root: dir }], { timeoutMs, memoryMb: config.sandbox.memoryMb, identity, logger })).get(0);
  const ops = checked?.ok === true ? checked.ops : { checkDelivery: false, dispose: false };
  const supervisor = new SandboxSupervisor(settings.sandbox, new GrantPolicy(settings), logger);
  const plugin = {
    dir,
    name: pkg.name ?? path.basename(dir),
    version: pkg.version ?? '0.0.0',
    manifest,
    connectorType: manifest.connectorType,
    isolation: 'process',
    entryPath,
    operations: ops,
  } as unknown as LoadedPlugin;
  const run = (op: 'push' | 'checkDelivery' | 'testConnection', arg: unknown, ctx: OperationContext<Config>) =>
    supervisor.run({
      plugin,
      op,
      connection: ctx.connection,
      config: ctx.config,
      arg,
      timeoutMs,
      signal: ctx.signal,
      scrub: [],
      log: (level, obj, msg) => (obj === undefined ? ctx.logger[level](msg ?? '') : ctx.logger[level](obj as object, msg)),
    });
  const port: ERPConnectorPort<Config> = {
    testConnection: (ctx) => run('testConnection', undefined, ctx) as never,
    push: (document, ctx) => run('push', document, ctx) as never,
    ...(ops.checkDelivery ? { checkDelivery: (receipt, ctx) => run('checkDelivery', receipt, ctx) as never } : {}),
  };
  return { ports: async () => port, close: () => supervisor.stop() };
}
