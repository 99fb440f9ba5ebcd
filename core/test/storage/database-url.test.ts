import { describe, expect, it } from 'vitest';
import { closeDatabase, createDatabase } from '../../src/storage/index.js';

const CANARY = 'pw-canary-5c1e0b';

// A DATABASE_URL that starts with postgres:// but does not parse used to pass createDatabase and
// fail at the first query as ERPC_ERR_INTERNAL "Invalid URL".
describe('DATABASE_URL that does not parse', () => {
  for (const url of [`postgres://u:${CANARY}@[bad`, `postgresql://u:${CANARY}@host:notaport/db`]) {
    it(`is ERPC_ERR_STORAGE_URL_INVALID at open, without the password: ${url.replace(CANARY, '***')}`, async () => {
      const result = await createDatabase({ url }).then(
        async (knex) => {
          await closeDatabase(knex);
          return undefined;
        },
        (e: unknown) => e,
      );
      expect(result).toMatchObject({ code: 'ERPC_ERR_STORAGE_URL_INVALID' });
      expect((result as Error).message).not.toContain(CANARY);
      expect((result as Error).message).toContain('does not parse');
    });
  }
});
