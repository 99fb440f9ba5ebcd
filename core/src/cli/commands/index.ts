import type { CliCommand } from '../command.js';

/** Every CLI command, in the order `erpc --help` lists them. Add new commands here. */
export const commands: CliCommand[] = [];
