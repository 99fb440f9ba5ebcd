import { createHash } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isConnectorDefinition } from '@erpc/sdk';
import definition, { createDropzoneConnector } from '../src/index.js';
import { cleanSandboxes, rejection, ctxFor, doc, listTree, makeSandbox, readEnvelope, CONNECTION } from './helpers.js';

afterEach(cleanSandboxes);

/** The naming rule, written out independently of the implementation. */
function expectedName(prefix: string, type: string, id: string, key: string): string {
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 16);
  return `${prefix}${type}_${id}_${hash}.json`;
}

describe('DROPZONE_JSON_V1 push', () => {
  it('is a tagged connector definition whose port the host can call', () => {
    expect(isConnectorDefinition(definition)).toBe(true);
    expect(definition.connectorType).toBe('DROPZONE_JSON_V1');
  });

  it('writes one envelope into <root>/<type>/ by default, named by the rule, mode 0640, valid against the schema', async () => {
    const { root } = makeSandbox();
    const connector = definition.create({ logger: ctxFor({ rootPath: root }).logger, clock: { now: () => new Date() } });
    const d = doc({ documentId: 'INV-2025-001', idempotencyKey: 'k-1' });
    const receipt = await connector.push(d, ctxFor({ rootPath: root }));

    const name = expectedName('', 'invoice', 'INV-2025-001', 'k-1');
    expect(receipt.externalRef).toBe(`invoice/${name}`);
    expect(listTree(root)).toEqual(['invoice', `invoice/${name}`]);
    const path = join(root, receipt.externalRef);
    expect(statSync(path).mode & 0o777).toBe(0o640 & ~process.umask());
    const env = readEnvelope(path);
    expect(env).toEqual({
      format: 'erpc.dropzone.v1',
      pushId: d.pushId,
      orgId: CONNECTION.orgId,
      connectionId: CONNECTION.id,
      documentType: 'invoice',
      documentId: 'INV-2025-001',
      idempotencyKey: 'k-1',
      createdAt: d.createdAt,
      payload: d.payload,
      payloadSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
  });

  it('hashes the canonical (RFC 8785) payload, which is exactly the payload bytes in the file', async () => {
    const { root } = makeSandbox();
    const payload = { z: 1, a: { y: [3, 'x', null, true], b: 0.1 }, 'é': 'ü' };
    const receipt = await createDropzoneConnector().push(doc({ payload }), ctxFor({ rootPath: root, layout: 'flat' }));
    const text = readFileSync(join(root, receipt.externalRef), 'utf8');
    const canonical = '{"a":{"b":0.1,"y":[3,"x",null,true]},"z":1,"é":"ü"}';
    expect(text).toContain(`"payload":${canonical},`);
    expect(readEnvelope(join(root, receipt.externalRef)).payloadSha256).toBe(createHash('sha256').update(canonical).digest('hex'));
  });

  it('flat layout and filePrefix', async () => {
    const { root } = makeSandbox();
    const receipt = await createDropzoneConnector().push(
      doc({ documentType: 'credit_note', documentId: 'CN-9', idempotencyKey: 'k-9' }),
      ctxFor({ rootPath: root, layout: 'flat', filePrefix: 'ACME_' }),
    );
    expect(receipt.externalRef).toBe(expectedName('ACME_', 'credit_note', 'CN-9', 'k-9'));
    expect(readdirSync(root)).toEqual([receipt.externalRef]);
  });

  it.each([
    ['../../etc/x', '.._.._etc_x'],
    ['a/b', 'a_b'],
    ['nul\u0000byte', 'nul_byte'],
    ['/abs/olute', '_abs_olute'],
    ['..', '..'],
    ['with space\\and\nnewline', 'with_space_and_newline'],
    ['日本', '__'],
  ])('documentId %j yields a safe name inside the folder', async (documentId, sanitised) => {
    const { sandbox, root } = makeSandbox();
    const receipt = await createDropzoneConnector().push(doc({ documentId, idempotencyKey: 'k' }), ctxFor({ rootPath: root, layout: 'flat' }));
    expect(receipt.externalRef).toBe(expectedName('', 'invoice', sanitised, 'k'));
    expect(receipt.externalRef).toMatch(/^[A-Za-z0-9_-][A-Za-z0-9._-]*\.json$/);
    expect(listTree(sandbox)).toEqual(['drop', `drop/${receipt.externalRef}`, 'outside']);
    expect(readEnvelope(join(root, receipt.externalRef)).documentId).toBe(documentId);
  });

  it('a 10,000-character documentId is cut so the name stays within 200 characters', async () => {
    const { root } = makeSandbox();
    const documentId = 'x/'.repeat(5000);
    const receipt = await createDropzoneConnector().push(doc({ documentId }), ctxFor({ rootPath: root, layout: 'flat', filePrefix: 'P'.repeat(32) }));
    expect(receipt.externalRef.length).toBeLessThanOrEqual(200);
    expect(receipt.externalRef).toMatch(/^P{32}invoice_(x_)+x?_[0-9a-f]{16}\.json$/);
    expect(readEnvelope(join(root, receipt.externalRef)).documentId).toBe(documentId);
  });

  it('applies the config defaults itself when the host did not (layout, fsync, maxFileBytes)', async () => {
    const { root } = makeSandbox();
    const receipt = await createDropzoneConnector().push(doc({ payload: { blob: 'x'.repeat(7 * 1024 * 1024) } }), ctxFor({ rootPath: root }));
    expect(receipt.externalRef.startsWith('invoice/')).toBe(true);
    const tooBig = await rejection(createDropzoneConnector().push(doc({ payload: { blob: 'x'.repeat(9 * 1024 * 1024) } }), ctxFor({ rootPath: root })));
    expect(tooBig.code).toBe('DROPZONE_FILE_TOO_LARGE');
  });

  it('a file over maxFileBytes is a permanent error and writes nothing', async () => {
    const { root } = makeSandbox();
    const err = await rejection(createDropzoneConnector().push(doc({ payload: 'y'.repeat(5000) }), ctxFor({ rootPath: root, layout: 'flat', maxFileBytes: 4096 })));
    expect(err).toMatchObject({ code: 'DROPZONE_FILE_TOO_LARGE', retryable: false });
    expect(readdirSync(root)).toEqual([]);
  });

  it.each([
    ['a non-finite number', { total: Number.NaN }],
    ['a BigInt', { total: 10n }],
    ['a function', { f: () => 1 }],
  ])('refuses a payload with %s instead of altering it', async (_what, payload) => {
    const { root } = makeSandbox();
    const err = await rejection(createDropzoneConnector().push(doc({ payload }), ctxFor({ rootPath: root })));
    expect(err).toMatchObject({ code: 'DROPZONE_DOCUMENT_INVALID', retryable: false });
    expect(readdirSync(root)).toEqual([]);
  });

  it.each(['Invoice', '../x', '', 'a/b'])('refuses document type %j', async (documentType) => {
    const { root } = makeSandbox();
    const err = await rejection(createDropzoneConnector().push(doc({ documentType }), ctxFor({ rootPath: root })));
    expect(err).toMatchObject({ code: 'DROPZONE_DOCUMENT_INVALID', retryable: false });
    expect(readdirSync(root)).toEqual([]);
  });

  it('bad config is a permanent error that names the field, not the value', async () => {
    const err = await rejection(createDropzoneConnector().push(doc(), ctxFor({ rootPath: 'relative/CANARY-9f2' })));
    expect(err).toMatchObject({ code: 'DROPZONE_CONFIG_INVALID', retryable: false });
    expect(err.message).toContain('rootPath');
    expect(err.message).not.toContain('CANARY-9f2');
  });

  it('a missing folder is operator-fixable (retried over the horizon); a folder that is a file is permanent', async () => {
    const { sandbox } = makeSandbox();
    const missing = await rejection(createDropzoneConnector().push(doc(), ctxFor({ rootPath: join(sandbox, 'CANARY-nope') })));
    expect(missing).toMatchObject({ code: 'DROPZONE_ROOT_MISSING', retryable: true, operatorFixable: true });
    expect(missing.message).not.toContain('CANARY');
    writeFileSync(join(sandbox, 'file'), 'x');
    const notDir = await rejection(createDropzoneConnector().push(doc(), ctxFor({ rootPath: join(sandbox, 'file') })));
    expect(notDir).toMatchObject({ code: 'DROPZONE_NOT_A_DIRECTORY', retryable: false });
  });

  it('the same idempotency key twice: one file, the same externalRef', async () => {
    const { root } = makeSandbox();
    const connector = createDropzoneConnector();
    const d = doc();
    const first = await connector.push(d, ctxFor({ rootPath: root }));
    const second = await connector.push({ ...d, pushId: 'retry' }, ctxFor({ rootPath: root }));
    expect(second.externalRef).toBe(first.externalRef);
    expect(second.details).toMatchObject({ alreadyDelivered: true });
    expect(listTree(root)).toEqual(['invoice', first.externalRef]);
    expect(readEnvelope(join(root, first.externalRef)).pushId).toBe(d.pushId);
  });

  it('a retry (attempt 2) removes temps a killed earlier attempt left, before or after its link; attempt 1 lists nothing', async () => {
    const { root } = makeSandbox();
    const connector = createDropzoneConnector();
    const d = doc();
    const other = doc({ idempotencyKey: 'another-key', pushId: 'p-other' });
    const finalName = expectedName('', d.documentType, d.documentId, d.idempotencyKey);
    const stem = `.${finalName.slice(0, -'.json'.length)}.`;
    const otherStem = `.${expectedName('', other.documentType, other.documentId, other.idempotencyKey).slice(0, -5)}.`;
    const dir = join(root, 'invoice');
    // Crash before link: a half-written temp of this key, and one of another key that must stay.
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${stem}0123456789ab.tmp`), '{"partial":');
    writeFileSync(join(dir, `${otherStem}ba9876543210.tmp`), '{"partial":');

    await connector.push({ ...d, attempt: 1 }, ctxFor({ rootPath: root }));
    // A first attempt never lists the folder, so the abandoned temp is still there.
    expect(readdirSync(dir)).toContain(`${stem}0123456789ab.tmp`);

    await connector.push({ ...d, attempt: 2 }, ctxFor({ rootPath: root }));
    expect(readdirSync(dir).sort()).toEqual([`${otherStem}ba9876543210.tmp`, finalName].sort());

    // Crash after link, before unlink: the temp is a second name of the final file.
    linkSync(join(dir, finalName), join(dir, `${stem}aaaaaaaaaaaa.tmp`));
    const again = await connector.push({ ...d, attempt: 3 }, ctxFor({ rootPath: root }));
    expect(again.details).toMatchObject({ alreadyDelivered: true });
    expect(readdirSync(dir).sort()).toEqual([`${otherStem}ba9876543210.tmp`, finalName].sort());
    expect(readEnvelope(join(dir, finalName)).idempotencyKey).toBe(d.idempotencyKey);
  });

  it('a file of another organisation under the same name is a name conflict, never a silent success', async () => {
    const { root } = makeSandbox();
    const d = doc();
    await createDropzoneConnector().push(d, ctxFor({ rootPath: root }));
    const other = { ...CONNECTION, id: 'other-conn', orgId: 'org-other' };
    const err = await rejection(createDropzoneConnector().push(d, ctxFor({ rootPath: root }, undefined, other)));
    expect(err).toMatchObject({ code: 'DROPZONE_NAME_CONFLICT', retryable: false });
  });

  it('the same key through a replaced connection of the same organisation is still idempotent', async () => {
    const { root } = makeSandbox();
    const d = doc();
    const first = await createDropzoneConnector().push(d, ctxFor({ rootPath: root }));
    const again = await createDropzoneConnector().push(d, ctxFor({ rootPath: root }, undefined, { ...CONNECTION, id: 'new-conn' }));
    expect(again.externalRef).toBe(first.externalRef);
    expect(existsSync(join(root, first.externalRef))).toBe(true);
  });
});
