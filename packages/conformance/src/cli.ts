import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ERPConnectorPort } from '@erpc/sdk';
import { parseArgs } from 'node:util';
import { runConformance } from './run.js';
import { scaffoldPlugin } from './scaffold.js';
import type { ConformanceReport } from './types.js';

/** Where the CLI writes; defaults to the process streams. */
export interface CliIo {
  /** Receives the report (or the JSON document). */
  stdout: (text: string) => void;
  /** Receives usage errors. */
  stderr: (text: string) => void;
}

/** The parsed options of a conformance run from the command line. */
export interface ConformanceCommandOptions {
  /** The plugin folder. */
  pluginDir: string;
  /** Path of a JSON file holding the valid config. */
  config: string;
  /** Paths of JSON files each holding a config the schema must reject. */
  invalidConfigs?: string[];
  /** Path of a JSON file holding a config for an unreachable ERP. */
  unreachableConfig?: string;
  /** Path of a JSON file holding an array of sample documents. */
  samples?: string;
  /** Print one JSON document instead of lines. */
  json?: boolean;
  /** Operation timeout in milliseconds. */
  timeoutMs?: number;
}

/** Exit codes of the CLI. */
export const CLI_EXIT = { OK: 0, FAILURE: 1, USAGE: 2 } as const;

const defaultIo: CliIo = { stdout: (t) => void process.stdout.write(t), stderr: (t) => void process.stderr.write(t) };

class UsageError extends Error {}

async function readJson(file: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path.resolve(file), 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read the ${what} file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    // Not the parser's message: it may quote the file, and a config file holds secrets.
    throw new UsageError(`the ${what} file ${file} is not valid JSON`);
  }
}

async function readConfig(file: string, what: string): Promise<Record<string, unknown>> {
  const value = await readJson(file, what);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UsageError(`the ${what} file ${file} must hold a JSON object`);
  return value as Record<string, unknown>;
}

/** Formats a report as one line per check and a summary line. */
export function formatReport(report: ConformanceReport): string {
  const width = Math.max(...report.checks.map((c) => c.id.length));
  const lines = report.checks.map((c) => {
    const tag = c.status === 'pass' ? 'pass   ' : c.status === 'fail' ? 'FAIL   ' : 'skipped';
    return `${tag} ${c.id.padEnd(width)}${c.message ? `  ${c.message}` : ''}`.trimEnd();
  });
  const count = (st: string) => report.checks.filter((c) => c.status === st).length;
  lines.push(`${report.plugin}: ${report.passed ? 'conforms' : 'does NOT conform'} (${count('pass')} passed, ${count('fail')} failed, ${count('skipped')} skipped)`);
  return `${lines.join('\n')}\n`;
}

/**
 * Runs the kit on a plugin from parsed command-line options and prints the report: one line per
 * check, or with `json` one document `{"plugin","passed","checks":[{"id","status","message"?}]}`.
 *
 * @returns the exit code: 0 when every check passed or was skipped, 1 on any failure, 2 on bad usage.
 */
