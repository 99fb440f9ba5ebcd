// pnpm bench:rotate — rotates 100,000 connection configs on PostgreSQL with the built KeyRotationService
// (core/dist), beside two bare baselines measured in the same run: the same number of AES-GCM
// decrypt+encrypt (ConfigCipher.reencrypt) without a database, and one bare UPDATE rewriting every
// row's config_encrypted. Scratch schema in BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres),
// dropped at the end. ROWS and BATCH_SIZES (comma-separated) override the defaults.
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { ConnectionRepository, createDatabase, migrateLatest } from '../../core/dist/storage/index.js';
import { ConfigCipher, Keyring, generateKey } from '../../core/dist/crypto/index.js';
import { KeyRotationService, DEFAULT_ROTATION_BATCH_SIZE } from '../../core/dist/keys/index.js';

const BASE = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const ROWS = Number(process.env.ROWS ?? 100_000);
const BATCH_SIZES = (process.env.BATCH_SIZES ?? String(DEFAULT_ROTATION_BATCH_SIZE)).split(',').map(Number);
const schema = `erpc_bench_rotate_${process.pid}`;
const url = new URL(BASE);
url.searchParams.set('options', `-c search_path=${schema}`);

const admin = await createDatabase({ url: BASE, poolMax: 1 });
await admin.raw(`CREATE SCHEMA ${schema}`);
const db = await createDatabase({ url: url.toString(), poolMax: 4 });
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
const fmt = (n) => Math.round(n).toLocaleString('en-US');

try {
  await migrateLatest(db);
  const keyA = generateKey();
  const keyB = generateKey();
  const cipherA = new ConfigCipher(new Keyring(keyA));
  const keyringB = new Keyring(keyB, [keyA]);
  const cipherB = new ConfigCipher(keyringB);
  const config = (i) => ({ host: 'erp.example.com', port: 443, username: `tenant-${i}`, apiKey: `k-${i}-${'s'.repeat(24)}`, options: { layout: 'by-document-type', fsync: true } });

  const orgs = Array.from({ length: 100 }, () => randomUUID());
  const now = new Date();
  await db('organization').insert(orgs.map((id, i) => ({ id, name: `org ${i}`, created_at: now, updated_at: now })));

  // Seed: rows under key A, in multi-row INSERTs.
  const seed = async () => {
    await db.raw('TRUNCATE erp_connection CASCADE');
    for (let i = 0; i < ROWS; i += 2000) {
      const chunk = [];
      for (let j = i; j < Math.min(i + 2000, ROWS); j += 1) {
        const id = randomUUID();
        const orgId = orgs[j % orgs.length];
        const { blob, keyId } = cipherA.encrypt(config(j), { orgId, connectionId: id });
        chunk.push({ id, org_id: orgId, connector_type: 'MOCK', name: `c${j}`, status: 'DISABLED', config_encrypted: blob, config_key_id: keyId, created_at: now, updated_at: now });
      }
      await db('erp_connection').insert(chunk);
    }
    await db.raw('VACUUM ANALYZE erp_connection');
  };
  let t0 = process.hrtime.bigint();
  await seed();
  const seedMs = ms(t0);

  // Baseline 1: the crypto alone, on the same rows, no database.
  const rows = await db('erp_connection').select('id', 'org_id', 'config_key_id', 'config_encrypted');
  t0 = process.hrtime.bigint();
  for (const r of rows) cipherB.reencrypt(r.config_encrypted, { orgId: r.org_id, connectionId: r.id, keyId: r.config_key_id });
  const cryptoMs = ms(t0);
  // Baseline 2: one bare UPDATE rewriting every row's config (the database's write floor).
  t0 = process.hrtime.bigint();
  await db.raw('UPDATE erp_connection SET config_encrypted = config_encrypted || \'\'::bytea');
  const updateMs = ms(t0);
  const bareMs = cryptoMs + updateMs;

  console.log(`bench:rotate — ${fmt(ROWS)} rows on PostgreSQL, node ${process.version}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), ${new Date().toISOString()}`);
  console.log(`seeded in ${(seedMs / 1000).toFixed(1)} s`);
  console.log(`baseline  crypto only (reencrypt x${fmt(ROWS)}, no DB):   ${(cryptoMs / 1000).toFixed(2)} s  (${fmt((ROWS * 1000) / cryptoMs)} rows/s)`);
  console.log(`baseline  one bare UPDATE of every row:                  ${(updateMs / 1000).toFixed(2)} s  (${fmt((ROWS * 1000) / updateMs)} rows/s)`);
  console.log(`baseline  sum:                                           ${(bareMs / 1000).toFixed(2)} s`);

  for (const [i, batchSize] of BATCH_SIZES.entries()) {
    if (i > 0) await seed();
    const service = new KeyRotationService(new ConnectionRepository(db), keyringB, cipherB);
    t0 = process.hrtime.bigint();
    const report = await service.rotate({ batchSize });
    const rotateMs = ms(t0);
    const left = Number((await db('erp_connection').whereNot('config_key_id', keyringB.activeKeyId).count({ n: '*' }).first()).n);
    if (report.rotated !== ROWS || report.failed.length > 0 || left !== 0) {
      throw new Error(`rotation incomplete: rotated ${report.rotated}, failed ${report.failed.length}, left ${left}`);
    }
    console.log(
      `rotate    batch ${String(batchSize).padStart(5)}: ${(rotateMs / 1000).toFixed(2)} s  (${fmt((ROWS * 1000) / rotateMs)} rows/s, ${report.batches} batches)` +
        `  ratio vs bare sum: ${(rotateMs / bareMs).toFixed(2)}x  ${rotateMs < 20_000 ? 'target <20 s: met' : 'target <20 s: MISSED'}`,
    );
  }
} finally {
  await db.destroy();
  await admin.raw(`DROP SCHEMA ${schema} CASCADE`);
  await admin.destroy();
}
