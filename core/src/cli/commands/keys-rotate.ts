import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { ErpcError } from '../../errors/index.js';
import { DEFAULT_ROTATION_BATCH_SIZE, type RotationProgress, type RotationReport } from '../../keys/index.js';
import { EXIT, action, type CliCommand } from '../command.js';
import { keysGroup } from './keys-group.js';
import { commandLogger, commandSettings, refuseWhileServing } from '../host.js';

interface Options {
  batchSize: string;
  dryRun?: boolean;
  json?: boolean;
}

/**
 * `erpc keys rotate [--batch-size N] [--dry-run] [--json]`: rewrites every config not under the
 * active key. Progress: a bar on a terminal, else one line per batch
 * (`rotated 300/1050 (batch 3, 812 rows/s, ETA 1s)`). Exits 1 when a row did not decrypt, rows
 * stayed locked, or the run was interrupted; running it again finishes the work.
 */
export const keysRotateCommand: CliCommand = {
  register(program: Command) {
    keysGroup(program)
      .command('rotate')
      .description('re-encrypt every connection config that is not under the active key (legacy rows included), online, in batches; safe to interrupt and re-run')
      .option('--batch-size <n>', 'rows per batch (one transaction each)', String(DEFAULT_ROTATION_BATCH_SIZE))
      .option('--dry-run', 'count the rows to rotate and try to decrypt them, write nothing')
      .option('--json', 'print one JSON document (the report) on stdout; progress lines go to stderr')
      .action(
        action(async (opts: Options) => {
          const batchSize = Number(opts.batchSize);
          if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) {
            throw new ErpcError('ERPC_ERR_USAGE', { reason: '--batch-size must be an integer from 1 to 10000' });
          }
          const config = commandSettings();
          await refuseWhileServing(config);
          const { openHost } = await import('../../container.js');
          const host = await openHost(config, { logger: commandLogger(config), plugins: 'none' });
          const controller = new AbortController();
          const stop = (): void => {
            if (controller.signal.aborted) process.exit(EXIT.FAILURE); // second Ctrl-C: the open batch rolls back
            process.stderr.write('\nstopping after the current batch (Ctrl-C again to stop now)...\n');
            controller.abort();
          };
          process.on('SIGINT', stop);
          process.on('SIGTERM', stop);
          // Progress is never output: stderr, a bar on a terminal, one line per batch otherwise.
          const display = progressDisplay(process.stderr, opts.dryRun === true);
          try {
            const report = await host.services.keyRotation.rotate({
              batchSize,
              dryRun: opts.dryRun === true,
              signal: controller.signal,
              onProgress: (p) => display.update(p),
            });
            display.stop();
            if (opts.json) process.stdout.write(`${JSON.stringify(report)}\n`);
            else process.stdout.write(formatReport(report));
            if (report.failed.length > 0 || report.remaining > 0) {
              const err = new ErpcError('ERPC_ERR_KEY_ROTATION_INCOMPLETE', { failed: report.failed.length, remaining: report.remaining });
              process.stderr.write(`error ${err.code}: ${err.message}\n`);
              return EXIT.FAILURE;
            }
            return report.aborted ? EXIT.FAILURE : EXIT.OK;
          } finally {
            display.stop();
            process.off('SIGINT', stop);
            process.off('SIGTERM', stop);
            await host.close();
          }
        }),
      );
  },
};

interface ProgressDisplay {
  update(p: RotationProgress): void;
  stop(): void;
}

/** A cli-progress bar when `out` is a terminal, else one parseable line per batch. */
function progressDisplay(out: NodeJS.WriteStream, dryRun: boolean): ProgressDisplay {
  const verb = dryRun ? 'checked' : 'rotated';
  if (out.isTTY) {
    const bar = new cliProgress.SingleBar(
      { stream: out, format: `${verb} {bar} {value}/{total} | {rate} rows/s | ETA {eta_formatted} | failed {failed}`, hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      update(p) {
        const rate = p.elapsedMs > 0 ? Math.round((p.done * 1000) / p.elapsedMs) : 0;
        if (!started) {
          bar.start(Math.max(p.total, p.done), 0, { rate, failed: 0 });
          started = true;
        }
        bar.setTotal(Math.max(p.total, p.done));
        bar.update(p.done, { rate, failed: p.failed });
      },
      stop() {
        if (started) bar.stop();
        started = false;
      },
    };
  }
  return {
    update(p) {
      out.write(`${progressLine(verb, p)}\n`);
    },
    stop() {},
  };
}

/** `rotated 300/1050 (batch 3, 812 rows/s, ETA 1s)` */
export function progressLine(verb: string, p: RotationProgress): string {
  const rate = p.elapsedMs > 0 ? (p.done * 1000) / p.elapsedMs : 0;
  const left = Math.max(0, p.total - p.done);
  const eta = rate > 0 ? `${Math.ceil(left / rate)}s` : '?';
  return `${verb} ${p.done}/${p.total} (batch ${p.batches}, ${Math.round(rate)} rows/s, ETA ${eta}${p.failed > 0 ? `, ${p.failed} failed` : ''})`;
}

/** The human summary: failures by connection id and code, then totals. */
export function formatReport(r: RotationReport): string {
  const lines: string[] = [];
  for (const f of r.failed) lines.push(`failed ${f.table === undefined ? 'connection' : 'webhook endpoint secret'} ${f.connectionId}: ${f.code}`);
  const seconds = (r.elapsedMs / 1000).toFixed(1);
  if (r.dryRun) {
    lines.push(`dry run: ${r.rotated} row(s) would be rotated to key ${r.activeKeyId}, ${r.failed.length} do not decrypt (${seconds}s). Nothing was written.`);
  } else {
    lines.push(
      `${r.rotated} row(s) rotated to key ${r.activeKeyId} in ${r.batches} batch(es), ${r.failed.length} failed` +
        `${r.changedConcurrently > 0 ? `, ${r.changedConcurrently} updated meanwhile by others` : ''}` +
        `${r.remaining > 0 ? `, ${r.remaining} still locked by other transactions` : ''} (${seconds}s).`,
    );
    if (r.aborted) lines.push('Interrupted: run `pnpm erpc keys rotate` again to finish.');
    else if (r.failed.length === 0 && r.remaining === 0) lines.push('Check with `pnpm erpc keys status`; once every instance runs with the new key, remove the old one from ENCRYPTION_PREVIOUS_KEYS.');
  }
  return `${lines.join('\n')}\n`;
}
