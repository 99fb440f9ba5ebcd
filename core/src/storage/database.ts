import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import knexFactory, { type Knex } from 'knex';
import ClientPGLite from 'knex-pglite';
import { ErpcError } from '../errors/index.js';

/** Which engine a Knex instance talks to. LISTEN/NOTIFY, several processes: PostgreSQL only. */
export type DatabaseKind = 'postgres' | 'pglite';

/**
 * How to open the database. `url` (or its alias `databaseUrl`, as read from DATABASE_URL) selects
 * PostgreSQL; otherwise the embedded PGlite: an existing instance, a snapshot, in memory, or the
 * persistent `dataDir` (default ERPC_DATA_DIR or ./.erpc/data; PGlite's files live in <dataDir>/pgdata).
 */
export interface DatabaseOptions {
  /** postgres://user:password@host:port/db[?options=-c%20search_path%3Dschema] */
  url?: string | undefined;
  /** Alias of `url`; an empty string counts as unset. */
  databaseUrl?: string | undefined;
  /** Data directory of the embedded database. */
  dataDir?: string | undefined;
  /** Embedded database in memory: nothing is written to disk. */
  memory?: boolean | undefined;
  /** Embedded database loaded from a `PGlite#dumpDataDir()` snapshot (tests), in memory. */
  loadDataDir?: Blob | undefined;
  /** An already created PGlite instance; closed by {@link closeDatabase}. */
  pglite?: PGlite | undefined;
  /** PostgreSQL pool size (default 10). PGlite always has exactly one connection. */
  poolMax?: number | undefined;
  /**
   * How long a query waits for a free connection, in ms (PostgreSQL default 10 000, PGlite
   * default 5 000). See the PGlite note in {@link createDatabase}.
   */
  acquireConnectionTimeoutMs?: number | undefined;
  /** Where knex's own warnings go (default: stderr, without connection-error stacks; see {@link quietKnexLog}). */
  log?: Knex.Config['log'];
}

/**
 * knex logs every failed connection attempt with its stack on stderr; the failure also reaches the
 * caller, which maps it to an ERPC_ERR_STORAGE_* error, so those lines are dropped here.
 */
export const quietKnexLog: NonNullable<Knex.Config['log']> = {
  warn(message: unknown) {
    if (typeof message === 'string' && /^(Acquire connection error|Connection Error)/.test(message)) return;
    process.stderr.write(`knex: ${String(message)}\n`);
  },
  error(message: unknown) {
    process.stderr.write(`knex: ${String(message)}\n`);
  },
  deprecate(method: string, alternative: string) {
    process.stderr.write(`knex: ${method} is deprecated, use ${alternative}\n`);
  },
  debug() {},
};

const kinds = new WeakMap<object, DatabaseKind>();
const targets = new WeakMap<object, string>();

/** The PostgreSQL URL of the options, or undefined for the embedded database. */
function urlOf(options: DatabaseOptions): string | undefined {
  const url = (options.url ?? options.databaseUrl)?.trim();
  return url === undefined || url === '' ? undefined : url;
}

/**
 * A place to name in messages: `host:port/database` of a URL (never user or password), or the
 * embedded database's folder.
 */
