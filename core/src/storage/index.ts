export {
  createDatabase,
  closeDatabase,
  databaseKind,
  databaseTarget,
  describeDatabaseUrl,
  type DatabaseKind,
  type DatabaseOptions,
} from './database.js';
export { isUniqueViolation, toStorageError, checkDatabase, retryingTransaction, isSerializationFailure } from './errors.js';
export { migrateLatest, migrationStatus, knownMigrations, MIGRATIONS_TABLE, type MigrateResult, type MigrationStatus } from './migrator.js';
export { migrationSource, MIGRATIONS, type MigrationModule } from './migrations/index.js';
export { PushListener, type PushListenerOptions } from './push-listener.js';
export { PushRepository } from './repositories/push-repository.js';
export type { Db, KeysetCursor, PageOptions } from './repositories/rows.js';
export { Repositories } from './repositories/index.js';
export { OrganizationRepository, type OrganizationRow } from './repositories/organization-repository.js';
export { ApiKeyRepository, type ApiKeyRow } from './repositories/api-key-repository.js';
export {
  ConnectionRepository,
  type ConnectionRow,
  type ConnectionStatus,
  type ConnectionPatch,
  type NewConnection,
  type TestOutcome,
} from './repositories/connection-repository.js';
