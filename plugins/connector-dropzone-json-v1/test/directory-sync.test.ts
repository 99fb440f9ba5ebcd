import { constants, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createDropzoneConnector, createLocalTransport, type DropzoneTransport } from '../src/index.js';
import { DirectorySync } from '../src/directory-sync.js';
import { cleanSandboxes, ctxFor, doc, errno, makeSandbox, readEnvelope } from './helpers.js';

afterEach(cleanSandboxes);

/**
 * The real local transport whose folder fsyncs are held until the test releases them, and
 * recorded with the order of events: what each caller may rely on is "an fsync that started after
 * I called has finished".
 */
function heldSyncs(): { transport: DropzoneTransport; events: string[]; release(fail?: string): void; pending(): number } {
  const real = createLocalTransport();
  const events: string[] = [];
  const waiting: { resolve: () => void; reject: (e: Error) => void }[] = [];
  let n = 0;
  return {
    events,
    transport: {
      ...real,
      async syncDirectory(path) {
        const id = ++n;
        events.push(`start ${id}`);
        await new Promise<void>((resolve, reject) => waiting.push({ resolve, reject }));
        await real.syncDirectory(path);
        events.push(`end ${id}`);
      },
    },
    release(fail) {
      const w = waiting.shift();
      if (w === undefined) throw new Error('no fsync is waiting');
      if (fail === undefined) w.resolve();
      else w.reject(errno(fail));
    },
    pending: () => waiting.length,
  };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('DROPZONE_JSON_V1 folder fsync group commit', () => {
  it('a caller that arrives while an fsync runs waits for the next one, which serves every such caller', async () => {
    const { root } = makeSandbox();
    const held = heldSyncs();
    const sync = new DirectorySync(held.transport);
    const done: string[] = [];
    const call = (name: string) => {
      held.events.push(`call ${name}`);
      return sync.sync(root).then(() => void held.events.push(`done ${name}`) ?? done.push(name));
    };

    const a = call('a');
    await tick();
    const b = call('b');
    const c = call('c');
    await tick();
    expect(held.pending()).toBe(1); // b and c did not start an fsync of their own
    held.release();
    await a;
    await tick();
    expect(done).toEqual(['a']); // the fsync that ended started before b and c called
    expect(held.pending()).toBe(1);
    const d = call('d'); // arrives while the second one runs: a third one for it
    held.release();
    await Promise.all([b, c]);
    await tick();
    expect(done).toEqual(['a', 'b', 'c']);
    held.release();
    await d;
    expect(held.events).toEqual([
      'call a',
      'start 1',
      'call b',
      'call c',
      'end 1',
      'done a',
      'start 2',
      'call d',
      'end 2',
      'done b',
      'done c',
      'start 3',
      'end 3',
      'done d',
    ]);
    expect(sync.busyFolders).toBe(0);
  });

  it('one caller at a time gets its own fsync at once', async () => {
    const { root } = makeSandbox();
    let fsyncs = 0;
    const real = createLocalTransport();
    const sync = new DirectorySync({ ...real, syncDirectory: async (p) => void (fsyncs++, await real.syncDirectory(p)) });
    for (let i = 0; i < 5; i++) await sync.sync(root);
    expect(fsyncs).toBe(5);
    expect(sync.busyFolders).toBe(0);
  });

  it('a failed fsync fails every caller sharing it, and the next caller starts afresh', async () => {
    const { root } = makeSandbox();
    const held = heldSyncs();
    const sync = new DirectorySync(held.transport);
    const a = sync.sync(root);
    await tick();
    const b = sync.sync(root);
    const c = sync.sync(root);
    held.release();
    await a;
    await tick();
    held.release('EIO');
    await expect(b).rejects.toMatchObject({ code: 'EIO' });
    await expect(c).rejects.toMatchObject({ code: 'EIO' });
    const d = sync.sync(root);
    await tick();
    held.release();
    await d;
    expect(sync.busyFolders).toBe(0);
  });

  it('when the running fsync fails, the callers waiting for the next one fail too', async () => {
    const { root } = makeSandbox();
    const held = heldSyncs();
    const sync = new DirectorySync(held.transport);
    const a = sync.sync(root);
    await tick();
    const b = sync.sync(root); // linked while the failing fsync ran: not known durable either
    held.release('EIO');
    await expect(a).rejects.toMatchObject({ code: 'EIO' });
    await expect(b).rejects.toMatchObject({ code: 'EIO' });
    expect(held.pending()).toBe(0); // no second fsync was started for b
    expect(sync.busyFolders).toBe(0);
    const c = sync.sync(root);
    await tick();
    held.release();
    await c;
    expect(sync.busyFolders).toBe(0);
  });

  it('a transport that throws at once still leaves no state behind', async () => {
    const sync = new DirectorySync({
      ...createLocalTransport(),
      syncDirectory: () => {
        throw errno('EIO');
      },
    });
    await expect(sync.sync('/nowhere')).rejects.toMatchObject({ code: 'EIO' });
    expect(sync.busyFolders).toBe(0);
  });

  it('concurrent pushes into one real folder share folder fsyncs, and every file is there and complete', async () => {
    const { root } = makeSandbox();
    const real = createLocalTransport();
    let fsyncs = 0;
    // Each folder fsync takes a few ms, as on a real disk under load: pushes pile up behind it.
    const port = createDropzoneConnector({
      transport: {
        ...real,
        async syncDirectory(p) {
          fsyncs++;
          await new Promise((r) => setTimeout(r, 5));
          await real.syncDirectory(p);
        },
      },
    });
    const ctx = ctxFor({ rootPath: root, layout: 'flat' });
    const docs = Array.from({ length: 64 }, () => doc());
    const receipts = await Promise.all(docs.map((d) => port.push(d, ctx)));
    expect(fsyncs).toBeGreaterThan(0);
    expect(fsyncs).toBeLessThan(docs.length / 2);
    const names = readdirSync(root).sort();
    expect(names).toEqual(receipts.map((r) => r.externalRef).sort());
    for (const [i, d] of docs.entries()) expect(readEnvelope(join(root, receipts[i]!.externalRef)).idempotencyKey).toBe(d.idempotencyKey);
  });
});

/** The open flags (fdinfo, octal) of this process's descriptor of `path`, or undefined if none is open. */
function openFlagsOf(path: string): number | undefined {
  for (const fd of readdirSync('/proc/self/fd')) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // closed meanwhile (the readdir's own descriptor)
    }
    if (target !== path) continue;
    const line = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8').split('\n').find((l) => l.startsWith('flags:'));
    return Number.parseInt(line!.slice('flags:'.length).trim(), 8);
  }
  return undefined;
}

