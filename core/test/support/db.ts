/**
 * Database test harness: a fresh, migrated database per call, on PGlite always and on a real
 * PostgreSQL when TEST_DATABASE_URL is set (CI sets it and must never skip it).
 *
 *   describeEachBackend('connections', ({ db }) => {
 *     it('stores a row', async () => { await db().knex('organization').insert({ name: 'a' }); });
 *   });
 *
 * or, by hand: `const t = await createTestDatabase('postgres'); … await t.destroy();`
 * `t.url` reaches the same database (schema) from other processes: pass it as DATABASE_URL.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite, type PGliteOptions } from '@electric-sql/pglite';
import type { Knex } from 'knex';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe } from 'vitest';
import { createDatabase, migrateLatest } from '../../src/storage/index.js';

/** A database engine tests run on. */
export type BackendName = 'pglite' | 'postgres';

/** A fresh, migrated database for one test (or one suite). */
export interface TestDatabase {
  readonly backend: BackendName;
  readonly knex: Knex;
  /** Same as `knex`. */
  readonly db: Knex;
  /**
   * PostgreSQL only: a connection string to this very database and schema
   * (`…?options=-c%20search_path%3D<schema>`), for worker processes and e2e servers.
   */
  readonly url?: string;
  /** PostgreSQL only: the schema that holds this database's tables. */
  readonly schema?: string;
  /** Closes the connection(s) and drops the schema (PostgreSQL). Idempotent. */
  destroy(): Promise<void>;
  /** Same as `destroy`. */
  close(): Promise<void>;
}

/** A backend of this run: its name and a way to open a fresh database on it. */
export interface TestBackend {
  readonly name: BackendName;
  open(): Promise<TestDatabase>;
}

/** TEST_DATABASE_URL, or undefined. Throws under CI when it is missing: CI never skips PostgreSQL. */
export function testDatabaseUrl(): string | undefined {
  const url = process.env.TEST_DATABASE_URL?.trim();
  if (url !== undefined && url !== '') return url;
  if (process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false') {
    throw new Error('CI is set but TEST_DATABASE_URL is not: the PostgreSQL tests must run in CI (see .ci/run).');
  }
  return undefined;
}

/** The backend names of this run: 'pglite', plus 'postgres' when TEST_DATABASE_URL is set. */
export function testBackendNames(): BackendName[] {
  return testDatabaseUrl() === undefined ? ['pglite'] : ['pglite', 'postgres'];
}

/**
 * The backends of this run, as objects: `describe.each(testBackends())('… on $name', (backend) =>
 * { … backend.open() … })`.
 */
export function testBackends(): TestBackend[] {
  return testBackendNames().map((name) => ({ name, open: () => createTestDatabase(name) }));
}

/** A fresh, migrated database on `backend`. */
export async function createTestDatabase(backend: BackendName = 'pglite'): Promise<TestDatabase> {
  return backend === 'pglite' ? createPgliteDatabase() : createPostgresDatabase();
}

// ---- PGlite: clone a migrated snapshot (made once per worker process) -------------------------

let snapshot: Promise<Blob> | undefined;
let engine: Promise<PGliteOptions> | undefined;

const here = path.dirname(fileURLToPath(import.meta.url));
const migrationsDir = path.resolve(here, '../../src/storage/migrations');

/** PGlite's compiled WebAssembly and file-system bundle, made once per process and shared by clones. */
function pgliteEngine(): Promise<PGliteOptions> {
  engine ??= (async () => {
    const dist = path.dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite'));
    const [wasm, initdb, bundle] = await Promise.all(['pglite.wasm', 'initdb.wasm', 'pglite.data'].map((f) => readFile(path.join(dist, f))));
    return {
      pgliteWasmModule: await WebAssembly.compile(wasm!),
      initdbWasmModule: await WebAssembly.compile(initdb!),
      fsBundle: new Blob([bundle!]),
    };
  })();
  return engine;
}

/**
 * A dump of an in-memory PGlite with every migration applied. Cold start + migrate happen once per
 * version of the migrations: the dump is cached in the OS temp folder under a hash of the
 * migration sources (shared by every test file and worker), and once per process in memory.
 */
