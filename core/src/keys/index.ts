// Key rotation, key status / start-up check, and import of rows from the original system.
export {
  KeyRotationService,
  DEFAULT_ROTATION_BATCH_SIZE,
  DEFAULT_LOCK_WAIT_MS,
  type RotationOptions,
  type RotationProgress,
  type RotationReport,
  type RotationFailure,
} from './key-rotation-service.js';
export {
  readKeyStatus,
  checkKeysAtStartup,
  describeMissingKeys,
  allowMissingKeysFromEnv,
  KeyHealth,
  type KeyStatus,
  type KeyRowCount,
  type LegacyRowStatus,
  type StartupKeyCheck,
  type HealthKeys,
} from './key-status.js';
export {
  ConnectionImportService,
  type ImportOptions,
  type ImportReport,
  type ImportProblem,
  type ImportProblemKind,
} from './connection-import-service.js';
export { enforceKeysAtStartup, type KeyCheckHost, type KeysHealthCheck } from './startup-check.js';