export function describeDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname || 'localhost'}:${u.port || '5432'}${u.pathname || ''}`;
  } catch {
    return 'the DATABASE_URL (not a valid URL)';
  }
}

/**
 * Opens a Knex instance on PostgreSQL (through `pg`, pooled) or on the embedded PGlite (through
 * `knex-pglite`). PostgreSQL: nothing connects until the first query; errors of that query are
 * mapped by {@link checkDatabase} / `migrateLatest`. PGlite: resolves once the engine has started
 * (the first start of a data directory runs initdb, which can take seconds), so that start-up
 * never counts against the short acquire timeout below.
 *
 * PGlite trap: PGlite is a single-connection database, so knex-pglite pins the pool to min = max = 1
 * (it refuses a `pool` option). While a transaction is open it holds that one connection: a query
 * made through the root `knex` instead of the transaction object `trx` waits for a connection that
 * is only released when the transaction ends — a deadlock. A short `acquireConnectionTimeout` turns
 * that hang into a KnexTimeoutError within seconds. Always pass `trx` down; never query `knex`
 * inside `knex.transaction(...)`. The same code is correct on PostgreSQL, where it would merely
 * waste a second pooled connection outside the transaction.
 */
export async function createDatabase(options: DatabaseOptions = {}): Promise<Knex> {
  const url = urlOf(options);
  if (url !== undefined) {
    if (!/^postgres(ql)?:\/\//i.test(url)) {
      // Name the scheme only when it looks like one: a URL without one could be a bare password.
      const scheme = url.includes(':') && /^[a-z][a-z0-9+.-]{0,20}$/i.test(url.split(':')[0] ?? '') ? url.split(':')[0] : undefined;
      const got = scheme === undefined ? 'got something else' : `got a "${scheme}" URL`;
      throw new ErpcError('ERPC_ERR_STORAGE_URL_INVALID', { reason: `it must start with postgres:// or postgresql:// (${got})` });
    }
    // pg parses the URL only at the first query, where a TypeError "Invalid URL" would be unmapped.
    // The message never repeats the URL: it holds the password.
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      parsed = undefined;
    }
    if (parsed === undefined || (parsed.port !== '' && !/^\d+$/.test(parsed.port))) {
      throw new ErpcError('ERPC_ERR_STORAGE_URL_INVALID', { reason: 'it does not parse as a URL (check the host, the port, and percent-encode special characters in the user and password)' });
    }
    const knex = knexFactory({
      client: 'pg',
      connection: { connectionString: url, connectionTimeoutMillis: 10_000 },
      pool: { min: 0, max: options.poolMax ?? 10 },
      acquireConnectionTimeout: options.acquireConnectionTimeoutMs ?? 10_000,
      log: options.log ?? quietKnexLog,
    });
    remember(knex, 'postgres', describeDatabaseUrl(url));
    return knex;
  }

  let pglite = options.pglite;
  let target = 'embedded database (in memory)';
  let dir = '(in memory)';
  if (pglite === undefined) {
    if (options.loadDataDir !== undefined) {
      pglite = new PGlite({ loadDataDir: options.loadDataDir });
    } else if (options.memory === true) {
      pglite = new PGlite();
    } else {
      // The host passes HostConfig.dataDir (ERPC_DATA_DIR); tools that pass nothing get its default.
      const dataDir = path.resolve(options.dataDir ?? '.erpc/data');
      const pgdata = path.join(dataDir, 'pgdata');
      try {
        mkdirSync(dataDir, { recursive: true, mode: 0o700 });
      } catch (err) {
        throw new ErpcError('ERPC_ERR_STORAGE_DATA_DIR_UNUSABLE', { dir: dataDir, reason: (err as Error).message }, { cause: err });
      }
      pglite = new PGlite(pgdata);
      target = `embedded database in ${pgdata}`;
      dir = dataDir;
    }
  }
  const instance = pglite;
  try {
    await instance.waitReady;
  } catch (err) {
    throw new ErpcError('ERPC_ERR_STORAGE_DATA_DIR_UNUSABLE', { dir, reason: (err as Error).message }, { cause: err });
  }
  const knex = knexFactory({
    client: ClientPGLite as unknown as typeof Knex.Client,
    // knex-pglite takes an existing instance through a connection function.
    connection: (() => ({ pglite: instance })) as unknown as Knex.StaticConnectionConfig,
    acquireConnectionTimeout: options.acquireConnectionTimeoutMs ?? 5_000,
    log: options.log ?? quietKnexLog,
  });
  remember(knex, 'pglite', target);
  return knex;
}

// A transaction's client shares its root client's config object: key what we know by it.
function configOf(knex: Knex | Knex.Transaction): object {
  return (knex as unknown as { client: { config: object } }).client.config;
}

function remember(knex: Knex, kind: DatabaseKind, target: string): void {
  kinds.set(configOf(knex), kind);
  targets.set(configOf(knex), target);
}

/** 'postgres' or 'pglite', also for a transaction of such an instance. */
export function databaseKind(knex: Knex | Knex.Transaction): DatabaseKind {
  const known = kinds.get(configOf(knex));
  if (known !== undefined) return known;
  const client = (configOf(knex) as { client?: unknown }).client;
  return client === 'pg' || client === 'postgres' || client === 'postgresql' ? 'postgres' : 'pglite';
}

/** Where the database is, for messages: `host:port/db` or the embedded folder. Never credentials. */
export function databaseTarget(knex: Knex | Knex.Transaction): string {
  return targets.get(configOf(knex)) ?? (databaseKind(knex) === 'postgres' ? 'PostgreSQL' : 'embedded database');
}

/** Closes the pool (PostgreSQL) or the PGlite instance (flushing it to its data directory). */
export async function closeDatabase(knex: Knex): Promise<void> {
  await knex.destroy();
}
