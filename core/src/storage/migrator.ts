import type { Knex } from 'knex';
import { ErpcError, isErpcError } from '../errors/index.js';
import { databaseTarget } from './database.js';
import { toStorageError } from './errors.js';
import { MIGRATIONS, migrationSource } from './migrations/index.js';

/** The table where knex records applied migrations. */
export const MIGRATIONS_TABLE = 'erpc_migrations';

const config = (): Knex.MigratorConfig => ({ migrationSource, tableName: MIGRATIONS_TABLE });

/** The outcome of {@link migrateLatest}. */
export interface MigrateResult {
  /** The migrations applied by this call, in order (empty when already up to date). */
  applied: string[];
  /** knex's batch number of this run (unchanged when nothing ran). */
  batch: number;
}

/**
 * Applies every pending migration (each in its own transaction; knex's lock table keeps two
 * processes from migrating at once). Connection failures become ERPC_ERR_STORAGE_*, a failing
 * migration ERPC_ERR_STORAGE_MIGRATION_FAILED.
 */
export async function migrateLatest(knex: Knex, url?: string): Promise<MigrateResult> {
  try {
    const [batch, applied] = (await knex.migrate.latest(config())) as [number, string[]];
    return { batch, applied };
  } catch (err) {
    const mapped = toStorageError(err, knex, url);
    if (isErpcError(mapped) || mapped !== err) throw mapped;
    throw new ErpcError(
      'ERPC_ERR_STORAGE_MIGRATION_FAILED',
      { target: databaseTarget(knex), reason: err instanceof Error ? err.message : String(err) },
      { cause: err },
    );
  }
}

/** Which migrations are applied and which are pending. */
export interface MigrationStatus {
  applied: string[];
  pending: string[];
}

/** Applied and pending migrations, without changing anything. */
export async function migrationStatus(knex: Knex, url?: string): Promise<MigrationStatus> {
  try {
    const [completed, pending] = (await knex.migrate.list(config())) as [Array<{ name: string } | string>, string[]];
    return {
      applied: completed.map((c) => (typeof c === 'string' ? c : c.name)),
      pending: pending.map((p) => (typeof p === 'string' ? p : (p as { name: string }).name)),
    };
  } catch (err) {
    throw toStorageError(err, knex, url);
  }
}

/** Names of every migration this build knows, in order. */
export function knownMigrations(): string[] {
  return MIGRATIONS.map(([name]) => name);
}
