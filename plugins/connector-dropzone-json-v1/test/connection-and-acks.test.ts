import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isConnectorError } from '@erpc/sdk';
import { createDropzoneConnector } from '../src/index.js';
import { cleanSandboxes, ctxFor, doc, errno, hookedTransport, makeSandbox } from './helpers.js';

afterEach(cleanSandboxes);

describe('DROPZONE_JSON_V1 testConnection', () => {
  it('ok: writes a hidden temp with O_EXCL, fsyncs, deletes it, leaves no file', async () => {
    const { root } = makeSandbox();
    const t = hookedTransport({});
    const result = await createDropzoneConnector({ transport: t }).testConnection(ctxFor({ rootPath: root }));
    expect(result).toMatchObject({ ok: true, latencyMs: expect.any(Number) });
    expect(result.message).toBeUndefined();
    const created = t.calls.find((c) => c.startsWith('create '))!;
    expect(created).toMatch(/\/\.erpc-connection-test\.[0-9a-f]+\.tmp$/);
    expect(t.calls).toContain(created.replace('create', 'sync'));
    expect(readdirSync(root)).toEqual([]);
  });

  it('a missing folder: ok false, "does not exist", no config value (canary) in the message', async () => {
    const { sandbox } = makeSandbox();
    const result = await createDropzoneConnector().testConnection(ctxFor({ rootPath: join(sandbox, 'CANARY-s3cr3t-folder') }));
    expect(result).toMatchObject({ ok: false, latencyMs: expect.any(Number) });
    expect(result.message).toMatch(/does not exist/);
    expect(result.message).not.toContain('CANARY');
  });

  it('a folder that is a file, and an invalid config: ok false with an actionable message', async () => {
    const { sandbox } = makeSandbox();
    writeFileSync(join(sandbox, 'f'), '');
    expect((await createDropzoneConnector().testConnection(ctxFor({ rootPath: join(sandbox, 'f') }))).message).toMatch(/not a directory/);
    expect((await createDropzoneConnector().testConnection(ctxFor({ rootPath: 'rel' }))).message).toMatch(/rootPath must be an absolute path/);
  });

  it('a failure after the probe file was created (ENOSPC at write) still leaves no file', async () => {
    const { root } = makeSandbox();
    const t = hookedTransport({ beforeWrite: () => { throw errno('ENOSPC'); } });
    const result = await createDropzoneConnector({ transport: t }).testConnection(ctxFor({ rootPath: root }));
    expect(result.ok).toBe(false);
    expect(result.message).toMatch(/full/);
    expect(readdirSync(root)).toEqual([]);
  });
});

describe('DROPZONE_JSON_V1 checkDelivery (acknowledgements)', () => {
  const acks = { enabled: true };

  it('is refused when acknowledgements are disabled (the default)', async () => {
    const { root } = makeSandbox();
    const c = createDropzoneConnector();
    const receipt = await c.push(doc(), ctxFor({ rootPath: root }));
    // The receipt already says so: the host schedules no check for it.
    expect(receipt.expectAcknowledgement).toBe(false);
    const err = await c.checkDelivery(receipt, ctxFor({ rootPath: root })).catch((e: unknown) => e);
    expect(isConnectorError(err) && err.code).toBe('DROPZONE_ACKS_DISABLED');
    const withAcks = await c.push(doc({ idempotencyKey: 'k-acks' }), ctxFor({ rootPath: root, acknowledgements: acks }));
    expect(withAcks).not.toHaveProperty('expectAcknowledgement');
  });

  it('pending, then acknowledged with the ERP document number from a .ack JSON', async () => {
    const { root } = makeSandbox();
    const c = createDropzoneConnector();
    const ctx = ctxFor({ rootPath: root, acknowledgements: acks });
    const receipt = await c.push(doc(), ctx);
    expect(await c.checkDelivery(receipt, ctx)).toEqual({ state: 'pending', details: { filePresent: true } });
    writeFileSync(join(root, `${receipt.externalRef}.ack`), JSON.stringify({ documentNumber: 'SAP-5100000042' }));
    expect(await c.checkDelivery(receipt, ctx)).toMatchObject({ state: 'acknowledged', details: { erpDocumentNumber: 'SAP-5100000042' } });
  });

  it('an empty or non-JSON .ack still means acknowledged', async () => {
    const { root } = makeSandbox();
    const c = createDropzoneConnector();
    const ctx = ctxFor({ rootPath: root, acknowledgements: acks, layout: 'flat' });
    const receipt = await c.push(doc(), ctx);
    writeFileSync(join(root, `${receipt.externalRef}.ack`), 'OK');
    expect(await c.checkDelivery(receipt, ctx)).toMatchObject({ state: 'acknowledged', details: { ackParseError: true } });
  });

  it('rejected with the .err text as the reason, control characters stripped, length capped', async () => {
    const { root } = makeSandbox();
    const c = createDropzoneConnector();
    const ctx = ctxFor({ rootPath: root, acknowledgements: acks });
    const receipt = await c.push(doc(), ctx);
    writeFileSync(join(root, `${receipt.externalRef}.err`), 'Vendor V-17 unknown\u0007\n');
    expect(await c.checkDelivery(receipt, ctx)).toMatchObject({ state: 'rejected', message: 'Vendor V-17 unknown' });
    writeFileSync(join(root, `${receipt.externalRef}.err`), 'E'.repeat(1024 * 1024));
    const huge = await c.checkDelivery(receipt, ctx);
    expect(huge.state).toBe('rejected');
    expect(huge.message!.length).toBeLessThanOrEqual(2001);
  });

  it('a symlinked marker is not followed (cannot leak another file) and reads as pending', async () => {
    const { root, outside } = makeSandbox();
    const c = createDropzoneConnector();
    const ctx = ctxFor({ rootPath: root, acknowledgements: acks, layout: 'flat' });
    const receipt = await c.push(doc(), ctx);
    mkdirSync(join(outside, 'not-envelopes'));
    writeFileSync(join(outside, 'not-envelopes', 'secret.txt'), 'CANARY-private');
    symlinkSync(join(outside, 'not-envelopes', 'secret.txt'), join(root, `${receipt.externalRef}.err`));
    const status = await c.checkDelivery(receipt, ctx);
    expect(status).toMatchObject({ state: 'pending', details: { ignoredMarker: true } });
    expect(JSON.stringify(status)).not.toContain('CANARY');
  });

  it.each(['../../etc/passwd', 'invoice/../../x.json', '/etc/x.json', '.hidden.json', 'a/b/c.json'])(
    'refuses a receipt it did not produce: %j',
    async (externalRef) => {
      const { root } = makeSandbox();
      const err = await createDropzoneConnector()
        .checkDelivery({ externalRef }, ctxFor({ rootPath: root, acknowledgements: acks }))
        .catch((e: unknown) => e);
      expect(isConnectorError(err) && err.code).toBe('DROPZONE_RECEIPT_INVALID');
    },
  );
});
