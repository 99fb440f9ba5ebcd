import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe } from 'vitest';
import { describeConnectorConformance } from '@erpc/conformance/vitest';
import { HAVE_SSHD, freePort, startSshd, type Sshd } from './sshd.js';

let server: Sshd | undefined;
const run = HAVE_SSHD || Boolean(process.env.CI);
beforeAll(async () => {
  if (run) server = await startSshd();
});
afterAll(async () => {
  await server?.stop();
});

const closedPort = await freePort();
const fingerprint = 'SHA256:' + 'A'.repeat(43);

if (run) {
  // The kit loads the plugin as a host does, through its manifest's entry (dist/): `pnpm build` first.
  describeConnectorConformance({
    name: 'SFTP_DROPZONE_JSON_V1 conforms to the connector contract, against a real sshd',
    pluginDir: fileURLToPath(new URL('..', import.meta.url)),
    // A fresh, empty folder on the server per check; acknowledgements on, so
    // delivery-check.states exercises checkDelivery rather than its "disabled" error.
    validConfig: () => ({
      host: '127.0.0.1',
      port: server!.port,
      username: server!.username,
      remotePath: mkdtempSync(join(server!.drop, 'conformance-')),
      hostKeySha256: server!.hostKeySha256,
      privateKey: server!.privateKey,
      acknowledgements: { enabled: true },
    }),
    invalidConfigs: [
      {},
      { host: '127.0.0.1', username: 'u', remotePath: '/drop', hostKeySha256: fingerprint }, // no key, no password
      { host: '127.0.0.1', username: 'u', remotePath: 'relative', hostKeySha256: fingerprint, password: 'x' },
      { host: '127.0.0.1', username: 'u', remotePath: '/drop', hostKeySha256: 'MD5:aa:bb', password: 'x' },
      { host: '127.0.0.1', username: 'u', remotePath: '/drop', hostKeySha256: fingerprint, password: 'x', port: 0 },
      { host: '127.0.0.1', username: 'u', remotePath: '/drop', hostKeySha256: fingerprint, password: 'x', passphrase: 'p' },
      { host: '127.0.0.1', username: 'u', remotePath: '/drop', hostKeySha256: fingerprint, password: 'x', maxConcurrentUploads: 11 },
      { host: '127.0.0.1', username: 'u', remotePath: '/drop', hostKeySha256: fingerprint, password: 'x', extra: 1 },
    ],
    // Valid by the schema, but nothing listens on the port.
    unreachableConfig: { host: '127.0.0.1', port: closedPort, username: 'erpc', remotePath: '/drop', hostKeySha256: fingerprint, password: 'not-used', connectTimeoutMs: 2000 },
  });
} else {
  describe.skip('SFTP_DROPZONE_JSON_V1 conformance (needs /usr/sbin/sshd: apt-get install openssh-server)', () => undefined);
}
