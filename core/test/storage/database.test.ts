import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isErpcError } from '../../src/errors/index.js';
import {
  checkDatabase,
  closeDatabase,
  createDatabase,
  databaseKind,
  databaseTarget,
  migrateLatest,
  migrationStatus,
  toStorageError,
} from '../../src/storage/index.js';
import { testDatabaseUrl } from '../support/db.js';

const CANARY = 'CANARY-pw-5f1e9a';

/** A TCP port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

describe('createDatabase', () => {
  it('keeps an embedded database in <dataDir>/pgdata across reopenings', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'erpc-db-'));
    try {
      const first = await createDatabase({ dataDir: dir });
      expect(databaseKind(first)).toBe('pglite');
      expect(databaseTarget(first)).toBe(`embedded database in ${path.join(dir, 'pgdata')}`);
      expect((await migrateLatest(first)).applied).toContain('0001_initial');
      await first('organization').insert({ name: 'persisted' });
      await closeDatabase(first);

      const second = await createDatabase({ dataDir: dir });
      try {
        expect(await migrationStatus(second)).toMatchObject({ pending: [] });
        expect((await migrateLatest(second)).applied).toEqual([]);
        expect(await second('organization').pluck('name')).toEqual(['persisted']);
      } finally {
        await closeDatabase(second);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rejects a URL that is not postgres://', async () => {
    const err = await createDatabase({ url: `mysql://u:${CANARY}@h/db` }).then(() => undefined, (e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERPC_ERR_STORAGE_URL_INVALID' });
    expect((err as Error).message).not.toContain(CANARY);
  });

  it('reports an unreachable PostgreSQL with host:port and never the password', async () => {
    const port = await closedPort();
    const url = `postgres://someone:${CANARY}@127.0.0.1:${port}/erpc`;
    const knex = await createDatabase({ url });
    try {
      expect(databaseKind(knex)).toBe('postgres');
      const err = await checkDatabase(knex, url).then(() => undefined, (e: unknown) => e);
      expect(isErpcError(err)).toBe(true);
      expect(err).toMatchObject({ code: 'ERPC_ERR_STORAGE_UNAVAILABLE', status: 503 });
      expect((err as Error).message).toContain(`127.0.0.1:${port}/erpc`);
      expect((err as Error).message).not.toContain(CANARY);
      expect((err as Error).message).not.toContain('someone');
      await expect(migrateLatest(knex, url)).rejects.toMatchObject({ code: 'ERPC_ERR_STORAGE_UNAVAILABLE' });
    } finally {
      await closeDatabase(knex);
    }
  });

  it('turns a query outside the open transaction on PGlite into ERPC_ERR_STORAGE_BUSY, not a hang', async () => {
    const knex = await createDatabase({ memory: true, acquireConnectionTimeoutMs: 300 });
    try {
      const err = await knex
        .transaction(async () => {
          // The trap: `knex` instead of `trx` needs a second connection PGlite does not have.
          await knex.raw('select 1');
        })
        .then(() => undefined, (e: unknown) => e);
      expect((err as Error).name).toBe('KnexTimeoutError');
      expect(toStorageError(err, knex)).toMatchObject({ code: 'ERPC_ERR_STORAGE_BUSY', message: expect.stringContaining('300 ms') });
      // The connection is usable again afterwards.
      expect((await knex.raw('select 1 as one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await closeDatabase(knex);
    }
  });
});

describe.skipIf(testDatabaseUrl() === undefined)('createDatabase on PostgreSQL', () => {
  it('maps rejected credentials and a missing database, without the password', async () => {
    const base = new URL(testDatabaseUrl()!);
    const badUser = new URL(base);
    badUser.username = 'erpc_no_such_role';
    badUser.password = CANARY;
    const k1 = await createDatabase({ url: badUser.toString() });
    const missing = new URL(base);
    missing.pathname = '/erpc_no_such_database';
    const k2 = await createDatabase({ url: missing.toString() });
    try {
      const e1 = await checkDatabase(k1, badUser.toString()).then(() => undefined, (e: unknown) => e);
      expect(e1).toMatchObject({ code: 'ERPC_ERR_STORAGE_AUTH_FAILED' });
      expect((e1 as Error).message).not.toContain(CANARY);
      await expect(checkDatabase(k2, missing.toString())).rejects.toMatchObject({ code: 'ERPC_ERR_STORAGE_DATABASE_MISSING' });
    } finally {
      await closeDatabase(k1);
      await closeDatabase(k2);
    }
  });
});
