import type { CliCommand } from '../command.js';
import { pluginsListCommand } from './plugins-list.js';
import { pluginsNewCommand } from './plugins-new.js';
import { conformanceCommand } from './conformance.js';
import { migrateCommand } from './migrate.js';

/** Every CLI command, in the order `erpc --help` lists them. Add new commands here. */
export const commands: CliCommand[] = [pluginsListCommand, pluginsNewCommand, conformanceCommand, migrateCommand];
