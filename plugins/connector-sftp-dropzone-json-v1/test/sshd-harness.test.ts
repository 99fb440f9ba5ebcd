import { createServer, type Server } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { HAVE_SSHD, startSshd, type Sshd } from './sshd.js';

const suite = HAVE_SSHD || process.env.CI ? describe : describe.skip;

let taken: Server | undefined;
let server: Sshd | undefined;
afterAll(async () => {
  await server?.stop();
  await new Promise((r) => (taken ? taken.close(r) : r(undefined)));
});

suite('the sshd test harness', () => {
  it('starts on another free port when the one it picked was taken before sshd could bind it', async () => {
    taken = createServer();
    await new Promise<void>((r) => taken!.listen(0, '127.0.0.1', r));
    const busy = (taken.address() as { port: number }).port;
    server = await startSshd({ port: busy });
    expect(server.port).not.toBe(busy);
    // The server answers on its port with OpenSSH's banner (not the process holding the other one).
    const banner = await new Promise<string>((resolve, reject) => {
      import('node:net').then(({ connect }) => {
        const s = connect(server!.port, '127.0.0.1');
        s.once('data', (d) => {
          s.destroy();
          resolve(d.toString('utf8'));
        });
        s.once('error', reject);
      }, reject);
    });
    expect(banner).toMatch(/^SSH-2\.0-OpenSSH/);
  });
});