function migratedSnapshot(): Promise<Blob> {
  snapshot ??= (async () => {
    const hash = createHash('sha256');
    for (const f of (await readdir(migrationsDir)).sort()) hash.update(f).update(await readFile(path.join(migrationsDir, f)));
    const file = path.join(os.tmpdir(), `erpc-test-pglite-${hash.digest('hex').slice(0, 16)}.tar`);
    try {
      return new Blob([await readFile(file)]);
    } catch {
      // Not cached yet: build it.
    }
    const pglite = new PGlite({ ...(await pgliteEngine()) });
    const knex = await createDatabase({ pglite });
    let dump: Blob;
    try {
      await migrateLatest(knex);
      dump = await pglite.dumpDataDir('none');
    } finally {
      await knex.destroy();
    }
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
    await writeFile(tmp, Buffer.from(await dump.arrayBuffer()));
    await rename(tmp, file); // atomic: concurrent workers never read a half-written dump
    return dump;
  })();
  snapshot.catch(() => {
    snapshot = undefined;
  });
  return snapshot;
}

async function createPgliteDatabase(): Promise<TestDatabase> {
  const pglite = new PGlite({ ...(await pgliteEngine()), loadDataDir: await migratedSnapshot() });
  const knex = await createDatabase({ pglite });
  return wrap('pglite', knex, async () => {
    await knex.destroy();
  });
}

// ---- PostgreSQL: a fresh schema inside TEST_DATABASE_URL's database --------------------------------

/** `url` with `search_path` set to `schema` through libpq's `options` parameter (understood by pg). */
export function urlWithSearchPath(url: string, schema: string): string {
  const option = encodeURIComponent(`-c search_path=${schema}`);
  const u = new URL(url);
  if (u.searchParams.has('options')) throw new Error('TEST_DATABASE_URL must not carry an options parameter');
  return `${url}${u.search === '' ? '?' : '&'}options=${option}`;
}

async function admin<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function createPostgresDatabase(): Promise<TestDatabase> {
  const base = testDatabaseUrl();
  if (base === undefined) throw new Error('TEST_DATABASE_URL is not set: no PostgreSQL backend in this run');
  const schema = `erpc_t_${randomBytes(8).toString('hex')}`;
  await admin(base, (c) => c.query(`CREATE SCHEMA ${schema}`));
  const url = urlWithSearchPath(base, schema);
  const knex = await createDatabase({ url, poolMax: 5 });
  try {
    await migrateLatest(knex);
  } catch (err) {
    await knex.destroy();
    await admin(base, (c) => c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
    throw err;
  }
  return wrap('postgres', knex, async () => {
    await knex.destroy();
    await admin(base, (c) => c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
  }, { url, schema });
}

function wrap(backend: BackendName, knex: Knex, close: () => Promise<void>, extra: { url?: string; schema?: string } = {}): TestDatabase {
  let closing: Promise<void> | undefined;
  const destroy = () => (closing ??= close());
  return { backend, knex, db: knex, ...extra, destroy, close: destroy };
}

// ---- vitest sugar ------------------------------------------------------------------------------

/** What {@link describeEachBackend} hands its body. */
export interface BackendSuite {
  readonly backend: BackendName;
  /** The current test's database (valid inside tests and hooks). */
  db(): TestDatabase;
  /** Shorthand for `db().knex`. */
  knex(): Knex;
}

/**
 * Runs a suite once per backend (`title [pglite]`, `title [postgres]`) with a fresh database per
 * test (`per: 'test'`, default) or one per suite (`per: 'suite'`, for slow setups).
 */
export function describeEachBackend(title: string, body: (suite: BackendSuite) => void, options: { per?: 'test' | 'suite' } = {}): void {
  for (const backend of testBackendNames()) {
    describe(`${title} [${backend}]`, () => {
      let current: TestDatabase | undefined;
      const open = async () => {
        current = await createTestDatabase(backend);
      };
      const close = async () => {
        await current?.destroy();
        current = undefined;
      };
      if (options.per === 'suite') {
        beforeAll(open);
        afterAll(close);
      } else {
        beforeEach(open);
        afterEach(close);
      }
      const db = (): TestDatabase => {
        if (current === undefined) throw new Error('The test database exists only inside tests and hooks');
        return current;
      };
      body({ backend, db, knex: () => db().knex });
    });
  }
}
