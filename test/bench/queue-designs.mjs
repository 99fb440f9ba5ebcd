#!/usr/bin/env node
// pnpm bench:queue-designs   (PostgreSQL; ADR 0054)
//
// WAL per drained push for queue designs that erpc does not use (yet), replayed in SQL beside a
// replica of the design it does use, so that a design is measured before it is built. Each design
// gets a fresh database: N pushes accepted in batches of 500 (the same row as erpc's accept
// writes, the bench:queue document), then drained by one client, a claim of 16 and their
// DELIVERED outcome in one statement each, until the queue is empty. It prints WAL bytes per job
// for the enqueue and for the drain, how many of the push row's updates were HOT, and the drain's
// jobs/s (one client, claim and outcome in turn: a statement's cost, not a worker's throughput).
//
// WAL is counted like bench:queue counts it: the records of the design's own database between two
// LSNs, read with pg_waldump (commit records name no relation and are left out), when this process
// can read the server's pg_wal; else the LSN difference of the whole server (then commits count).
//
// The designs (see ADR 0054 for what each would take in the product):
//   current      the push table as migrations 0001–0008 leave it (fill factor 90, migration 0007):
//                the claim and the outcome each write the whole row, neither is HOT (status is in
//                five index predicates).
//   hot-claim-*  a narrow queue table (due time) whose rows the claim deletes; the push row's
//                indexes name no column the claim or a delivered outcome writes, so both of its
//                updates can be HOT; one lease row per claim. The number is the fill factor.
//   lease-*      the same, but the claim writes no push row at all (PROCESSING lives in the lease
//                row): the outcome is the push row's only update.
//   current-toast  current with the payload stored out of line (STORAGE EXTERNAL, toast_tuple_target
//                512). It changes nothing below 2 KB: PostgreSQL starts to toast a row only past
//                TOAST_TUPLE_THRESHOLD (about 2 KB) whatever the target says.
//
// Env: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres),
// QUEUE_DESIGNS_N (10000), QUEUE_DESIGNS_ROUNDS (2), QUEUE_DESIGNS (a comma-separated subset),
// QUEUE_DESIGNS_LINES (invoice lines added to each document: 20 is bench:push's size; default 0),
// QUEUE_WAL_DETAIL=1 (each drain's WAL by record kind), QUEUE_PG_WALDUMP (path of pg_waldump).
import { randomBytes, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { walReader } from './wal.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const pg = createRequire(join(here, '../../core/package.json'))('pg');

const BASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const N = Number(process.env.QUEUE_DESIGNS_N ?? 10_000);
const ROUNDS = Number(process.env.QUEUE_DESIGNS_ROUNDS ?? 2);
const ONLY = process.env.QUEUE_DESIGNS?.split(',');
// QUEUE_DESIGNS_LINES: invoice lines added to each document (bench:push's document has 20; 0: bench:queue's).
const LINES = Number(process.env.QUEUE_DESIGNS_LINES ?? 0);
const LINES_TEXT = LINES === 0 ? '' : `,"lines":[${Array.from({ length: LINES }, (_, i) => JSON.stringify({ sku: `SKU-${i}`, qty: i + 1, price: 9.99 })).join(',')}]`;
const WAL_DETAIL = process.env.QUEUE_WAL_DETAIL === '1';

const admin = new pg.Client({ connectionString: BASE_URL });
await admin.connect();
const wal = await walReader(admin);
const walByDump = wal.byDump;
const lsn = wal.lsn;

// The push table's columns, as migrations 0001–0008 leave them, in their order.
const PUSH_COLUMNS = `
  id uuid PRIMARY KEY, org_id uuid NOT NULL, connection_id uuid NOT NULL, connector_type text NOT NULL,
  document_type text NOT NULL, document_id text NOT NULL, idempotency_key text NOT NULL, payload jsonb,
  payload_sha256 text NOT NULL, status text NOT NULL, attempts int NOT NULL DEFAULT 0,
  next_attempt_at timestamptz, locked_by text, locked_until timestamptz, last_error_code text,
  last_error_message text, external_ref text, receipt_details jsonb, ack_details jsonb, ack_deadline timestamptz,
  next_ack_check_at timestamptz, ack_checks int NOT NULL DEFAULT 0, manual_retries int NOT NULL DEFAULT 0,
  retried_at timestamptz, created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL, last_attempt_at timestamptz,
  delivered_at timestamptz, acknowledged_at timestamptz, rejected_at timestamptz, dead_at timestamptz,
  payload_text text, last_failure_code text, last_failure_message text, last_failure_at timestamptz, request_id text,
  CONSTRAINT push_org_idempotency_key UNIQUE (org_id, idempotency_key)`;

// The row erpc's accept statement inserts (ACCEPT_SQL), the document bench:queue enqueues.
const INSERT_PUSHES = `INSERT INTO push (id, org_id, connection_id, connector_type, document_type, document_id, idempotency_key,
         payload_text, payload_sha256, status, attempts, next_attempt_at, created_at, updated_at, request_id)
  SELECT id, $1, $2, 'MOCK', 'invoice', 'D-' || n, 'invoice:D-' || n,
         '{"t":1764770000000,"i":' || n || ',"number":"INV-' || n || '","total":12.5' || $5::text || '}',
         md5(id::text) || md5(n::text), 'PENDING', 0, now(), now(), now(), 'req-' || n
    FROM (SELECT id, $4::int + o AS n FROM unnest($3::uuid[]) WITH ORDINALITY AS v(id, o)) AS v`;

const designs = {
  current: {
    ddl: `CREATE TABLE push (${PUSH_COLUMNS}) WITH (fillfactor = 90);
      CREATE INDEX push_ack_due_idx ON push (next_ack_check_at) WHERE status = 'DELIVERED' AND next_ack_check_at IS NOT NULL;
      CREATE INDEX push_dead_org_idx ON push (org_id, dead_at, id) WHERE status = 'DEAD';
      CREATE INDEX push_org_created_idx ON push (org_id, created_at DESC, id DESC);
      CREATE INDEX push_org_failed_created_idx ON push (org_id, status, created_at DESC, id DESC) WHERE status IN ('REJECTED', 'DEAD');
      CREATE INDEX push_pending_due_idx ON push (next_attempt_at) WHERE status = 'PENDING';
      CREATE INDEX push_processing_lease_idx ON push (locked_until) WHERE status = 'PROCESSING';`,
    accept: INSERT_PUSHES,
    claim: `UPDATE push AS p SET status = 'PROCESSING', locked_by = $1, locked_until = now() + interval '1 min',
              attempts = p.attempts + 1, last_attempt_at = now(), updated_at = now()
              FROM (SELECT id FROM push WHERE status = 'PENDING' AND next_attempt_at <= now()
                     ORDER BY next_attempt_at LIMIT 16 FOR UPDATE SKIP LOCKED) AS due
             WHERE p.id = due.id RETURNING p.id, p.attempts, p.payload_text`,
    outcome: `UPDATE push AS p SET status = 'DELIVERED', locked_by = NULL, locked_until = NULL, next_attempt_at = NULL,
                last_error_code = NULL, last_error_message = NULL, external_ref = 'ext-' || p.document_id,
                receipt_details = '{"ok":true}', delivered_at = now(), updated_at = now()
               WHERE p.id = ANY ($2::uuid[]) AND p.status = 'PROCESSING' AND p.locked_by = $1`,
  },
};

// Indexes that name no column a claim or a DELIVERED outcome writes (each listing's predicate a
// column set only in the states it serves), a queue table of due times, a lease row per claim.
const queueTables = (ff) => `CREATE TABLE push (${PUSH_COLUMNS}) WITH (fillfactor = ${ff});
  CREATE INDEX push_ack_due_idx ON push (next_ack_check_at) WHERE next_ack_check_at IS NOT NULL;
  CREATE INDEX push_dead_org_idx ON push (org_id, dead_at, id) WHERE dead_at IS NOT NULL;
  CREATE INDEX push_org_created_idx ON push (org_id, created_at DESC, id DESC);
  CREATE INDEX push_org_failed_created_idx ON push (org_id, created_at DESC, id DESC) WHERE rejected_at IS NOT NULL OR dead_at IS NOT NULL;
  CREATE TABLE push_queue (push_id uuid NOT NULL, due_at timestamptz NOT NULL);
  CREATE INDEX push_queue_due_idx ON push_queue (due_at);
  CREATE TABLE push_lease (id bigserial PRIMARY KEY, worker text NOT NULL, until timestamptz NOT NULL, ids uuid[] NOT NULL);`;
const acceptIntoQueue = `WITH ins AS (${INSERT_PUSHES} RETURNING id, next_attempt_at)
  INSERT INTO push_queue (push_id, due_at) SELECT id, next_attempt_at FROM ins`;
const takeDue = `due AS (DELETE FROM push_queue AS q
                   WHERE q.ctid IN (SELECT ctid FROM push_queue WHERE due_at <= now() ORDER BY due_at LIMIT 16 FOR UPDATE SKIP LOCKED)
                   RETURNING q.push_id)`;
const dropLease = `DELETE FROM push_lease WHERE worker = $1 AND ids && $2::uuid[]`;

// The payload asked out of the row (TOAST, uncompressed, target 512 bytes), so that the claim and
// the outcome would write a pointer instead of the document. PostgreSQL toasts only rows past
// about 2 KB, so below that it changes nothing (see the header).
designs['current-toast'] = {
  ...designs.current,
  ddl: `${designs.current.ddl}
    ALTER TABLE push ALTER COLUMN payload_text SET STORAGE EXTERNAL;
    ALTER TABLE push SET (toast_tuple_target = 512);`,
};
for (const ff of [100, 70, 50]) {
  designs[`hot-claim-${ff}`] = {
    ddl: queueTables(ff),
    accept: acceptIntoQueue,
    claim: `WITH ${takeDue},
         upd AS (UPDATE push AS p SET status = 'PROCESSING', locked_by = $1, locked_until = now() + interval '1 min',
                   attempts = p.attempts + 1, last_attempt_at = now(), updated_at = now()
                   FROM due WHERE p.id = due.push_id RETURNING p.id, p.attempts, p.payload_text),
         lease AS (INSERT INTO push_lease (worker, until, ids) SELECT $1, now() + interval '1 min', array_agg(id) FROM upd HAVING count(*) > 0)
       SELECT * FROM upd`,
    outcome: designs.current.outcome,
    afterOutcome: dropLease,
  };
}
for (const ff of [100, 70, 50, 40]) {
  designs[`lease-${ff}`] = {
    ddl: queueTables(ff),
    accept: acceptIntoQueue,
    claim: `WITH ${takeDue},
         lease AS (INSERT INTO push_lease (worker, until, ids) SELECT $1::text, now() + interval '1 min', array_agg(push_id) FROM due HAVING count(*) > 0
                   RETURNING id)
       SELECT p.id, p.attempts + 1 AS attempts, p.payload_text, (SELECT id FROM lease) AS lease_id FROM due JOIN push AS p ON p.id = due.push_id`,
    // The fence: the claim's lease row, still this worker's (an expired lease requeued by another
    // process is gone), and the attempts the claim counted.
    outcome: `UPDATE push AS p SET status = 'DELIVERED', attempts = v.attempts, next_attempt_at = NULL,
                external_ref = 'ext-' || p.document_id, receipt_details = '{"ok":true}',
                delivered_at = now(), last_attempt_at = now(), updated_at = now()
               FROM unnest($2::uuid[], $3::int[]) AS v(id, attempts)
               WHERE p.id = v.id AND p.status = 'PENDING' AND p.attempts = v.attempts - 1
                 AND EXISTS (SELECT 1 FROM push_lease AS l WHERE l.id = $4::bigint AND l.worker = $1::text)`,
    outcomeArgs: (rows) => [rows.map((r) => r.attempts), rows[0].lease_id],
    afterOutcome: dropLease,
  };
}

const names = Object.keys(designs).filter((d) => !ONLY || ONLY.includes(d));
const results = Object.fromEntries(names.map((d) => [d, []]));
const prefix = `erpc_qdesign_${randomBytes(3).toString('hex')}`;
try {
  for (let round = 1; round <= ROUNDS; round++) {
    for (const name of names) {
      const d = designs[name];
      const db = `${prefix}_${name.replace(/-/g, '_')}`;
      await admin.query(`CREATE DATABASE ${db}`);
      const url = new URL(BASE_URL);
      url.pathname = `/${db}`;
      const c = new pg.Client({ connectionString: url.toString() });
      await c.connect();
      try {
        await c.query(d.ddl);
        const [org, conn] = [randomUUID(), randomUUID()];
        const l0 = await lsn();
        for (let i = 0; i < N; i += 500) await c.query(d.accept, [org, conn, Array.from({ length: Math.min(500, N - i) }, () => randomUUID()), i, LINES_TEXT]);
        const l1 = await lsn();
        const t0 = performance.now();
        let drained = 0;
        for (;;) {
          const rows = (await c.query(d.claim, ['w1'])).rows;
          if (rows.length === 0) break;
          const ids = rows.map((r) => r.id);
          const updated = (await c.query(d.outcome, ['w1', ids, ...(d.outcomeArgs ? d.outcomeArgs(rows) : [])])).rowCount;
          if (updated !== rows.length) throw new Error(`${name}: the outcome wrote ${updated} of ${rows.length} claimed pushes`);
          if (d.afterOutcome) await c.query(d.afterOutcome, ['w1', ids]);
          drained += rows.length;
        }
        const seconds = (performance.now() - t0) / 1000;
        const l2 = await lsn();
        if (drained !== N) throw new Error(`${name}: drained ${drained} of ${N}`);
        const left = Number((await c.query(`SELECT count(*) AS n FROM push WHERE status <> 'DELIVERED'`)).rows[0].n);
        if (left !== 0) throw new Error(`${name}: ${left} pushes not DELIVERED`);
        const enqueue = await wal.bytes(db, l0, l1);
        const drain = await wal.bytes(db, l1, l2);
        // HOT share from WAL records of the push row's updates (statistics counters lag).
        const kinds = [...drain.detail];
        const count = (re) => kinds.filter(([k]) => re.test(k)).reduce((s, [, v]) => s + v.n, 0);
        const hot = count(/^Heap HOT_UPDATE/);
        const all = hot + count(/^Heap UPDATE/);
        results[name].push({ enqueue: enqueue.total / N, drain: drain.total / N, perSecond: drained / seconds, hot: walByDump && all > 0 ? hot / all : undefined });
        if (WAL_DETAIL) {
          const rows = kinds.sort((a, b) => b[1].bytes - a[1].bytes).map(([k, v]) => `    ${k.padEnd(28)} ${(v.n / N).toFixed(2).padStart(6)} per job ${(v.bytes / N).toFixed(0).padStart(6)} B per job`);
          process.stderr.write(`  ${name}, round ${round}, drain WAL by record kind:\n${rows.join('\n')}\n`);
        }
      } finally {
        await c.end();
        await admin.query(`DROP DATABASE ${db}`);
      }
    }
  }
} finally {
  await admin.end();
}

const server = walByDump ? "each design's own database (pg_waldump; commit records left out)" : 'pg_current_wal_lsn() differences (the whole server, commits included)';
console.log(`bench:queue-designs — ${N} pushes per design and round, ${ROUNDS} rounds, ${LINES} invoice lines per document, Node ${process.version}; WAL: ${server}`);
console.log('| design | enqueue, WAL B per job | drain, WAL B per job | push row updates HOT | drain, one client, jobs/s |');
console.log('|---|---|---|---|---|');
const per = (xs, f) => xs.map(f).join(' / ');
for (const name of names) {
  const r = results[name];
  console.log(`| ${name} | ${per(r, (x) => x.enqueue.toFixed(0))} | ${per(r, (x) => x.drain.toFixed(0))} | ${per(r, (x) => (x.hot === undefined ? '?' : `${(x.hot * 100).toFixed(0)} %`))} | ${per(r, (x) => x.perSecond.toFixed(0))} |`);
}
