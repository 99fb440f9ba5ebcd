// pnpm bench:plans — the push table's queue and listing queries at 1M rows (ADR 0038, ADR 0049).
//
// A scratch PostgreSQL database (BENCH_DATABASE_URL's server), migrated to the latest schema, is
// filled with PLANS_ROWS (1,000,000) pushes of two organisations (90 % / 10 %): per organisation
// the newest 2,000 PENDING and 64 PROCESSING (a lease that has not expired), 0.5 % DEAD,
// 0.1 % REJECTED, the rest DELIVERED or ACKNOWLEDGED, then VACUUM ANALYZE. Each query is the one
// the repository sends: the repository method is called inside a transaction with knex's query
// events captured, and each captured statement runs again as EXPLAIN (ANALYZE, BUFFERS) inside a
// transaction that is rolled back (the claims and requeues write). Prints a table of plans and
// execution times, the index sizes, and with PLANS_VERBOSE=1 every plan. The database is dropped
// at the end (BENCH_KEEP=1 keeps it).
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { randomBytes, randomUUID } from 'node:crypto';

const here = fileURLToPath(new URL('.', import.meta.url));
const dist = (p) => import(pathToFileURL(join(here, '../../core/dist', p)).href);
const { Repositories, createDatabase, migrateLatest, closeDatabase } = await dist('storage/index.js');
const pg = createRequire(join(here, '../../core/package.json'))('pg');

const BASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const ROWS = Number(process.env.PLANS_ROWS ?? 1_000_000);
const VERBOSE = process.env.PLANS_VERBOSE === '1';
const name = `erpc_plans_${randomBytes(3).toString('hex')}`;
const admin = new pg.Client({ connectionString: BASE_URL });
await admin.connect();
await admin.query(`CREATE DATABASE ${name}`);
const url = new URL(BASE_URL);
url.pathname = `/${name}`;
const db = await createDatabase({ databaseUrl: url.toString() });
let explainer;
try {
  await migrateLatest(db);
  const [big, small] = [randomUUID(), randomUUID()];
  const conns = { [big]: randomUUID(), [small]: randomUUID() };
  const now = new Date();
  for (const org of [big, small]) {
    await db('organization').insert({ id: org, name: `org ${org.slice(0, 8)}`, created_at: now, updated_at: now });
    await db('erp_connection').insert({ id: conns[org], org_id: org, connector_type: 'MOCK', name: 'm', status: 'ACTIVE', config_encrypted: Buffer.from([0]), config_key_id: 'k', created_at: now, updated_at: now });
  }
  const t0 = performance.now();
  for (const [org, n] of [[big, Math.round(ROWS * 0.9)], [small, ROWS - Math.round(ROWS * 0.9)]]) {
    // g = 1 is the oldest; the newest 2,064 are the queue (2,000 PENDING, 64 PROCESSING).
    await db.raw(
      `INSERT INTO push (id, org_id, connection_id, connector_type, document_type, document_id, idempotency_key, payload_text, payload_sha256,
                         status, attempts, next_attempt_at, locked_by, locked_until, external_ref, delivered_at, acknowledged_at, rejected_at, dead_at,
                         last_error_code, created_at, updated_at)
       SELECT gen_random_uuid(), :org, :conn, 'MOCK', CASE WHEN g % 3 = 0 THEN 'order' ELSE 'invoice' END, 'D-' || g, 'k-' || g,
              '{"number":"INV-' || g || '","total":12.5}', md5(g::text) || md5(g::text), s.status,
              CASE WHEN s.status IN ('PENDING') THEN 0 ELSE 1 END,
              CASE WHEN s.status IN ('PENDING', 'PROCESSING') THEN c END,
              CASE WHEN s.status = 'PROCESSING' THEN 'w1' END,
              CASE WHEN s.status = 'PROCESSING' THEN :now::timestamptz + interval '1 minute' END,
              CASE WHEN s.status IN ('DELIVERED', 'ACKNOWLEDGED') THEN 'ref-' || g END,
              CASE WHEN s.status IN ('DELIVERED', 'ACKNOWLEDGED') THEN c END,
              CASE WHEN s.status = 'ACKNOWLEDGED' THEN c END,
              CASE WHEN s.status = 'REJECTED' THEN c END,
              CASE WHEN s.status = 'DEAD' THEN c END,
              CASE WHEN s.status = 'DEAD' THEN (ARRAY['ERPC_ERR_A', 'ERPC_ERR_B'])[1 + g % 2] END,
              c, c
         FROM generate_series(1, :n::int) AS g,
              LATERAL (SELECT :now::timestamptz - make_interval(secs => (:n::int - g) * 0.5) AS c) AS t,
              LATERAL (SELECT CASE WHEN g > :n::int - 2000 THEN 'PENDING'
                                   WHEN g > :n::int - 2064 THEN 'PROCESSING'
                                   WHEN g % 200 = 7 THEN 'DEAD'
                                   WHEN g % 1000 = 11 THEN 'REJECTED'
                                   WHEN g % 2 = 0 THEN 'ACKNOWLEDGED'
                                   ELSE 'DELIVERED' END AS status) AS s`,
      { org, conn: conns[org], n, now },
    );
  }
  await db.raw('VACUUM ANALYZE push');
  explainer = new pg.Client({ connectionString: url.toString() });
  await explainer.connect();
  process.stderr.write(`${ROWS} rows in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);

  // Captures the statements a repository call sends (inside a transaction, so hot statements go
  // through knex too), then runs each as EXPLAIN (ANALYZE, BUFFERS), rolled back.
  async function plansOf(label, call) {
    const captured = [];
    const onQuery = (q) => {
      if (!/^(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)/i.test(q.sql)) captured.push({ sql: q.sql, bindings: q.bindings ?? [] });
    };
    await db.transaction(async (trx) => {
      trx.on('query', onQuery);
      await call(new Repositories(trx).pushes);
      trx.removeListener('query', onQuery);
      throw new Error('rollback');
    }).catch((err) => {
      if (err.message !== 'rollback') throw err;
    });
    const out = [];
    for (const q of captured) {
      // knex's query event gives the statement as sent ($n placeholders): run it on a plain client.
      await explainer.query('BEGIN');
      try {
        const r = await explainer.query(`EXPLAIN (ANALYZE, BUFFERS) ${q.sql}`, q.bindings);
        out.push(r.rows.map((x) => x['QUERY PLAN']));
      } finally {
        await explainer.query('ROLLBACK');
      }
    }
    return { label, plans: out };
  }
  const nowAt = new Date();
  const lease = new Date(nowAt.getTime() + 60_000);
  const later = new Date(nowAt.getTime() + 120_000);
  const cases = [
    ['list, no filter', (p) => p.list(big, { limit: 50 })],
    ['list PENDING', (p) => p.list(big, { status: 'PENDING', limit: 50 })],
    ['list PROCESSING', (p) => p.list(big, { status: 'PROCESSING', limit: 50 })],
    ['list DELIVERED', (p) => p.list(big, { status: 'DELIVERED', limit: 50 })],
    ['list ACKNOWLEDGED + documentType', (p) => p.list(big, { status: 'ACKNOWLEDGED', documentType: 'order', limit: 50 })],
    ['list DEAD', (p) => p.list(big, { status: 'DEAD', limit: 50 })],
    ['list REJECTED', (p) => p.list(big, { status: 'REJECTED', limit: 50 })],
    ['bulk retry dry run (count DEAD)', (p) => p.countDead(big, {})],
    ['bulk retry batch (500)', (p) => p.retryDeadBatch(big, {}, nowAt, nowAt, 500)],
    ['queue-depth gauge', (p) => p.queueDepth()],
    ['stats by status (100k org)', (p) => p.countByStatus(small)],
    ['claim (16)', (p) => p.claimDueWithConnections('w2', nowAt, lease, 16)],
    ['expired-lease requeue, none expired', (p) => p.requeueExpiredLeases(nowAt, 5, 1000)],
    ['expired-lease requeue, 128 expired', (p) => p.requeueExpiredLeases(later, 5, 1000)],
    ['ack-check claim', (p) => p.claimAckChecks('w2', nowAt, lease, 16)],
  ];
  const rows = [];
  for (const [label, call] of cases) {
    const r = await plansOf(label, call);
    for (const lines of r.plans) {
      const scans = [...new Set(lines.map((l) => /((?:Parallel )?(?:Index Only Scan|Index Scan|Bitmap Index Scan|Seq Scan))(?: Backward)?(?: using (\w+))?(?: on (\w+))?/.exec(l)).filter(Boolean).map((m) => `${m[1]}${m[2] ? ` ${m[2]}` : ` ${m[3] ?? ''}`}`))];
      const ms = lines.map((l) => /Execution Time: ([\d.]+) ms/.exec(l)).find(Boolean)?.[1];
      rows.push(`| ${label} | ${scans.join(', ')} | ${ms} ms |`);
      if (VERBOSE) process.stdout.write(`\n### ${label}\n\n\`\`\`\n${lines.join('\n')}\n\`\`\`\n`);
    }
  }
  const sizes = await db.raw(`SELECT pg_size_pretty(pg_relation_size('push')) AS heap, pg_size_pretty(pg_indexes_size('push')) AS indexes`);
  const each = await db.raw(`SELECT indexrelname AS name, pg_size_pretty(pg_relation_size(indexrelid)) AS size FROM pg_stat_user_indexes WHERE relname = 'push' ORDER BY indexrelname`);
  console.log(`bench:plans — ${ROWS} pushes, PostgreSQL ${(await db.raw('SHOW server_version')).rows[0].server_version}, Node ${process.version}`);
  console.log('\n| query | scans | execution |\n|---|---|---|');
  console.log(rows.join('\n'));
  console.log(`\nheap ${sizes.rows[0].heap}, indexes ${sizes.rows[0].indexes}: ${each.rows.map((r) => `${r.name} ${r.size}`).join(', ')}`);
} finally {
  await explainer?.end();
  await closeDatabase(db);
  if (process.env.BENCH_KEEP !== '1') await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
}
