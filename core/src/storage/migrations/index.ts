import type { Knex } from 'knex';
import * as m0001 from './0001_initial.js';
import * as m0002 from './0002_push.js';
import * as m0003 from './0003_connection_import_source.js';
import * as m0004 from './0004_exact_payload_and_last_failure.js';
import * as m0005 from './0005_worker_heartbeat.js';
import * as m0006 from './0006_webhooks.js';
import * as m0007 from './0007_queue_indexes.js';
import * as m0008 from './0008_push_references_checked_by_parents.js';

/** A migration module: `up`, and `down` where one makes sense. */
export interface MigrationModule {
  up(knex: Knex): Promise<void>;
  down?(knex: Knex): Promise<void>;
}

/**
 * Every migration, in order. Names carry no file extension, so a database migrated from source
 * (vitest, .ts) and from dist (.js) records the same names. Append new ones; never rename.
 */
export const MIGRATIONS: ReadonlyArray<readonly [name: string, module: MigrationModule]> = [
  ['0001_initial', m0001],
  ['0002_push', m0002],
  ['0003_connection_import_source', m0003],
  ['0004_exact_payload_and_last_failure', m0004],
  // 0004 is issue I's; numbers are names here, and knex runs whichever are missing.
  ['0005_worker_heartbeat', m0005],
  ['0006_webhooks', m0006],
  ['0007_queue_indexes', m0007],
  ['0008_push_references_checked_by_parents', m0008],
];

/** knex's MigrationSource over {@link MIGRATIONS}: no directory scanning, works from source and dist. */
export const migrationSource: Knex.MigrationSource<string> = {
  async getMigrations() {
    return MIGRATIONS.map(([name]) => name);
  },
  getMigrationName(name) {
    return name;
  },
  async getMigration(name) {
    const found = MIGRATIONS.find(([n]) => n === name);
    if (found === undefined) throw new Error(`Unknown migration ${name}`);
    const [, module] = found;
    return { up: (knex: Knex) => module.up(knex), down: (knex: Knex) => (module.down ?? (async () => undefined))(knex) };
  },
};
