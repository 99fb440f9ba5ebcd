import { describe, expect, it } from 'vitest';
import { looksSecret } from '@erpc/conformance';

describe('looksSecret', () => {
  it('matches secret-looking names in any case and separator style', () => {
    for (const name of ['password', 'DB_PASSWORD', 'passphrase', 'clientSecret', 'client_secret', 'token', 'api_token', 'apiKey', 'api_key', 'API-KEY', 'privateKey', 'private_key', 'sftpPrivateKey', 'credentials', 'refreshToken']) {
      expect(looksSecret(name), name).toBe(true);
    }
  });
  it('leaves ordinary names alone', () => {
    for (const name of ['host', 'username', 'rootPath', 'tokenUrl', 'timeoutMs', 'keyId', 'apiVersion']) expect(looksSecret(name), name).toBe(false);
  });
});
