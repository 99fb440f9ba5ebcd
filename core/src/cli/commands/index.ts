import type { CliCommand } from '../command.js';
import { pluginsListCommand } from './plugins-list.js';

/** Every CLI command, in the order `erpc --help` lists them. Add new commands here. */
export const commands: CliCommand[] = [pluginsListCommand];
