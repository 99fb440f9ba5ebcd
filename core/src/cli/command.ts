import type { Command } from 'commander';
import { ErpcError, isErpcError } from '../errors/index.js';

/** Exit codes scripts can rely on. */
export const EXIT = {
  OK: 0,
  /** The command ran and found failures (a failed plugin under --strict, a row that did not rotate…). */
  FAILURE: 1,
  /** Wrong arguments or options. */
  USAGE: 2,
  /** The command could not run: configuration, database or key problem. */
  ERROR: 3,
} as const;

/** A CLI command module: adds itself to the program. */
export interface CliCommand {
  register(program: Command): void;
}

let pendingExitCode: number = EXIT.OK;

/** The exit code the process ends with once the command's action has returned. */
export function exitCode(): number {
  return pendingExitCode;
}

/**
 * Wraps a command action: its returned number becomes the exit code; an ErpcError is printed as
 * `error CODE: message` on stderr (never a stack, never a secret) and exits with EXIT.ERROR
 * (EXIT.USAGE for ERPC_ERR_USAGE). Under `--json` the error is one JSON document on stdout
 * instead, `{"error":{"code","message","details"?}}`, with the same exit code.
 */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      const code = await fn(...args);
      pendingExitCode = code ?? EXIT.OK;
    } catch (err) {
      const erpc = isErpcError(err) ? err : new ErpcError('ERPC_ERR_INTERNAL', {}, { cause: err });
      if (wantsJson(args)) process.stdout.write(`${JSON.stringify(erpc.toBody())}\n`);
      else if (isErpcError(err)) process.stderr.write(`error ${err.code}: ${err.message}\n`);
      else process.stderr.write(`error ERPC_ERR_INTERNAL: ${err instanceof Error ? err.message : String(err)}\n`);
      pendingExitCode = erpc.code === 'ERPC_ERR_USAGE' ? EXIT.USAGE : EXIT.ERROR;
    }
  };
}

/** Whether the command was given `--json` (commander passes the options, then the command, last). */
function wantsJson(args: readonly unknown[]): boolean {
  return args.some((a) => typeof a === 'object' && a !== null && !Array.isArray(a) && (a as { json?: unknown }).json === true);
}

/** Collects a repeatable option (`--plugins-dir a --plugins-dir b`). */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/**
 * The command group `name` (`erpc keys`, `erpc pushes`…): the one its first subcommand created,
 * or a new one. Subcommands live in modules of their own, so whichever registers first creates it.
 */
export function commandGroup(program: Command, name: string, description: string): Command {
  return program.commands.find((c) => c.name() === name) ?? program.command(name).description(description);
}
