import type { Command } from 'commander';
import type { PluginLoadReport } from '../../plugins/types.js';
import { EXIT, action, collect, type CliCommand } from '../command.js';
import type { GrantPolicy } from '../../plugins/sandbox/grants.js';
import { commandLogger, commandSettings } from '../host.js';
import { pluginsGroup } from './plugins-group.js';

interface Options {
  pluginsDir?: string[];
  json?: boolean;
  strict?: boolean;
}

/** One row of `plugins list --json`. */
export interface PluginListEntry {
  dir: string;
  name: string | null;
  version: string | null;
  connectorType: string | null;
  status: 'loaded' | 'failed';
  /** Loaded plugins: where their code runs, what their manifest declares and what the operator granted (ERPC_PLUGIN_GRANTS). */
  isolation?: 'process' | 'in-process';
  capabilities?: { declared: { network: boolean; fsWrite: string[] }; granted: { network: boolean; fsWrite: string[] } };
  error?: { code: string; message: string };
}

/** `erpc plugins list [--plugins-dir DIR]... [--json] [--strict]` */
export const pluginsListCommand: CliCommand = {
  register(program: Command) {
    pluginsGroup(program)
      .command('list')
      .description('discover, validate and load the connector plugins, and list them with their status')
      .option('--plugins-dir <dir>', 'a plugin folder (repeatable); default $ERPC_PLUGIN_DIRS (":"-separated), else ./plugins', collect)
      .option('--json', 'print one JSON document: {"plugins":[{dir,name,version,connectorType,status,error?}]}')
      .option('--strict', 'exit 1 when any plugin failed to load')
      .action(
        action(async (opts: Options) => {
          const config = commandSettings({ ERPC_PLUGIN_DIRS: opts.pluginsDir !== undefined && opts.pluginsDir.length > 0 ? opts.pluginsDir : undefined });
          // The listing reports every failure itself; log lines only when asked for.
          const { openPluginHost } = await import('../../container.js');
          const plugins = await openPluginHost(config, commandLogger(config, 'silent'));
          const report = plugins.report;
          await plugins.close();
          const rows = listEntries(report, plugins.grants);
          process.stdout.write(opts.json ? `${JSON.stringify({ plugins: rows })}\n` : formatTable(rows));
          return opts.strict && report.failed.length > 0 ? EXIT.FAILURE : EXIT.OK;
        }),
      );
  },
};

/** The rows of the listing: loaded and failed plugins together, sorted by directory. */
export function listEntries(report: PluginLoadReport, grants?: GrantPolicy): PluginListEntry[] {
  const rows: PluginListEntry[] = [
    ...report.loaded.map((p) => {
      const declared = p.manifest.capabilities;
      const granted = grants?.granted(p.connectorType, declared) ?? {};
      return {
        dir: p.dir,
        name: p.name,
        version: p.version,
        connectorType: p.connectorType,
        status: 'loaded' as const,
        isolation: p.isolation ?? ('in-process' as const),
        capabilities: {
          declared: { network: declared?.network === true, fsWrite: [...(declared?.fsWrite ?? [])] },
          granted: { network: granted.network === true, fsWrite: [...(granted.fsWrite ?? [])] },
        },
      };
    }),
    ...report.failed.map((f) => ({
      dir: f.dir,
      name: f.name ?? null,
      version: f.version ?? null,
      connectorType: f.connectorType ?? null,
      status: 'failed' as const,
      error: { code: f.error.code, message: f.error.message },
    })),
  ];
  return rows.sort((a, b) => (a.dir < b.dir ? -1 : a.dir > b.dir ? 1 : 0));
}

function formatTable(rows: PluginListEntry[]): string {
  if (rows.length === 0) return 'No plugins found.\n';
  const header = ['STATUS', 'TYPE', 'NAME', 'VERSION', 'RUNS', 'GRANTED', 'DIR'];
  const cells = rows.map((r) => [r.status, r.connectorType ?? '-', r.name ?? '-', r.version ?? '-', r.isolation === 'process' ? 'sandbox' : r.isolation ?? '-', grantedText(r), r.dir]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (c: string[]) => c.map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i] ?? 0))).join('  ');
  const out = [line(header), ...cells.map(line)];
  const failed = rows.filter((r) => r.error !== undefined);
  if (failed.length > 0) {
    out.push('', 'Failures:');
    for (const r of failed) out.push(`  ${r.dir}`, `    ${r.error?.code}: ${r.error?.message}`);
  }
  const loaded = rows.length - failed.length;
  out.push('', `${loaded} loaded, ${failed.length} failed`);
  return `${out.join('\n')}\n`;
}

/** What a loaded plugin declared and got: `network`, `write <roots>`, `-` for nothing, `(declared, not granted)` when it asks for more. */
function grantedText(r: PluginListEntry): string {
  const c = r.capabilities;
  if (c === undefined) return '-';
  const parts: string[] = [];
  if (c.granted.network) parts.push('network');
  if (c.granted.fsWrite.length > 0) parts.push(`write ${c.granted.fsWrite.join(',')}`);
  const missing = (c.declared.network && !c.granted.network) || (c.declared.fsWrite.length > 0 && c.granted.fsWrite.length === 0);
  return `${parts.length > 0 ? parts.join('; ') : '-'}${missing ? ' (declared, not granted)' : ''}`;
}
