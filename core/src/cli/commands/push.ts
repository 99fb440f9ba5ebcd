import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { ErpcError, isErpcError } from '../../errors/index.js';
import { parseJsonInput } from '../../input/json-input.js';
import type { PushInput } from '../../push/push-service.js';
import { EXIT, action, type CliCommand } from '../command.js';
import { commandSettings, withHost } from '../host.js';

const BATCH = 500;

interface LineError {
  line: number;
  code: string;
  message: string;
}

/** Standard input as text (`--file -`). */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** The lines of `file` (`-`: standard input, read first). */
async function* linesOf(file: string, stdinText: string | undefined): AsyncGenerator<string> {
  if (stdinText !== undefined) {
    yield* stdinText.split(/\r?\n/);
    return;
  }
  yield* createInterface({ input: createReadStream(file), crlfDelay: Infinity });
}

/** Counts non-blank lines, for the progress bar's total. */
async function countLines(file: string): Promise<number> {
  let n = 0;
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) if (line.trim() !== '') n++;
  return n;
}

/**
 * `erpc push --org ID --file docs.jsonl`: enqueues one document per line
 * (`{"documentType","documentId","idempotencyKey"?,"payload"}`), in batches of 500 lines, one
 * statement each, the next sent while the current one commits (ADR 0037). Bad lines are reported with their line numbers and skipped; the rest are accepted.
 * Exit 0 when every line was accepted (or was already there), 1 when some failed.
 */
export const pushCommand: CliCommand = {
  register(program: Command) {
    program
      .command('push')
      .description('enqueue documents from a JSON Lines file for delivery to the organisation\'s active connection')
      .requiredOption('--org <id>', 'the organisation')
      .requiredOption('--file <path>', 'JSON Lines: one {"documentType","documentId","idempotencyKey"?,"payload"} per line; - reads standard input')
      .option('--json', 'print one JSON summary {accepted, created, replayed, failed, errors}')
      .action(
        action(async (opts: { org: string; file: string; json?: boolean }) => {
          const stdinText = opts.file === '-' ? await readStdin() : undefined;
          if (stdinText === undefined) {
            try {
              const s = await stat(opts.file);
              if (!s.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'EISDIR' });
            } catch (err) {
              throw new ErpcError('ERPC_ERR_PUSH_FILE_UNREADABLE', { path: opts.file, reason: (err as NodeJS.ErrnoException).code ?? (err as Error).message });
            }
          }
          const total = stdinText !== undefined ? stdinText.split(/\r?\n/).filter((l) => l.trim() !== '').length : await countLines(opts.file);
          // Progress on stderr only: a bar on a terminal, one line per batch otherwise.
          const tty = process.stderr.isTTY === true;
          const bar = tty ? new cliProgress.SingleBar({ stream: process.stderr, format: 'push [{bar}] {value}/{total} lines | {failed} failed | {eta_formatted} left', hideCursor: true }, cliProgress.Presets.shades_classic) : undefined;

          const errors: LineError[] = [];
          let created = 0;
          let replayed = 0;
          let done = 0;
          await withHost(commandSettings(), async (host) => {
            const pushes = host.services.pushes;
            bar?.start(total, 0, { failed: 0 });
            let batch: { line: number; input: PushInput }[] = [];
            // Pipelining (ADR 0037): the next batch is parsed and sent while the current one
            // commits (at most two in flight, each one statement on its own pooled connection).
            // A batch that repeats a key of the batch in flight waits for it, so the earlier
            // line is always the one that is accepted and the later one the replay or conflict.
            let inflight: { done: Promise<void>; keys: Set<string> } | undefined;
            const keyOf = (input: PushInput): string => {
              const i = input as Partial<PushInput> | null;
              return typeof i?.idempotencyKey === 'string' ? i.idempotencyKey : `${String(i?.documentType)}:${String(i?.documentId)}`;
            };
            const send = async (sent: { line: number; input: PushInput }[]) => {
              const results = await pushes.acceptMany(opts.org, sent.map((b) => b.input));
              results.forEach((r, i) => {
                const line = sent[i]!.line;
                if (r.ok) {
                  if (r.created) created++;
                  else replayed++;
                } else errors.push({ line, code: r.error.code, message: r.error.message });
              });
              done += sent.length;
              if (bar !== undefined) bar.update(done, { failed: errors.length });
              else process.stderr.write(`pushed ${done}/${total} lines (${errors.length} failed)\n`);
            };
            const flush = async () => {
              if (batch.length === 0) return;
              const sent = batch;
              batch = [];
              const keys = new Set(sent.map((b) => keyOf(b.input)));
              const previous = inflight;
              if (previous !== undefined && [...keys].some((k) => previous.keys.has(k))) await previous.done;
              const pending = send(sent);
              // Observed at once, so a failure is not an unhandled rejection while the next batch is read.
              pending.catch(() => undefined);
              inflight = { done: pending, keys };
              if (previous !== undefined) await previous.done;
            };
            const drain = async () => {
              await flush();
              await inflight?.done;
            };
            let lineNo = 0;
            for await (const text of linesOf(opts.file, stdinText)) {
              lineNo++;
              if (text.trim() === '') continue;
              let parsed: unknown;
              try {
                // Exact numbers and the same refusals as the API (ADR 0027): a line is a request body.
                parsed = parseJsonInput(text, { exact: true, maxDepth: host.config.payloadMaxDepth + 1 });
              } catch (err) {
                if (isErpcError(err)) errors.push({ line: lineNo, code: err.code, message: err.message });
                else errors.push({ line: lineNo, code: 'ERPC_ERR_PUSH_INVALID', message: `not valid JSON: ${(err as Error).message}` });
                done++;
                continue;
              }
              batch.push({ line: lineNo, input: parsed as PushInput });
              if (batch.length >= BATCH) await flush();
            }
            await drain();
          }).finally(() => bar?.stop());

          errors.sort((a, b) => a.line - b.line);
          const accepted = created + replayed;
          if (opts.json === true) {
            process.stdout.write(`${JSON.stringify({ accepted, created, replayed, failed: errors.length, errors })}\n`);
          } else {
            for (const e of errors.slice(0, 100)) process.stderr.write(`line ${e.line}: ${e.code}: ${e.message}\n`);
            if (errors.length > 100) process.stderr.write(`… and ${errors.length - 100} more failed lines\n`);
            process.stdout.write(`${accepted} accepted (${created} new, ${replayed} already queued), ${errors.length} failed\n`);
          }
          return errors.length > 0 ? EXIT.FAILURE : EXIT.OK;
        }),
      );
  },
};
