import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, linkSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isConnectorDefinition } from '@erpc/sdk';
import { createDropzoneConnector } from '@erpc/connector-dropzone-json-v1';
import definition, { createSftpDropzoneConnector } from '../src/index.js';
import { CONNECTION, configFor, countLog, ctxFor, doc, listTree, readEnvelope, rejection } from './helpers.js';
import { HAVE_SSHD, startSshd, type Sshd } from './sshd.js';

// CI installs openssh-server (.ci/run); elsewhere, without it, these tests say why they skip.
const suite = HAVE_SSHD || process.env.CI ? describe : describe.skip;

let server: Sshd;
const folders: string[] = [];
beforeAll(async () => {
  if (HAVE_SSHD || process.env.CI) server = await startSshd({ requestLog: true });
});
afterAll(async () => {
  await server?.stop();
  for (const f of folders) rmSync(f, { recursive: true, force: true });
});

/** A fresh, empty folder inside the served tree. */
function freshDrop(): string {
  const dir = mkdtempSync(join(server.drop, 'case-'));
  return dir;
}

function expectedName(prefix: string, type: string, id: string, key: string): string {
  return `${prefix}${type}_${id}_${createHash('sha256').update(key).digest('hex').slice(0, 16)}.json`;
}

suite('SFTP_DROPZONE_JSON_V1 against a real OpenSSH sshd', () => {
  it('is a tagged connector definition', () => {
    expect(isConnectorDefinition(definition)).toBe(true);
    expect(definition.connectorType).toBe('SFTP_DROPZONE_JSON_V1');
  });

  it('delivers exactly the file DROPZONE_JSON_V1 writes: same name, same bytes, valid envelope, no temporary left', async () => {
    const drop = freshDrop();
    const sftp = createSftpDropzoneConnector();
    const d = doc({ documentId: 'INV/2025 001', idempotencyKey: 'k-1' });
    const receipt = await sftp.push(d, ctxFor(configFor(server, { remotePath: drop })));
    const name = expectedName('', 'invoice', 'INV_2025_001', 'k-1');
    expect(receipt).toEqual({ externalRef: `invoice/${name}`, details: { bytes: expect.any(Number) }, expectAcknowledgement: false });
    expect(listTree(drop)).toEqual(['invoice', `invoice/${name}`]);
    const env = readEnvelope(join(drop, receipt.externalRef));
    expect(env).toMatchObject({ format: 'erpc.dropzone.v1', pushId: d.pushId, orgId: CONNECTION.orgId, connectionId: CONNECTION.id, documentId: d.documentId, payload: d.payload });

    const local = mkdtempSync(join(tmpdir(), 'erpc-sftp-vs-local-'));
    folders.push(local);
    const localReceipt = await createDropzoneConnector().push(d, { ...ctxFor(configFor(server)), config: { rootPath: local } } as never);
    expect(localReceipt.externalRef).toBe(receipt.externalRef);
    expect(readFileSync(join(drop, receipt.externalRef))).toEqual(readFileSync(join(local, localReceipt.externalRef)));
    await sftp.dispose();
  });

  it('flushes with fsync@openssh.com and publishes with hardlink@openssh.com (the server log shows each request)', async () => {
    const drop = freshDrop();
    const sftp = createSftpDropzoneConnector();
    const receipt = await sftp.push(doc(), ctxFor(configFor(server, { remotePath: drop, layout: 'flat' })));
    const final = join(drop, receipt.externalRef);
    await sftp.dispose();
    const lines = server.requests().split('\n');
    const open = lines.findIndex((l) => l.includes('open "') && l.includes(drop) && l.includes('.tmp') && /CREATE|CREAT/.test(l) && /EXCL/.test(l));
    const link = lines.findIndex((l) => /hardlink old ".*\.tmp" new "/.test(l) && l.includes(final));
    expect(open, server.requests()).toBeGreaterThanOrEqual(0);
    expect(link).toBeGreaterThan(open);
    const between = lines.slice(open, link);
    expect(between.some((l) => /^fsync ".*\.tmp"/.test(l)), between.join('\n')).toBe(true);
    expect(between.some((l) => /close ".*\.tmp" bytes read 0 written \d+/.test(l))).toBe(true);
    expect(readdirSync(drop)).toEqual([receipt.externalRef]);
  });

  it('flat layout and filePrefix', async () => {
    const drop = freshDrop();
    const sftp = createSftpDropzoneConnector();
    const receipt = await sftp.push(doc({ documentType: 'credit_note', documentId: 'CN-9', idempotencyKey: 'k-9' }), ctxFor(configFor(server, { remotePath: drop, layout: 'flat', filePrefix: 'ACME_' })));
    expect(receipt.externalRef).toBe(expectedName('ACME_', 'credit_note', 'CN-9', 'k-9'));
    expect(readdirSync(drop)).toEqual([receipt.externalRef]);
    await sftp.dispose();
  });

  it('idempotent redelivery: the same push again (first attempt or retry) returns the same externalRef and writes no second file', async () => {
    const drop = freshDrop();
    const sftp = createSftpDropzoneConnector();
    const ctx = ctxFor(configFor(server, { remotePath: drop }));
    const d = doc();
    const first = await sftp.push(d, ctx);
    const again = await sftp.push(d, ctx);
    const retry = await sftp.push({ ...d, attempt: 2 }, ctx);
    // A new connector (another worker) too.
    const other = createSftpDropzoneConnector();
    const elsewhere = await other.push({ ...d, attempt: 3 }, ctx);
    for (const r of [again, retry, elsewhere]) {
      expect(r.externalRef).toBe(first.externalRef);
      expect(r.details).toMatchObject({ alreadyDelivered: true });
    }
    expect(listTree(drop)).toEqual(['invoice', first.externalRef]);
    expect(readEnvelope(join(drop, first.externalRef)).pushId).toBe(d.pushId);
    await Promise.all([sftp.dispose(), other.dispose()]);
  });

  it('a retry removes the temporaries a killed attempt left (before or after its publish), and only this key\'s', async () => {
    const drop = freshDrop();
    const sftp = createSftpDropzoneConnector();
    const ctx = ctxFor(configFor(server, { remotePath: drop, layout: 'flat' }));
    const d = doc();
    const finalName = expectedName('', 'invoice', d.documentId, d.idempotencyKey);
    const stem = `.${finalName.slice(0, -5)}.`;
    const otherTemp = `.${expectedName('', 'invoice', 'X', 'another-key').slice(0, -5)}.ba9876543210.tmp`;
    writeFileSync(join(drop, `${stem}0123456789ab.tmp`), '{"partial":');
    writeFileSync(join(drop, otherTemp), '{"partial":');
    await sftp.push({ ...d, attempt: 1 }, ctx);
    expect(readdirSync(drop)).toContain(`${stem}0123456789ab.tmp`); // a first attempt never lists the folder
    await sftp.push({ ...d, attempt: 2 }, ctx);
    expect(readdirSync(drop).sort()).toEqual([otherTemp, finalName].sort());
    linkSync(join(drop, finalName), join(drop, `${stem}aaaaaaaaaaaa.tmp`)); // killed after the link, before the unlink
    const again = await sftp.push({ ...d, attempt: 3 }, ctx);
    expect(again.details).toMatchObject({ alreadyDelivered: true });
    expect(readdirSync(drop).sort()).toEqual([otherTemp, finalName].sort());
    await sftp.dispose();
  });

  it('another organisation\'s file under the same name is a permanent name conflict, never a silent success', async () => {
    const drop = freshDrop();
    const sftp = createSftpDropzoneConnector();
    const d = doc();
    await sftp.push(d, ctxFor(configFor(server, { remotePath: drop })));
    const err = await rejection(sftp.push(d, ctxFor(configFor(server, { remotePath: drop }), undefined, { ...CONNECTION, id: 'other', orgId: 'org-other' })));
    expect(err).toMatchObject({ code: 'SFTP_DROPZONE_NAME_CONFLICT', retryable: false });
    await sftp.dispose();
  });

  it('one SSH connection for many pushes, at most maxConcurrentUploads SFTP channels; closed when idle, reconnected on the next push, closed on dispose', async () => {
    const drop = freshDrop();
    const sftp = createSftpDropzoneConnector({ idleMs: 300 });
    const ctx = ctxFor(configFor(server, { remotePath: drop, maxConcurrentUploads: 3 }));
    const accepted = countLog(server, /Accepted publickey/);
    const channels = countLog(server, /Starting session: subsystem 'sftp'/);
    const receipts = await Promise.all(Array.from({ length: 24 }, () => sftp.push(doc(), ctxFor(ctx.config)))); // one signal per call, as from the host
    expect(new Set(receipts.map((r) => r.externalRef)).size).toBe(24);
    expect(countLog(server, /Accepted publickey/) - accepted).toBe(1);
    const opened = countLog(server, /Starting session: subsystem 'sftp'/) - channels;
    expect(opened).toBeGreaterThanOrEqual(1);
    expect(opened).toBeLessThanOrEqual(3);
    expect(sftp.openConnections).toBe(1);
    await new Promise((r) => setTimeout(r, 700));
    expect(sftp.openConnections).toBe(0);
    await sftp.push(doc(), ctx);
    expect(countLog(server, /Accepted publickey/) - accepted).toBe(2);
    await sftp.dispose();
    expect(sftp.openConnections).toBe(0);
    expect(readdirSync(join(drop, 'invoice')).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('key authentication with an encrypted key and its passphrase; a wrong passphrase is a permanent key error that quotes nothing', async () => {
    const sftp = createSftpDropzoneConnector();
    const ok = await sftp.testConnection(ctxFor(configFor(server, { privateKey: server.encryptedKey, passphrase: server.passphrase })));
    expect(ok).toMatchObject({ ok: true, latencyMs: expect.any(Number) });
    const err = await rejection(sftp.push(doc(), ctxFor(configFor(server, { privateKey: server.encryptedKey, passphrase: 'CANARY-wrong-passphrase' }))));
    expect(err).toMatchObject({ code: 'SFTP_DROPZONE_KEY_INVALID', retryable: false });
    expect(JSON.stringify({ m: err.message, d: (err as { details?: unknown }).details })).not.toMatch(/CANARY|PRIVATE KEY/);
    await sftp.dispose();
  });

  it.runIf(process.getuid?.() === 0)('password authentication (a throwaway user with a password; root runs only)', async () => {
    const user = server.passwordUser!;
    const sftp = createSftpDropzoneConnector();
    const ctx = ctxFor({ ...configFor(server, { username: user.username, remotePath: user.drop }), privateKey: undefined, password: user.password });
    expect(await sftp.testConnection(ctx)).toMatchObject({ ok: true });
    const receipt = await sftp.push(doc(), ctx);
    readEnvelope(join(user.drop, receipt.externalRef));
    expect(countLog(server, new RegExp(`Accepted password for ${user.username}`))).toBeGreaterThanOrEqual(2);
    const wrong = await rejection(sftp.push(doc(), ctxFor({ ...ctx.config, password: 'CANARY-not-the-password' })));
    expect(wrong).toMatchObject({ code: 'SFTP_DROPZONE_AUTH_FAILED', retryable: true });
    expect(wrong.message).not.toContain('CANARY');
    await sftp.dispose();
  });

  it.runIf(process.getuid?.() === 0)('a folder the account cannot write is SFTP_DROPZONE_NOT_WRITABLE (retryable), and testConnection says so', async () => {
    const user = server.passwordUser!;
    const readOnly = join(server.dir, 'root-owned');
    mkdirSync(readOnly, { mode: 0o755 });
    const sftp = createSftpDropzoneConnector();
    const ctx = ctxFor({ ...configFor(server, { username: user.username, remotePath: readOnly }), privateKey: undefined, password: user.password });
    const err = await rejection(sftp.push(doc(), ctx));
    expect(err).toMatchObject({ code: 'SFTP_DROPZONE_NOT_WRITABLE', retryable: true });
    const flat = await rejection(sftp.push(doc(), ctxFor({ ...ctx.config, layout: 'flat' })));
    expect(flat).toMatchObject({ code: 'SFTP_DROPZONE_NOT_WRITABLE', retryable: true });
    expect((await sftp.testConnection(ctx)).message).toMatch(/refused permission/);
    expect(readdirSync(readOnly)).toEqual([]);
    await sftp.dispose();
  });

  it('a wrong host key fingerprint is refused before authenticating: permanent, and the message shows the key the server presented', async () => {
    const other = `SHA256:${createHash('sha256').update('not the key').digest('base64').replace(/=+$/, '')}`;
    const accepted = countLog(server, /Accepted/);
    const sftp = createSftpDropzoneConnector();
    const err = await rejection(sftp.push(doc(), ctxFor(configFor(server, { hostKeySha256: other }))));
    expect(err).toMatchObject({ code: 'SFTP_DROPZONE_HOST_KEY_MISMATCH', retryable: false });
    expect(err.message).toContain(server.hostKeySha256);
    expect(err.message).toContain('ssh-ed25519');
    const test = await sftp.testConnection(ctxFor(configFor(server, { hostKeySha256: other })));
    expect(test.ok).toBe(false);
    expect(test.message).toContain(server.hostKeySha256);
    expect(countLog(server, /Accepted/)).toBe(accepted);
    await sftp.dispose();
  });

  it('a key the server does not know is SFTP_DROPZONE_AUTH_FAILED (retryable: the ERP side installs it), quoting no secret', async () => {
    const { privateKey } = (await import('./sshd.js')).strangerKeys(server.dir);
    const sftp = createSftpDropzoneConnector();
    const err = await rejection(sftp.push(doc(), ctxFor(configFor(server, { privateKey }))));
    expect(err).toMatchObject({ code: 'SFTP_DROPZONE_AUTH_FAILED', retryable: true });
    expect(err.message).not.toContain('PRIVATE KEY');
    const test = await sftp.testConnection(ctxFor(configFor(server, { privateKey })));
    expect(test).toMatchObject({ ok: false, message: expect.stringMatching(/refused the credentials/) });
    await sftp.dispose();
  });

  it('a missing folder is SFTP_DROPZONE_FOLDER_MISSING (retryable, an operator fixes it); nothing is created; the folder name is not quoted', async () => {
    const missing = join(server.drop, 'CANARY-no-such-folder');
    const sftp = createSftpDropzoneConnector();
    const err = await rejection(sftp.push(doc(), ctxFor(configFor(server, { remotePath: missing }))));
    expect(err).toMatchObject({ code: 'SFTP_DROPZONE_FOLDER_MISSING', retryable: true });
    expect(err.message).not.toContain('CANARY');
    const test = await sftp.testConnection(ctxFor(configFor(server, { remotePath: missing })));
    expect(test).toMatchObject({ ok: false, message: expect.stringMatching(/does not exist/) });
    expect(existsSync(missing)).toBe(false);
    // Created afterwards: the next push works on the same connection.
    mkdirSync(missing);
    await sftp.push(doc(), ctxFor(configFor(server, { remotePath: missing })));
    expect(readdirSync(join(missing, 'invoice'))).toHaveLength(1);
    await sftp.dispose();
  });

  it('connection refused and a server that never answers the handshake are retryable, with their own codes', async () => {
    const { freePort } = await import('./sshd.js');
    const closed = await freePort();
    const sftp = createSftpDropzoneConnector();
    const refused = await rejection(sftp.push(doc(), ctxFor(configFor(server, { port: closed }))));
    expect(refused).toMatchObject({ code: 'SFTP_DROPZONE_CONNECTION_REFUSED', retryable: true });
    const { createServer } = await import('node:net');
    const silent = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    try {
      const timedOut = await rejection(sftp.push(doc(), ctxFor(configFor(server, { port, connectTimeoutMs: 300 }))));
      expect(timedOut).toMatchObject({ code: 'SFTP_DROPZONE_CONNECTION_TIMEOUT', retryable: true });
    } finally {
      silent.close();
    }
    await sftp.dispose();
  });

  it('an aborted signal rejects at once with SFTP_DROPZONE_ABORTED', async () => {
    const sftp = createSftpDropzoneConnector();
    const ac = new AbortController();
    ac.abort();
    const err = await rejection(sftp.push(doc(), ctxFor(configFor(server), ac.signal)));
    expect(err).toMatchObject({ code: 'SFTP_DROPZONE_ABORTED', retryable: true });
    await sftp.dispose();
  });

  it('too large and invalid documents are permanent and write nothing', async () => {
    const drop = freshDrop();
    const sftp = createSftpDropzoneConnector();
    const big = await rejection(sftp.push(doc({ payload: 'y'.repeat(5000) }), ctxFor(configFor(server, { remotePath: drop, maxFileBytes: 4096 }))));
    expect(big).toMatchObject({ code: 'SFTP_DROPZONE_FILE_TOO_LARGE', retryable: false });
    const bad = await rejection(sftp.push(doc({ payload: { n: Number.NaN } }), ctxFor(configFor(server, { remotePath: drop }))));
    expect(bad).toMatchObject({ code: 'SFTP_DROPZONE_DOCUMENT_INVALID', retryable: false });
    expect(readdirSync(drop)).toEqual([]);
    await sftp.dispose();
  });
});

suite('SFTP_DROPZONE_JSON_V1 acknowledgements written by the "ERP"', () => {
  it('pending, acknowledged with the ERP document number, rejected with the .err text when newer; symlinked markers ignored', async () => {
    const drop = freshDrop();
    const sftp = createSftpDropzoneConnector();
    const ctx = ctxFor(configFor(server, { remotePath: drop, acknowledgements: { enabled: true } }));
    const receipt = await sftp.push(doc(), ctx);
    expect(receipt).not.toHaveProperty('expectAcknowledgement');
    expect(await sftp.checkDelivery(receipt, ctx)).toEqual({ state: 'pending', details: { filePresent: true } });
    writeFileSync(join(drop, `${receipt.externalRef}.ack`), JSON.stringify({ documentNumber: 'SAP-5100000042' }));
    expect(await sftp.checkDelivery(receipt, ctx)).toMatchObject({ state: 'acknowledged', details: { erpDocumentNumber: 'SAP-5100000042' } });

    const second = await sftp.push(doc(), ctx);
    writeFileSync(join(drop, `${second.externalRef}.err`), 'Vendor V-17 unknown\u0007\n');
    expect(await sftp.checkDelivery(second, ctx)).toMatchObject({ state: 'rejected', message: 'Vendor V-17 unknown' });

    const third = await sftp.push(doc(), ctx);
    mkdirSync(join(server.dir, 'not-envelopes'), { recursive: true });
    writeFileSync(join(server.dir, 'not-envelopes', 'secret.txt'), 'CANARY-private');
    const { symlinkSync } = await import('node:fs');
    symlinkSync(join(server.dir, 'not-envelopes', 'secret.txt'), join(drop, `${third.externalRef}.err`));
    const status = await sftp.checkDelivery(third, ctx);
    expect(status).toMatchObject({ state: 'pending', details: { ignoredMarker: true } });
    expect(JSON.stringify(status)).not.toContain('CANARY');
    await sftp.dispose();
  });

  it('a batch of checks reads each folder once (one directory listing), not one round trip per push', async () => {
    const drop = freshDrop();
    const sftp = createSftpDropzoneConnector();
    const ctx = ctxFor(configFor(server, { remotePath: drop, acknowledgements: { enabled: true } }));
    const receipts = await Promise.all(Array.from({ length: 12 }, () => sftp.push(doc(), ctxFor(ctx.config))));
    for (const r of receipts.slice(0, 4)) writeFileSync(join(drop, `${r.externalRef}.ack`), '');
    for (const r of receipts.slice(4, 6)) writeFileSync(join(drop, `${r.externalRef}.err`), 'no');
    const listings = (): number => server.requests().split('\n').filter((l) => l.includes(`opendir "${drop}/invoice"`)).length;
    const before = listings();
    const states = await Promise.all(receipts.map((r) => sftp.checkDelivery(r, ctxFor(ctx.config))));
    expect(listings() - before).toBe(1);
    expect(states.map((s) => s.state)).toEqual([...Array(4).fill('acknowledged'), 'rejected', 'rejected', ...Array(6).fill('pending')]);
    await sftp.dispose();
  });

  it('is refused when acknowledgements are off, and for a receipt it did not produce', async () => {
    const sftp = createSftpDropzoneConnector();
    const off = await rejection(sftp.checkDelivery({ externalRef: 'invoice/invoice_X_0123456789abcdef.json' }, ctxFor(configFor(server))));
    expect(off).toMatchObject({ code: 'SFTP_DROPZONE_ACKS_DISABLED', retryable: false });
    for (const externalRef of ['../../etc/passwd', 'invoice/../../x.json', '/etc/x.json', '.hidden.json']) {
      const err = await rejection(sftp.checkDelivery({ externalRef }, ctxFor(configFor(server, { acknowledgements: { enabled: true } }))));
      expect(err.code).toBe('SFTP_DROPZONE_RECEIPT_INVALID');
    }
    await sftp.dispose();
  });
});

suite('SFTP_DROPZONE_JSON_V1 on a server that refuses hardlink@openssh.com', () => {
  let bare: Sshd;
  beforeAll(async () => {
    bare = await startSshd({ deniedRequests: ['hardlink'] });
  });
  afterAll(async () => {
    await bare?.stop();
  });

  it('publishes with a rename guarded by a check, still never writes a second file, and leaves no temporary', async () => {
    const sftp = createSftpDropzoneConnector();
    const ctx = ctxFor(configFor(bare, { layout: 'flat' }));
    const d = doc();
    const first = await sftp.push(d, ctx);
    const again = await sftp.push({ ...d, attempt: 2 }, ctx);
    expect(again).toMatchObject({ externalRef: first.externalRef, details: { alreadyDelivered: true } });
    expect(readdirSync(bare.drop)).toEqual([first.externalRef]);
    readEnvelope(join(bare.drop, first.externalRef));
    const log = bare.requests();
    expect(log).toMatch(/refusing to advertise disallowed extension hardlink@openssh\.com/);
    expect(log).not.toMatch(/hardlink old/);
    expect(log).toMatch(new RegExp(`rename old ".*\\.tmp" new ".*${first.externalRef.replace(/\./g, '\\.')}"`));
    await sftp.dispose();
  });
});
