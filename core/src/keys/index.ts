// Key rotation, the key status and the start-up key check.
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
  encryptedRows,
  checkKeysAtStartup,
  describeMissingKeys,
  KeyHealth,
  type KeyStatus,
  type KeyRowCount,
  type LegacyRowStatus,
  type StartupKeyCheck,
  type HealthKeys,
} from './key-status.js';
export type { KeyStore, RotationBatchStore } from './ports.js';
