// WAL bytes written between two LSNs, for the queue benches (bench:queue, bench:queue-designs).
// When this process can read the server's pg_wal (the bench machine: same host, root), the WAL of
// one database is summed from pg_waldump's records of its relations (heap, indexes, full-page
// images): the server's WAL position also moves with every other database's writes. Commit
// records name no relation and are left out, for every system alike. Otherwise: the plain LSN
// difference of the whole server.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

/** A WAL reader over `admin` (a connected pg Client on the server). */
export async function walReader(admin, pgWaldump = process.env.QUEUE_PG_WALDUMP ?? '/usr/lib/postgresql/15/bin/pg_waldump') {
  const walDir = await admin
    .query(`SELECT current_setting('data_directory') || '/pg_wal' AS d`)
    .then((r) => r.rows[0].d)
    .catch(() => undefined);
  const byDump =
    walDir !== undefined &&
    existsSync(pgWaldump) &&
    (() => {
      try {
        readdirSync(walDir);
        return true;
      } catch {
        return false;
      }
    })();
  const lsn = async () => (await admin.query('SELECT pg_current_wal_lsn() AS l')).rows[0].l;
  const lsnDifference = async (from, to) => Number((await admin.query('SELECT pg_wal_lsn_diff($1, $2) AS d', [to, from])).rows[0].d);

  /**
   * WAL of database `db` between `from` and `to`: `total` bytes and `detail`, a Map from record
   * kind (rmgr, description, FPW when it carries a full-page image) to its count and bytes.
   * Without pg_waldump (or `db`), the LSN difference and an empty detail.
   */
  async function bytes(db, from, to) {
    if (byDump && db !== undefined) {
      const oid = (await admin.query('SELECT oid FROM pg_database WHERE datname = $1', [db])).rows[0].oid;
      const text = await new Promise((resolve, reject) => {
        const child = spawn(pgWaldump, ['-p', walDir, '-s', from, '-e', to], { stdio: ['ignore', 'pipe', 'pipe'] });
        const chunks = [];
        let err = '';
        child.stdout.on('data', (d) => chunks.push(d));
        child.stderr.on('data', (d) => (err += d));
        child.once('exit', (code) => (code === 0 ? resolve(Buffer.concat(chunks).toString('utf8')) : reject(new Error(`pg_waldump: ${err.slice(0, 500)}`))));
      }).catch((err) => {
        process.stderr.write(`${err.message}; using the LSN difference\n`);
        return undefined;
      });
      if (text !== undefined) {
        const needle = `/${oid}/`;
        let total = 0;
        const detail = new Map();
        for (const line of text.split('\n')) {
          if (!line.includes(needle)) continue;
          const m = /len \(rec\/tot\):\s*\d+\/\s*(\d+)/.exec(line);
          if (!m) continue;
          total += Number(m[1]);
          const kind = `${/rmgr: (\S+)/.exec(line)?.[1]} ${/desc: (\S+)/.exec(line)?.[1]}${line.includes('FPW') ? ' FPW' : ''}`;
          const d = detail.get(kind) ?? { n: 0, bytes: 0 };
          d.n++;
          d.bytes += Number(m[1]);
          detail.set(kind, d);
        }
        return { total, detail };
      }
    }
    return { total: await lsnDifference(from, to), detail: new Map() };
  }

  return { byDump, lsn, bytes };
}
