// A bench:queue peer worker process: graphile-worker or pg-boss with a no-op handler at
// concurrency QUEUE_CONCURRENCY (default 16). Each job's payload carries `t` (Date.now() when it
// was enqueued); the handler records Date.now() - t (enqueue → start) and the process writes the
// list to QUEUE_LATENCY_FILE when it stops (SIGTERM). Prints "ready" once it is working.
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const require = createRequire(join(here, '../package.json'));
const [system, url] = process.argv.slice(2);
const concurrency = Number(process.env.QUEUE_CONCURRENCY ?? 16);
const latencies = [];
const record = (payload) => {
  if (payload && typeof payload.t === 'number') latencies.push(Date.now() - payload.t);
};
let stop;
if (system === 'graphile-worker') {
  const { run } = require('graphile-worker');
  // Default settings (LISTEN/NOTIFY, poll 2 s), no-op task.
  const runner = await run({ connectionString: url, concurrency, noHandleSignals: true, logger: undefined, taskList: { noop: async (payload) => record(payload) } });
  stop = () => runner.stop();
} else if (system === 'pg-boss') {
  const PgBoss = require('pg-boss');
  const boss = new PgBoss({ connectionString: url });
  boss.on('error', (err) => process.stderr.write(`pg-boss: ${err.message}\n`));
  await boss.start();
  // pg-boss 10 has no LISTEN: `concurrency` workers polling (the shortest interval it allows,
  // 0.5 s) and fetching up to QUEUE_PGBOSS_BATCH jobs each, completed when the handler resolves.
  const batchSize = Number(process.env.QUEUE_PGBOSS_BATCH ?? 100);
  for (let i = 0; i < concurrency; i++) {
    await boss.work('noop', { batchSize, pollingIntervalSeconds: 0.5 }, async (jobs) => {
      for (const job of jobs) record(job.data);
    });
  }
  stop = () => boss.stop({ graceful: true, wait: true, timeout: 5000 });
} else {
  throw new Error(`unknown system ${system}`);
}
process.stdout.write('ready\n');
process.on('SIGTERM', async () => {
  await stop();
  if (process.env.QUEUE_LATENCY_FILE) writeFileSync(process.env.QUEUE_LATENCY_FILE, JSON.stringify(latencies));
  process.exit(0);
});
