// Public surface of @erpc/core/crypto. `keyMaterial` stays internal.
export { Keyring, keyringFromEnv, generateKey, keyIdOf, type KeyEnv } from './keyring.js';
export { loadOrCreateLocalKey, LOCAL_KEY_FILE, type LocalKey } from './local-key.js';
export {
  ConfigCipher,
  ConfigDecryptError,
  isConfigDecryptError,
  LEGACY_KEY_ID,
  FORMAT_VERSION,
  CONFIG_PURPOSE,
  type ConfigDecryptErrorCode,
  type ConfigBinding,
  type StoredConfigRef,
  type EncryptedConfig,
} from './config-cipher.js';
export { SecretConfig } from './secret-config.js';
export { secretValuesOf, secretPointers, omitWriteOnly, redactWriteOnly } from './secret-fields.js';
