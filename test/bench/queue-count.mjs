// Preloaded (node --import) into the bench:queue worker processes: counts the statements this
// process sends to PostgreSQL (pg's Client#query, which knex, graphile-worker and pg-boss all go
// through) and writes the count to QUEUE_COUNT_FILE on SIGUSR2 (and at exit).
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const pg = createRequire(join(here, '../../core/package.json'))('pg');
let count = 0;
const query = pg.Client.prototype.query;
pg.Client.prototype.query = function countedQuery(...args) {
  count++;
  return query.apply(this, args);
};
const file = process.env.QUEUE_COUNT_FILE;
const write = () => {
  if (file !== undefined) writeFileSync(file, String(count));
};
process.on('SIGUSR2', write);
process.on('exit', write);
