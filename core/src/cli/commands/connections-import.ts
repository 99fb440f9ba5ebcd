import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { isErpcError } from '../../errors/index.js';
import type { ImportProblem } from '../../connections/connection-import-service.js';
import { action, type CliCommand, commandGroup, EXIT } from '../command.js';
import { commandLogger, commandSettings, refuseWhileServing } from '../host.js';

interface Options {
  file: string;
  skipInvalid?: boolean;
  json?: boolean;
}

/** The `erpc connections` command group; whichever subcommand registers first creates it. */
export function connectionsGroup(program: Command): Command {
  return commandGroup(program, 'connections', 'manage ERP connections');
}

/**
 * `erpc connections import --file rows.jsonl [--skip-invalid] [--json]`: imports rows exported
 * from the original system as legacy rows (all or nothing unless --skip-invalid). Exit 1 when the
 * file is refused (each problem listed with its line number) or rows were skipped.
 */
export const connectionsImportCommand: CliCommand = {
  register(program: Command) {
    connectionsGroup(program)
      .command('import')
      .description('import connections exported from the original system (JSON Lines: {org_id, connector_type, name?, status, config_encrypted})')
      .requiredOption('--file <path>', 'the JSON Lines file')
      .option('--skip-invalid', 'import the valid rows and report the others (unknown connector type, config that does not decrypt or validate); malformed rows and ACTIVE conflicts still refuse the whole file')
      .option('--json', 'print one JSON document: the report, or {"error":{code,message,details}}')
      .action(
        action(async (opts: Options) => {
          const config = commandSettings();
          await refuseWhileServing(config);
          const { openHost } = await import('../../container.js');
          const host = await openHost(config, { logger: commandLogger(config) });
          const progress = progressBar(opts.json === true);
          try {
            const report = await host.services.connectionImport.importFile(opts.file, { skipInvalid: opts.skipInvalid === true, onProgress: progress.update });
            progress.stop();
            if (opts.json) process.stdout.write(`${JSON.stringify(report)}\n`);
            else {
              for (const p of report.skipped) process.stdout.write(`skipped ${problemLine(p)}\n`);
              const again = report.alreadyImported.length > 0 ? `, ${report.alreadyImported.length} already imported before (left as they are)` : '';
              process.stdout.write(
                `imported ${report.imported} of ${report.rows} row(s) as legacy rows${again}, created ${report.organizationsCreated} organisation(s). ` +
                  'Run `pnpm erpc keys rotate` to re-encrypt them under the active key.\n',
              );
            }
            return report.skipped.length > 0 ? EXIT.FAILURE : EXIT.OK;
          } catch (err) {
            progress.stop();
            if (!isErpcError(err) || !err.code.startsWith('ERPC_ERR_IMPORT_') || err.code === 'ERPC_ERR_IMPORT_FILE_UNREADABLE') throw err;
            // The file was read and refused: list every problem, then fail.
            if (opts.json) process.stdout.write(`${JSON.stringify(err.toBody())}\n`);
            else {
              const problems = (err.details as { problems?: ImportProblem[] } | undefined)?.problems ?? [];
              for (const p of problems) process.stderr.write(`${problemLine(p)}\n`);
              process.stderr.write(`error ${err.code}: ${err.message}\n`);
            }
            return EXIT.FAILURE;
          } finally {
            await host.close();
          }
        }),
      );
  },
};

function problemLine(p: ImportProblem): string {
  const where = `line ${p.line}${p.orgId === undefined ? '' : ` (org ${p.orgId})`}`;
  const details = p.details?.map((d) => `${d.path} ${d.message}`).join('; ');
  return `${where}: ${p.kind}: ${p.message}${details ? `: ${details}` : ''}`;
}

/** A bar on a terminal (stderr); otherwise a plain line on stderr every 10,000 rows of long files. */
function progressBar(json: boolean): { update: (p: { phase: string; done: number; total: number | null }) => void; stop: () => void } {
  if (!process.stderr.isTTY || json) {
    return {
      update: (p) => {
        if (p.done % 10_000 === 0) process.stderr.write(`${p.phase === 'validate' ? 'checked' : 'inserted'} ${p.done}/${p.total ?? '?'}\n`);
      },
      stop: () => undefined,
    };
  }
  const bar = new cliProgress.SingleBar({ stream: process.stderr, format: '{phase} {bar} {value}/{total}', hideCursor: true }, cliProgress.Presets.shades_classic);
  let phase: string | null = null;
  return {
    update(p) {
      if (p.phase !== phase) {
        if (phase !== null) bar.stop();
        bar.start(p.total ?? p.done, 0, { phase: p.phase === 'validate' ? 'checking' : 'inserting' });
        phase = p.phase;
      }
      bar.update(p.done);
    },
    stop() {
      if (phase !== null) bar.stop();
      phase = null;
    },
  };
}