export async function runConformanceCommand(
  opts: ConformanceCommandOptions,
  io: CliIo = defaultIo,
  /** Ports from elsewhere (the host's sandbox), given the configs the run will use. See {@link ConformanceOptions.ports}. */
  ports?: (configs: readonly Record<string, unknown>[]) => Promise<{ ports: () => Promise<ERPConnectorPort<Record<string, unknown>>>; close(): Promise<void> }>,
): Promise<number> {
  try {
    const validConfig = await readConfig(opts.config, 'config');
    const invalidConfigs = await Promise.all((opts.invalidConfigs ?? []).map((f) => readConfig(f, 'invalid config')));
    const unreachableConfig = opts.unreachableConfig === undefined ? undefined : await readConfig(opts.unreachableConfig, 'unreachable config');
    const samples = opts.samples === undefined ? undefined : await readJson(opts.samples, 'samples');
    if (samples !== undefined && !Array.isArray(samples)) throw new UsageError(`the samples file ${opts.samples} must hold a JSON array of documents`);
    const portSource = ports === undefined ? undefined : await ports([validConfig, ...(unreachableConfig ? [unreachableConfig] : [])]);
    const report = await runConformance({
      ...(portSource !== undefined ? { ports: portSource.ports } : {}),
      pluginDir: path.resolve(opts.pluginDir),
      validConfig,
      invalidConfigs,
      ...(unreachableConfig ? { unreachableConfig } : {}),
      ...(samples ? { sampleDocuments: samples as never } : {}),
      ...(opts.timeoutMs ? { timeouts: { operationMs: opts.timeoutMs } } : {}),
    });
    await portSource?.close();
    io.stdout(opts.json ? `${JSON.stringify(report)}\n` : formatReport(report));
    return report.passed ? CLI_EXIT.OK : CLI_EXIT.FAILURE;
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`error: ${err.message}\n`);
      return CLI_EXIT.USAGE;
    }
    throw err;
  }
}

const USAGE = `Usage:
  erpc-conformance <pluginDir> --config valid.json [--invalid-config bad.json]... [--unreachable-config unreachable.json]
                   [--samples documents.json] [--timeout-ms 10000] [--json]
  erpc-conformance new <folder> --type ACME_THING_V1 [--name @acme/erpc-connector-thing] [--sdk ^1.0.0]
`;

/**
 * The `erpc-conformance` command line: runs the kit on a plugin folder, or with `new` scaffolds a
 * plugin. Plain `node:util` parseArgs, so it runs anywhere Node 20 does, without the host.
 *
 * @returns the exit code (see {@link CLI_EXIT}).
 */
export async function runConformanceCli(argv: string[], io: CliIo = defaultIo): Promise<number> {
  try {
    if (argv[0] === 'new') {
      const { values, positionals } = parseArgs({
        args: argv.slice(1),
        allowPositionals: true,
        options: { type: { type: 'string' }, name: { type: 'string' }, sdk: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      });
      if (values.help) return void io.stdout(USAGE), CLI_EXIT.OK;
      if (positionals.length !== 1 || !values.type) throw new UsageError('new needs a folder and --type');
      const written = await scaffoldPlugin(positionals[0]!, { type: values.type, ...(values.name ? { name: values.name } : {}), ...(values.sdk ? { sdkDependency: values.sdk } : {}) });
      io.stdout(`created ${written.dir} (${written.files.length} files). Next: cd ${written.dir} && npm install && npm run build && npm test\n`);
      return CLI_EXIT.OK;
    }
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string' },
        'invalid-config': { type: 'string', multiple: true },
        'unreachable-config': { type: 'string' },
        samples: { type: 'string' },
        'timeout-ms': { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) return void io.stdout(USAGE), CLI_EXIT.OK;
    if (positionals.length !== 1) throw new UsageError('give exactly one plugin folder');
    if (!values.config) throw new UsageError('--config <valid.json> is required');
    const timeoutMs = values['timeout-ms'] === undefined ? undefined : Number(values['timeout-ms']);
    if (timeoutMs !== undefined && !(Number.isInteger(timeoutMs) && timeoutMs > 0)) throw new UsageError('--timeout-ms must be a positive integer');
    return await runConformanceCommand(
      {
        pluginDir: positionals[0]!,
        config: values.config,
        invalidConfigs: values['invalid-config'] ?? [],
        ...(values['unreachable-config'] ? { unreachableConfig: values['unreachable-config'] } : {}),
        ...(values.samples ? { samples: values.samples } : {}),
        ...(timeoutMs ? { timeoutMs } : {}),
        json: values.json ?? false,
      },
      io,
    );
  } catch (err) {
    const usage = err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    if (usage) {
      io.stderr(`error: ${(err as Error).message}\n${USAGE}`);
      return CLI_EXIT.USAGE;
    }
    throw err;
  }
}