/** Whether this process's open descriptor of `path` was opened with O_SYNC. */
const hasOSync = (path: string): boolean => ((openFlagsOf(path) ?? 0) & constants.O_SYNC) === constants.O_SYNC;

describe.runIf(process.platform === 'linux')('DROPZONE_JSON_V1 files flushed by the host (the sandbox, where fsync is disabled)', () => {
  /** A transport over `files` that records, per created file, whether its descriptor has O_SYNC. */
  function recording(files: { sync(path: string): Promise<void> }) {
    const real = createLocalTransport(files);
    const created: { path: string; oSync: boolean }[] = [];
    const transport: DropzoneTransport = {
      ...real,
      async createExclusive(path, mode, durable) {
        const file = await real.createExclusive(path, mode, durable);
        created.push({ path, oSync: hasOSync(path) });
        return file;
      },
    };
    return { transport, created };
  }

  it('with fsync on, the document file is written with O_SYNC and only folders are flushed through the host', async () => {
    const { root } = makeSandbox();
    const synced: string[] = [];
    const files = { sync: async (p: string) => void synced.push(p) };
    const { transport, created } = recording(files);
    const port = createDropzoneConnector({ transport });
    const receipt = await port.push(doc(), ctxFor({ rootPath: root, layout: 'flat' }));
    expect(readEnvelope(join(root, receipt.externalRef)).documentType).toBe('invoice');
    expect(created).toHaveLength(1);
    expect(created[0]!.oSync).toBe(true);
    expect(synced).toEqual([root]); // the folder, once; never the file
    // The connection test probes with the push's flags.
    const test = await port.testConnection(ctxFor({ rootPath: root, layout: 'flat' }));
    expect(test.ok).toBe(true);
    expect(created[1]!.oSync).toBe(true);
  });

  it('with fsync off, nothing is O_SYNC and nothing is flushed; in the host (no files service) the file is fsynced, not O_SYNC', async () => {
    const { root } = makeSandbox();
    const synced: string[] = [];
    const off = recording({ sync: async (p: string) => void synced.push(p) });
    await createDropzoneConnector({ transport: off.transport }).push(doc(), ctxFor({ rootPath: root, layout: 'flat', fsync: false }));
    expect(off.created.map((c) => c.oSync)).toEqual([false]);
    expect(synced).toEqual([]);

    const real = createLocalTransport();
    const flags: boolean[] = [];
    const fsyncs: string[] = [];
    const host: DropzoneTransport = {
      ...real,
      async createExclusive(path, mode, durable) {
        const file = await real.createExclusive(path, mode, durable);
        flags.push(hasOSync(path));
        return { ...file, sync: async () => void (fsyncs.push(path), await file.sync()) };
      },
    };
    await createDropzoneConnector({ transport: host }).push(doc(), ctxFor({ rootPath: root, layout: 'flat' }));
    expect(flags).toEqual([false]);
    expect(fsyncs).toHaveLength(1);
  });
});
