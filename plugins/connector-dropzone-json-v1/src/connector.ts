import { ConnectorError, defineConnector } from '@erpc/sdk';

export default defineConnector({
  connectorType: 'DROPZONE_JSON_V1',
  create: () => ({
    async testConnection() {
      return { ok: false, latencyMs: 0, message: 'DROPZONE_JSON_V1 is being built.' };
    },
    async push() {
      throw new ConnectorError('DROPZONE_NOT_READY', 'DROPZONE_JSON_V1 is being built.', { retryable: true });
    },
  }),
});
