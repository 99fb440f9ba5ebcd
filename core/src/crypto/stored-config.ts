import type { Logger } from 'pino';
import { ErpcError } from '../errors/index.js';
import { isConfigDecryptError, type ConfigCipher } from './config-cipher.js';

/** What decrypting needs of a stored connection row. */
export interface StoredConnectionConfig {
  readonly id: string;
  readonly orgId: string;
  readonly connectorType: string;
  /** `erp_connection.config_encrypted`. Never leaves the host. */
  readonly configEncrypted: Uint8Array;
  /** `erp_connection.config_key_id`: a key id, or `legacy` for the original Python format. */
  readonly configKeyId: string;
}

/**
 * Decrypts a row's config. A row that does not decrypt is logged with its ids and the reason
 * code (never its bytes) and becomes ERPC_ERR_CONFIG_DECRYPT_FAILED: HTTP 500, "Configuration error".
 */
export function decryptStoredConfig(cipher: ConfigCipher, row: StoredConnectionConfig, logger: Logger): Record<string, unknown> {
  try {
    return cipher.decrypt(row.configEncrypted, { orgId: row.orgId, connectionId: row.id, keyId: row.configKeyId });
  } catch (err) {
    const code = isConfigDecryptError(err) ? err.code : 'UNEXPECTED';
    logger.error({ connectionId: row.id, orgId: row.orgId, connectorType: row.connectorType, code }, 'stored connection config does not decrypt');
    // The cause is not attached: its message is safe, but nothing about the row needs to travel further.
    throw new ErpcError('ERPC_ERR_CONFIG_DECRYPT_FAILED');
  }
}
