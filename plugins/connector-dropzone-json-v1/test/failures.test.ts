import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync, readFileSync, lstatSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createDropzoneConnector } from '../src/index.js';
import { cleanSandboxes, rejection, ctxFor, doc, errno, hookedTransport, listTree, makeSandbox } from './helpers.js';

afterEach(cleanSandboxes);

/** Whether `chattr +i` works here (ext4 as root: yes; overlay/tmpfs: usually not). */
function immutableSupported(): boolean {
  const { sandbox } = makeSandbox();
  const probe = join(sandbox, 'probe');
  mkdirSync(probe);
  const on = spawnSync('chattr', ['+i', probe]);
  if (on.status !== 0) return false;
  spawnSync('chattr', ['-i', probe]);
  return true;
}
const canChattr = immutableSupported();

describe('DROPZONE_JSON_V1 failures leave nothing behind', () => {
  it('a symlink planted at the temp path: nothing is written through it, permanent UNSAFE_PATH', async () => {
    const { sandbox, root, outside } = makeSandbox();
    const target = join(outside, 'stolen.txt');
    // The temp name is random, so the test plants the link exactly when the connector is about to open it.
    const t = hookedTransport({ beforeCreate: (path) => symlinkSync(target, path) });
    const err = await rejection(createDropzoneConnector({ transport: t }).push(doc(), ctxFor({ rootPath: root, layout: 'flat' })));
    expect(err).toMatchObject({ code: 'DROPZONE_UNSAFE_PATH', retryable: false });
    expect(existsSync(target)).toBe(false);
    // Only the planted link remains (the connector never deletes what it did not create); no .json.
    const entries = readdirSync(root);
    expect(entries).toHaveLength(1);
    expect(lstatSync(join(root, entries[0]!)).isSymbolicLink()).toBe(true);
    expect(entries[0]!.startsWith('.') && entries[0]!.endsWith('.tmp')).toBe(true);
    expect(listTree(outside)).toEqual([]);
    expect(listTree(sandbox)).toContain('outside');
  });

  it('a symlink at the temp path pointing at an existing file outside: the file is untouched', async () => {
    const { root, outside } = makeSandbox();
    const target = join(outside, 'precious.txt');
    writeFileSync(target, 'precious');
    const t = hookedTransport({ beforeCreate: (path) => symlinkSync(target, path) });
    const err = await rejection(createDropzoneConnector({ transport: t }).push(doc(), ctxFor({ rootPath: root, layout: 'flat' })));
    expect(err.code).toBe('DROPZONE_UNSAFE_PATH');
    expect(readFileSync(target, 'utf8')).toBe('precious');
  });

  it('a symlink planted at the final path: refused, temp removed, nothing written outside', async () => {
    const { root, outside } = makeSandbox();
    const d = doc({ documentId: 'SYM-1' });
    // The final name is predictable by the published rule; plant a link there first.
    const { createHash } = await import('node:crypto');
    const name = `invoice_SYM-1_${createHash('sha256').update(d.idempotencyKey).digest('hex').slice(0, 16)}.json`;
    for (const target of [join(outside, 'x.json'), '/etc/passwd']) {
      symlinkSync(target, join(root, name));
      const err = await rejection(createDropzoneConnector().push(d, ctxFor({ rootPath: root, layout: 'flat' })));
      expect(err).toMatchObject({ code: 'DROPZONE_UNSAFE_PATH', retryable: false });
      expect(readdirSync(root).filter((n) => n.endsWith('.tmp'))).toEqual([]);
      expect(lstatSync(join(root, name)).isSymbolicLink()).toBe(true);
      (await import('node:fs')).unlinkSync(join(root, name));
    }
    expect(listTree(outside)).toEqual([]);
  });

  it('a symlink planted at the final path between the check and the publish: refused, temp removed', async () => {
    const { root, outside } = makeSandbox();
    const t = hookedTransport({ beforeLink: (_from, to) => symlinkSync(join(outside, 'evil.json'), to) });
    const err = await rejection(createDropzoneConnector({ transport: t }).push(doc(), ctxFor({ rootPath: root, layout: 'flat' })));
    expect(err).toMatchObject({ code: 'DROPZONE_UNSAFE_PATH', retryable: false });
    expect(readdirSync(root).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    expect(listTree(outside)).toEqual([]);
  });

  it('a symlinked document-type folder leading outside rootPath is refused', async () => {
    const { root, outside } = makeSandbox();
    symlinkSync(outside, join(root, 'invoice'));
    const err = await rejection(createDropzoneConnector().push(doc(), ctxFor({ rootPath: root })));
    expect(err).toMatchObject({ code: 'DROPZONE_UNSAFE_PATH', retryable: false });
    expect(listTree(outside)).toEqual([]);
  });

  it.skipIf(!canChattr)('a read-only (immutable, chattr +i) folder: NOT_WRITABLE, operator-fixable (retried over the horizon); test connection says so', async () => {
    // Tests run as root, which ignores mode bits; the immutable attribute binds root too.
    const { root } = makeSandbox();
    expect(spawnSync('chattr', ['+i', root]).status).toBe(0);
    try {
      const err = await rejection(createDropzoneConnector().push(doc(), ctxFor({ rootPath: root, layout: 'flat' })));
      expect(err).toMatchObject({ code: 'DROPZONE_NOT_WRITABLE', retryable: true, operatorFixable: true });
      const result = await createDropzoneConnector().testConnection(ctxFor({ rootPath: root }));
      expect(result.ok).toBe(false);
      expect(result.message).toMatch(/not writable/);
      expect(readdirSync(root)).toEqual([]);
    } finally {
      spawnSync('chattr', ['-i', root]);
    }
  });

  it.each([
    ['EACCES', 'DROPZONE_NOT_WRITABLE', true],
    ['EROFS', 'DROPZONE_NOT_WRITABLE', true],
  ])('injected %s at create: %s, operator-fixable %s', async (code, expected, operatorFixable) => {
    const { root } = makeSandbox();
    const t = hookedTransport({ beforeCreate: () => { throw errno(code); } });
    const err = await rejection(createDropzoneConnector({ transport: t }).push(doc(), ctxFor({ rootPath: root, layout: 'flat' })));
    expect(err).toMatchObject({ code: expected, retryable: true, operatorFixable });
    expect(readdirSync(root)).toEqual([]);
  });

  it.each([
    ['ENOSPC', 'write', 'DROPZONE_DISK_FULL'],
    ['EDQUOT', 'write', 'DROPZONE_DISK_FULL'],
    ['EIO', 'write', 'DROPZONE_IO_ERROR'],
    ['ENOSPC', 'sync', 'DROPZONE_DISK_FULL'],
    ['EIO', 'sync', 'DROPZONE_IO_ERROR'],
  ])('injected %s at %s: %s (retryable), temp removed, nothing renamed', async (code, where, expected) => {
    const { root } = makeSandbox();
    const fail = () => { throw errno(code); };
    const t = hookedTransport(where === 'write' ? { beforeWrite: fail } : { beforeSync: fail });
    const err = await rejection(createDropzoneConnector({ transport: t }).push(doc(), ctxFor({ rootPath: root })));
    expect(err).toMatchObject({ code: expected, retryable: true });
    expect(listTree(root)).toEqual(['invoice']);
    expect(t.calls.filter((c) => c.startsWith('link'))).toEqual([]);
  });

  it('an fsync failure is never retried on the same descriptor; the retry rewrites from scratch', async () => {
    const { root } = makeSandbox();
    let failures = 1;
    const t = hookedTransport({ beforeSync: () => { if (failures-- > 0) throw errno('EIO'); } });
    const connector = createDropzoneConnector({ transport: t });
    const d = doc();
    await rejection(connector.push(d, ctxFor({ rootPath: root })));
    const syncs = t.calls.filter((c) => c.startsWith('sync '));
    expect(syncs).toHaveLength(1);
    const receipt = await connector.push(d, ctxFor({ rootPath: root }));
    const creates = t.calls.filter((c) => c.startsWith('create '));
    expect(creates).toHaveLength(2);
    expect(creates[0]).not.toBe(creates[1]); // a fresh temp file, written again
    expect(listTree(root)).toEqual(['invoice', receipt.externalRef]);
  });

  it('with fsync off no file fsync happens (and the file still lands atomically)', async () => {
    const { root } = makeSandbox();
    const t = hookedTransport({});
    const receipt = await createDropzoneConnector({ transport: t }).push(doc(), ctxFor({ rootPath: root, fsync: false }));
    expect(t.calls.some((c) => c.startsWith('sync '))).toBe(false);
    expect(basename(receipt.externalRef)).toMatch(/\.json$/);
  });
});
