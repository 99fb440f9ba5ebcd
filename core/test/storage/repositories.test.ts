import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import {
  ApiKeyRepository,
  ConnectionRepository,
  OrganizationRepository,
  isUniqueViolation,
  type ConnectionRow,
} from '../../src/storage/index.js';
import { describeEachBackend } from '../support/db.js';

const KEY_A = '0123456789abcdef';
const KEY_B = 'fedcba9876543210';

// One database per backend for this file; every test works in organisations of its own.
describeEachBackend(
  'repositories',
  ({ backend, knex }) => {
    const repos = () => ({
      orgs: new OrganizationRepository(knex()),
      keys: new ApiKeyRepository(knex()),
      conns: new ConnectionRepository(knex()),
    });
    const newOrg = async (name = 'acme') => (await repos().orgs.create({ name })).id;
    const newConnection = (orgId: string, extra: Partial<Parameters<ConnectionRepository['insert']>[0]> = {}) =>
      repos().conns.insert({
        id: randomUUID(),
        orgId,
        connectorType: 'MOCK',
        name: 'conn',
        configEncrypted: Buffer.from([9, 8, 7, 6]),
        configKeyId: KEY_A,
        ...extra,
      });

    it('organisations: create, find, exist, list by keyset, count', async () => {
      const { orgs } = repos();
      const before = await orgs.count();
      const t0 = new Date('2030-01-01T00:00:00.000Z');
      const created = [];
      for (let i = 0; i < 5; i++) created.push(await orgs.create({ name: `org ${i}`, now: new Date(t0.getTime() + (i < 3 ? 0 : i)) }));
      expect(await orgs.count()).toBe(before + 5);
      expect(await orgs.findById(created[0]!.id)).toEqual(created[0]);
      expect(await orgs.exists(created[4]!.id)).toBe(true);
      expect(await orgs.exists(randomUUID())).toBe(false);
      expect(await orgs.findById('not-a-uuid')).toBeUndefined();
      // Pages of 2 from t0 cover the five exactly once, ties on created_at broken by id.
      const seen: string[] = [];
      let after = { createdAt: new Date(t0.getTime() - 1), id: '00000000-0000-0000-0000-000000000000' };
      for (;;) {
        const page = await orgs.list({ limit: 2, after });
        const mine = page.filter((o) => created.some((c) => c.id === o.id));
        seen.push(...mine.map((o) => o.id));
        if (page.length < 2) break;
        after = { createdAt: page.at(-1)!.createdAt, id: page.at(-1)!.id };
      }
      const expected = [...created].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : 1)).map((o) => o.id);
      expect(seen).toEqual(expected);
    });

    it('API keys: stores the hash as bytes, revokes once, throttles last-used writes', async () => {
      const { keys } = repos();
      const orgId = await newOrg();
      const hash = Buffer.alloc(32, 7);
      const id = `k_${randomUUID().slice(0, 8)}`;
      const created = await keys.create({ id, orgId, secretHash: new Uint8Array(hash), name: 'ci' });
      expect(Buffer.isBuffer(created.secretHash)).toBe(true);
      const found = await keys.findById(id);
      expect(Buffer.isBuffer(found!.secretHash)).toBe(true);
      expect(found!.secretHash.equals(hash)).toBe(true);
      expect(found).toMatchObject({ orgId, name: 'ci', revokedAt: null, lastUsedAt: null });
      await expect(keys.create({ id, orgId, secretHash: hash })).rejects.toSatisfy((e) => isUniqueViolation(e, 'api_key_pkey'));

      const t1 = new Date('2030-01-01T00:00:00.000Z');
      expect(await keys.touchLastUsed(id, t1, 60_000)).toBe(true);
      expect(await keys.touchLastUsed(id, new Date(t1.getTime() + 1_000), 60_000)).toBe(false);
      expect(await keys.touchLastUsed(id, new Date(t1.getTime() + 61_000), 60_000)).toBe(true);
      expect((await keys.findById(id))!.lastUsedAt).toEqual(new Date(t1.getTime() + 61_000));

      expect(await keys.revoke(id, t1)).toBe(true);
      expect(await keys.revoke(id, new Date(t1.getTime() + 5_000))).toBe(true);
      expect((await keys.findById(id))!.revokedAt).toEqual(t1);
      expect(await keys.revoke('k_unknown')).toBe(false);
      expect((await keys.listByOrg(orgId)).map((k) => k.id)).toEqual([id]);
    });

    it('connections: insert returns camelCase rows with Buffer ciphertexts, scoped to the organisation', async () => {
      const { conns } = repos();
      const orgId = await newOrg();
      const otherOrg = await newOrg('other');
      const row = await newConnection(orgId);
      expect(row).toMatchObject({ orgId, connectorType: 'MOCK', name: 'conn', status: 'DISABLED', configKeyId: KEY_A, activatedAt: null, lastTestAt: null });
      const found = await conns.findById(orgId, row.id);
      expect(Buffer.isBuffer(found!.configEncrypted)).toBe(true);
      expect(found!.configEncrypted.equals(Buffer.from([9, 8, 7, 6]))).toBe(true);
      expect(found).toEqual(row);
      // Another organisation's id does not exist for this one.
      expect(await conns.findById(otherOrg, row.id)).toBeUndefined();
      expect(await conns.update(otherOrg, row.id, { name: 'stolen' })).toBeUndefined();
      expect(await conns.activate(otherOrg, row.id)).toBeUndefined();
      expect(await conns.disable(otherOrg, row.id)).toBeUndefined();
      expect(await conns.recordTest(otherOrg, row.id, { at: new Date(), ok: true, latencyMs: 1, message: null })).toBe(false);
      expect(await conns.findById(orgId, 'nope')).toBeUndefined();
      expect((await conns.findById(orgId, row.id))!.name).toBe('conn');
    });

    it('connections: keyset listing visits every row once, ties broken by id', async () => {
      const { conns } = repos();
      const orgId = await newOrg();
      const now = new Date('2030-02-01T00:00:00.000Z');
      const ids = [];
      for (let i = 0; i < 7; i++) ids.push((await newConnection(orgId, { now: i < 4 ? now : new Date(now.getTime() + i) })).id);
      const seen: string[] = [];
      let after: { createdAt: Date; id: string } | undefined;
      for (;;) {
        const page = await conns.listByOrg(orgId, { limit: 3, after });
        seen.push(...page.map((c) => c.id));
        if (page.length < 3) break;
        after = { createdAt: page.at(-1)!.createdAt, id: page.at(-1)!.id };
      }
      expect(seen).toEqual([...ids.slice(0, 4).sort(), ...ids.slice(4)]);
      expect(await conns.listByOrg(await newOrg('empty'), { limit: 3 })).toEqual([]);
    });

    it('connections: update changes the given fields and updated_at; ciphertext and key id go together', async () => {
      const { conns } = repos();
      const orgId = await newOrg();
      const row = await newConnection(orgId, { now: new Date('2030-01-01T00:00:00Z') });
      const later = new Date('2030-01-02T00:00:00Z');
      const renamed = await conns.update(orgId, row.id, { name: 'renamed', now: later });
      expect(renamed).toMatchObject({ name: 'renamed', configKeyId: KEY_A, updatedAt: later, createdAt: row.createdAt });
      const rekeyed = await conns.update(orgId, row.id, { configEncrypted: new Uint8Array([1, 1]), configKeyId: KEY_B, now: later });
      expect(rekeyed!.configEncrypted.equals(Buffer.from([1, 1]))).toBe(true);
      expect(rekeyed!.configKeyId).toBe(KEY_B);
      await expect(conns.update(orgId, row.id, { configKeyId: KEY_A })).rejects.toThrow(TypeError);
    });

    it('connections: activate switches the active row in one transaction; disable keeps the row', async () => {
      const { conns } = repos();
      const orgId = await newOrg();
      const a = await newConnection(orgId);
      const b = await newConnection(orgId);
      const t1 = new Date('2030-03-01T00:00:00Z');
      expect(await conns.activate(orgId, a.id, t1)).toMatchObject({ status: 'ACTIVE', activatedAt: t1 });
      expect((await conns.activeForOrg(orgId))!.id).toBe(a.id);
      const t2 = new Date('2030-03-02T00:00:00Z');
      expect(await conns.activate(orgId, b.id, t2)).toMatchObject({ status: 'ACTIVE', activatedAt: t2 });
      expect(await conns.findById(orgId, a.id)).toMatchObject({ status: 'DISABLED', disabledAt: t2 });
      expect((await conns.activeForOrg(orgId))!.id).toBe(b.id);
      // Activating the active one changes nothing.
      expect(await conns.activate(orgId, b.id, new Date('2031-01-01T00:00:00Z'))).toMatchObject({ activatedAt: t2 });
      const t3 = new Date('2030-03-03T00:00:00Z');
      expect(await conns.disable(orgId, b.id, t3)).toMatchObject({ status: 'DISABLED', disabledAt: t3 });
      expect(await conns.disable(orgId, b.id, new Date('2031-01-01T00:00:00Z'))).toMatchObject({ disabledAt: t3 });
      expect(await conns.activeForOrg(orgId)).toBeUndefined();
      expect((await conns.listByOrg(orgId, { limit: 10 })).length).toBe(2);
    });

    it('connections: create with activate replaces the active row; a second ACTIVE insert is a unique violation', async () => {
      const { conns } = repos();
      const orgId = await newOrg();
      const first = await conns.create({ id: randomUUID(), orgId, connectorType: 'MOCK', name: 'a', configEncrypted: Buffer.from([1]), configKeyId: KEY_A, activate: true });
      const second = await conns.create({ id: randomUUID(), orgId, connectorType: 'DROPZONE_JSON_V1', name: 'b', configEncrypted: Buffer.from([2]), configKeyId: KEY_A, activate: true });
      expect((await conns.findById(orgId, first.id))!.status).toBe('DISABLED');
      expect((await conns.activeForOrg(orgId))!.id).toBe(second.id);
      const err = await newConnection(orgId, { status: 'ACTIVE' }).then(() => undefined, (e: unknown) => e);
      expect(isUniqueViolation(err, 'erp_connection_one_active_per_org')).toBe(true);
    });

    it('connections: concurrent activations end with exactly one ACTIVE row', async () => {
      const { conns } = repos();
      const orgId = await newOrg();
      const rows: ConnectionRow[] = [];
      for (let i = 0; i < 8; i++) rows.push(await newConnection(orgId));
      const results = await Promise.allSettled(rows.map((r) => conns.activate(orgId, r.id)));
      for (const r of results) {
        // PostgreSQL: a loser hits the partial unique index; PGlite serialises them (the last wins).
        if (r.status === 'rejected') expect(isUniqueViolation(r.reason, 'erp_connection_one_active_per_org')).toBe(true);
      }
      expect(results.some((r) => r.status === 'fulfilled')).toBe(true);
      const active = await knex()('erp_connection').where({ org_id: orgId, status: 'ACTIVE' });
      expect(active).toHaveLength(1);
      if (backend === 'pglite') expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
    });

    it('connections: test outcomes, counts per key id', async () => {
      const { conns } = repos();
      const orgId = await newOrg();
      const row = await newConnection(orgId, { configKeyId: 'legacy' });
      const at = new Date('2030-04-01T00:00:00Z');
      expect(await conns.recordTest(orgId, row.id, { at, ok: false, latencyMs: 12.6, message: 'timed out after 10000 ms' })).toBe(true);
      expect(await conns.findById(orgId, row.id)).toMatchObject({ lastTestAt: at, lastTestOk: false, lastTestLatencyMs: 13, lastTestMessage: 'timed out after 10000 ms' });
      const count = async (keyId: string) => (await conns.keyIdCounts()).find((c) => c.keyId === keyId)?.rows ?? 0;
      const before = await count(KEY_B);
      await newConnection(orgId, { configKeyId: KEY_B });
      await newConnection(orgId, { configKeyId: KEY_B });
      expect(await count(KEY_B)).toBe(before + 2);
      expect(await count('legacy')).toBeGreaterThanOrEqual(1);
    });

    it('creates an organisation with its first API key atomically', async () => {
      const { orgs, keys } = repos();
      const now = new Date();
      const org = await orgs.createWithApiKey({ id: randomUUID(), name: 'with key', now, key: { id: `k_${randomUUID().slice(0, 8)}`, secretHash: Buffer.alloc(32, 1) } });
      const [first] = await keys.listByOrg(org.id);
      expect(first).toMatchObject({ orgId: org.id, revokedAt: null });
      // The key insert fails (its id is taken): the organisation is not left behind without a key.
      const lonely = randomUUID();
      await expect(orgs.createWithApiKey({ id: lonely, name: 'no key', now, key: { id: first!.id, secretHash: Buffer.alloc(32, 2) } })).rejects.toThrow();
      expect(await orgs.exists(lonely)).toBe(false);
    });

    it('every method composes into a caller transaction', async () => {
      const { conns, orgs, keys } = repos();
      const id = randomUUID();
      let orgId = '';
      await expect(
        knex().transaction(async (trx) => {
          orgId = (await orgs.create({ name: 'rolled back' }, trx)).id;
          await keys.create({ id: `k_${id.slice(0, 8)}`, orgId, secretHash: Buffer.alloc(32) }, trx);
          await conns.create({ id, orgId, connectorType: 'MOCK', name: 'x', configEncrypted: Buffer.from([1]), configKeyId: KEY_A, activate: true }, trx);
          expect((await conns.activeForOrg(orgId, trx))!.id).toBe(id);
          expect(await conns.activate(orgId, id, new Date(), trx)).toMatchObject({ status: 'ACTIVE' });
          throw new Error('roll back');
        }),
      ).rejects.toThrow('roll back');
      expect(await orgs.exists(orgId)).toBe(false);
      expect(await keys.findById(`k_${id.slice(0, 8)}`)).toBeUndefined();
      expect(await knex()('erp_connection').where({ id })).toEqual([]);
    });
  },
  { per: 'suite' },
);
