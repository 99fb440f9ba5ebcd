import { readdirSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { createDropzoneConnector } from '../src/index.js';
import { cleanSandboxes, rejection, ctxFor, doc, hookedTransport, listTree, makeSandbox } from './helpers.js';

afterEach(cleanSandboxes);

/** A gate that holds a transport call, as a dead network mount would, until released. */
function hang() {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let entered!: () => void;
  const reached = new Promise<void>((r) => (entered = r));
  return { hook: async () => { entered(); await gate; }, release, reached };
}

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 5));
}

describe('DROPZONE_JSON_V1 honours ctx.signal', () => {
  it('returns on abort while fsync hangs; once the call returns, the temp is removed and nothing is published', async () => {
    // No timing assertion: if the abort were not honoured, the push would wait on the gate forever
    // and the test would fail on vitest's timeout.
    const { root } = makeSandbox();
    const stuck = hang();
    const connector = createDropzoneConnector({ transport: hookedTransport({ beforeSync: stuck.hook }) });
    const controller = new AbortController();
    const pushing = connector.push(doc(), ctxFor({ rootPath: root }, controller.signal));
    await stuck.reached;
    expect(listTree(root).some((n) => n.endsWith('.tmp'))).toBe(true);
    controller.abort(new Error('host timeout'));
    const err = await rejection(pushing);
    expect(err).toMatchObject({ code: 'DROPZONE_ABORTED', retryable: true });

    // While the stuck call is pending, new work on that folder fails fast instead of piling up.
    expect(connector.pendingAbandoned(root)).toBe(1);
    const fast = await rejection(connector.push(doc(), ctxFor({ rootPath: root })));
    expect(fast).toMatchObject({ code: 'DROPZONE_FS_UNRESPONSIVE', retryable: true });
    const probe = await connector.testConnection(ctxFor({ rootPath: root }));
    expect(probe.ok).toBe(false);
    expect(probe.message).toMatch(/stuck/);

    stuck.release();
    await until(() => connector.pendingAbandoned(root) === 0);
    expect(listTree(root)).toEqual(['invoice']);
    // And the folder works again.
    await connector.push(doc(), ctxFor({ rootPath: root }));
  });

  it('a timeout (AbortSignal.timeout) fires while realpath hangs', async () => {
    const { root } = makeSandbox();
    const stuck = hang();
    const connector = createDropzoneConnector({ transport: hookedTransport({ beforeRealpath: stuck.hook }) });
    const err = await rejection(connector.push(doc(), ctxFor({ rootPath: root }, AbortSignal.timeout(50))));
    expect(err.code).toBe('DROPZONE_ABORTED');
    const result = await createDropzoneConnector({ transport: hookedTransport({ beforeRealpath: hang().hook }) }).testConnection(
      ctxFor({ rootPath: root }, AbortSignal.timeout(50)),
    );
    expect(result).toMatchObject({ ok: false, message: expect.stringMatching(/time limit/) });
    stuck.release();
    await until(() => connector.pendingAbandoned(root) === 0);
    expect(readdirSync(root)).toEqual([]);
  });

  it('an already-aborted signal does no file-system work at all', async () => {
    const { root } = makeSandbox();
    const t = hookedTransport({});
    const err = await rejection(createDropzoneConnector({ transport: t }).push(doc(), ctxFor({ rootPath: root }, AbortSignal.abort())));
    expect(err.code).toBe('DROPZONE_ABORTED');
    expect(t.calls).toEqual([]);
  });

  it('abort while the write hangs: the temp is cleaned up after the write returns', async () => {
    const { root } = makeSandbox();
    const stuck = hang();
    const connector = createDropzoneConnector({ transport: hookedTransport({ beforeWrite: stuck.hook }) });
    const controller = new AbortController();
    const pushing = connector.push(doc(), ctxFor({ rootPath: root, layout: 'flat' }, controller.signal));
    await stuck.reached;
    controller.abort();
    expect((await rejection(pushing)).code).toBe('DROPZONE_ABORTED');
    stuck.release();
    await until(() => connector.pendingAbandoned(root) === 0);
    expect(readdirSync(root)).toEqual([]);
  });
});
