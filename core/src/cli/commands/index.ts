import type { CliCommand } from '../command.js';
import { pluginsListCommand } from './plugins-list.js';
import { pluginsNewCommand } from './plugins-new.js';
import { pluginsTryCommand } from './plugins-try.js';
import { conformanceCommand } from './conformance.js';
import { migrateCommand } from './migrate.js';
import { keysGenerateCommand } from './keys-generate.js';
import { keysStatusCommand } from './keys-status.js';
import { keysRotateCommand } from './keys-rotate.js';
import { connectionsImportCommand } from './connections-import.js';
import { workerCommand } from './worker.js';
import { pushCommand } from './push.js';
import { pushesRetryCommand } from './pushes-retry.js';

import { orgsCreateCommand } from './orgs-create.js';
import { orgsListCommand } from './orgs-list.js';
import { apiKeysCreateCommand, apiKeysListCommand, apiKeysRevokeCommand } from './api-keys.js';
import { serveCommand } from './serve.js';
import { webhooksListCommand, webhooksReplayCommand } from './webhooks.js';
import { configCheckCommand } from './config-check.js';
import { connectionsListCommand, pushesListCommand, pushesShowCommand, workersListCommand } from './operator-lists.js';

/** Every CLI command, in the order `erpc --help` lists them. Add new commands here. */
export const commands: CliCommand[] = [serveCommand, orgsCreateCommand, orgsListCommand, apiKeysCreateCommand, apiKeysListCommand, apiKeysRevokeCommand, pluginsListCommand, pluginsNewCommand, pluginsTryCommand, conformanceCommand, migrateCommand, keysGenerateCommand, keysStatusCommand, keysRotateCommand, connectionsListCommand, connectionsImportCommand, workerCommand, workersListCommand, pushCommand, pushesListCommand, pushesShowCommand, pushesRetryCommand, webhooksListCommand, webhooksReplayCommand, configCheckCommand];
