import { it } from 'vitest';
import { startSshd } from './sshd.js';
import { createSftpDropzoneConnector } from '../src/index.js';
import { configFor, ctxFor, doc } from './helpers.js';
it('smoke', async () => {
  let t = performance.now();
  const s = await startSshd();
  console.log('sshd', performance.now() - t);
  for (let i = 0; i < 4; i++) {
    const c = createSftpDropzoneConnector();
    t = performance.now();
    await c.push(doc(), ctxFor(configFor(s)));
    const a = performance.now() - t; t = performance.now();
    await c.push(doc(), ctxFor(configFor(s)));
    console.log('first push', a, 'second', performance.now() - t);
    await c.dispose();
  }
  await s.stop();
}, 30000);
