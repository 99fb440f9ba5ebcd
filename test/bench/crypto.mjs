// pnpm bench:crypto — ConfigCipher (built dist) against bare AES-256-GCM + JSON on the same config,
// measured in the same run. Figures: operations per second and the ratio to the baseline.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { ConfigCipher, generateKey, Keyring } from '../../core/dist/crypto/index.js';

const N = Number(process.env.BENCH_N ?? 100_000);
const config = {
  host: 'sftp.example.com', port: 22, username: 'erp-export', password: 'pässwörd-ü-🔑', path: '/inbound',
  options: { retries: 3, passive: true, tags: ['a', 'b', 'c'] },
};
const binding = { orgId: '6f1c2d4e-0000-4000-8000-000000000001', connectionId: '6f1c2d4e-0000-4000-8000-000000000002' };
const keyHex = generateKey();
const rawKey = Buffer.from(keyHex, 'hex');
const cipher = new ConfigCipher(new Keyring(keyHex, [generateKey()]));

function bareEncrypt(obj) {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', rawKey, iv, { authTagLength: 16 });
  const ct = Buffer.concat([c.update(JSON.stringify(obj)), c.final()]);
  return Buffer.concat([iv, ct, c.getAuthTag()]);
}
function bareDecrypt(blob) {
  const d = createDecipheriv('aes-256-gcm', rawKey, blob.subarray(0, 12), { authTagLength: 16 });
  d.setAuthTag(blob.subarray(blob.length - 16));
  return JSON.parse(Buffer.concat([d.update(blob.subarray(12, blob.length - 16)), d.final()]).toString('utf8'));
}

// The machine is shared: run baseline and ours interleaved in rounds and keep each one's best round.
const ROUNDS = 5;
function round(fn, n) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  return n / (Number(process.hrtime.bigint() - start) / 1e9);
}
function compare(base, ours) {
  for (let i = 0; i < 2000; i++) base(), ours(); // warm-up
  const best = { base: 0, ours: 0 };
  for (let r = 0; r < ROUNDS; r++) {
    best.base = Math.max(best.base, round(base, N / ROUNDS));
    best.ours = Math.max(best.ours, round(ours, N / ROUNDS));
  }
  return best;
}

const bareBlob = bareEncrypt(config);
const stored = cipher.encrypt(config, binding);
const ref = { ...binding, keyId: stored.keyId };

const rows = [
  ['encrypt', compare(() => bareEncrypt(config), () => cipher.encrypt(config, binding))],
  ['decrypt', compare(() => bareDecrypt(bareBlob), () => cipher.decrypt(stored.blob, ref))],
  ['reencrypt', compare(() => bareEncrypt(bareDecrypt(bareBlob)), () => cipher.reencrypt(stored.blob, ref))],
];

console.log(`crypto bench: ${N} operations each (best of ${ROUNDS} interleaved rounds), config of ${JSON.stringify(config).length} bytes JSON`);
for (const [op, { base, ours }] of rows) {
  console.log(
    `${op.padEnd(10)} baseline ${Math.round(base).toLocaleString('en').padStart(9)} ops/s   ` +
      `ConfigCipher ${Math.round(ours).toLocaleString('en').padStart(9)} ops/s   ratio ${(ours / base).toFixed(2)}x`,
  );
}
