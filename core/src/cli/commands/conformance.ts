import type { Command } from 'commander';
import { action, collect, type CliCommand } from '../command.js';
import { commandLogger, commandSettings } from '../host.js';

interface Options {
  config: string;
  invalidConfig?: string[];
  unreachableConfig?: string;
  samples?: string;
  timeoutMs?: string;
  json?: boolean;
  inProcess?: boolean;
}

/**
 * `erpc conformance <pluginDir> --config valid.json [--invalid-config bad.json]... [--unreachable-config u.json] [--json]`:
 * runs the @erpc/conformance kit on a plugin folder (anywhere on disk). The kit does the work; the
 * host only hands over the options, so the result is the same as the kit's own `erpc-conformance`.
 */
export const conformanceCommand: CliCommand = {
  register(program: Command) {
    program
      .command('conformance')
      .description('run the connector conformance checks on a plugin folder; exit 1 when any check fails')
      .argument('<pluginDir>', 'the plugin folder (its package.json holds the "erpc" manifest)')
      .requiredOption('--config <file>', 'JSON file with a config that works')
      .option('--invalid-config <file>', 'JSON file with a config the schema must reject (repeatable)', collect)
      .option('--unreachable-config <file>', 'JSON file with a valid config for an ERP that cannot be reached')
      .option('--samples <file>', 'JSON file with an array of sample documents')
      .option('--timeout-ms <ms>', 'time limit of one connector operation')
      .option('--json', 'print one JSON document: {"plugin","passed","checks":[{"id","status","message"?}]}')
      .option('--in-process', 'run the plugin in this process instead of the sandbox the host runs it in (ERPC_PLUGIN_ISOLATION=in-process does the same)')
      .action(
        action(async (pluginDir: string, opts: Options) => {
          const timeoutMs = opts.timeoutMs === undefined ? undefined : Number(opts.timeoutMs);
          const config = commandSettings();
          const [{ runConformanceCommand }, { sandboxedConformancePorts }] = await Promise.all([import('@erpc/conformance'), import('../../plugins/sandbox/conformance-ports.js')]);
          // By default the kit runs the plugin the way the host does: in its sandbox (docs/security.md).
          const sandboxed = opts.inProcess !== true && config.sandbox.isolation === 'process';
          const ports = sandboxed
            ? (configs: readonly Record<string, unknown>[]) =>
                sandboxedConformancePorts(config, pluginDir, configs, commandLogger(config, 'silent'), timeoutMs !== undefined && Number.isInteger(timeoutMs) && timeoutMs > 0 ? timeoutMs : 10_000)
            : undefined;
          return runConformanceCommand({
            pluginDir,
            config: opts.config,
            invalidConfigs: opts.invalidConfig ?? [],
            ...(opts.unreachableConfig ? { unreachableConfig: opts.unreachableConfig } : {}),
            ...(opts.samples ? { samples: opts.samples } : {}),
            ...(timeoutMs !== undefined && Number.isInteger(timeoutMs) && timeoutMs > 0 ? { timeoutMs } : {}),
            json: opts.json ?? false,
          }, undefined, ports);
        }),
      );
  },
};
