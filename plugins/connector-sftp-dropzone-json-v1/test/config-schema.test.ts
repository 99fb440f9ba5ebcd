import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import Ajv2020Module from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { manifestSchema } from '@erpc/sdk';
import { createSftpDropzoneConnector } from '../src/index.js';
import { ctxFor, doc, rejection } from './helpers.js';

const Ajv2020 = ((Ajv2020Module as unknown as { default?: unknown }).default ?? Ajv2020Module) as typeof Ajv2020Module;
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as typeof addFormatsModule;
const schema = JSON.parse(readFileSync(new URL('../config.schema.json', import.meta.url), 'utf8')) as Record<string, unknown>;
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { erpc: Record<string, unknown> };
const FP = `SHA256:${'Ab+/'.repeat(10)}xyz`;
const base = { host: 'sftp.example.com', username: 'acme', remotePath: '/Incoming/Invoices', hostKeySha256: FP, password: 'secret' };

describe('SFTP_DROPZONE_JSON_V1 config schema and manifest', () => {
  const ajv = new Ajv2020({ strict: true, allErrors: true, useDefaults: true });
  addFormats(ajv);
  const validate = ajv.compile(schema);

  it('marks every secret writeOnly', () => {
    const props = schema.properties as Record<string, { writeOnly?: boolean }>;
    expect(Object.entries(props).filter(([, p]) => p.writeOnly).map(([k]) => k).sort()).toEqual(['passphrase', 'password', 'privateKey']);
  });

  it('fills in the defaults the issue names', () => {
    const config: Record<string, unknown> = { ...base };
    expect(validate(config)).toBe(true);
    expect(config).toMatchObject({ port: 22, layout: 'by-document-type', maxFileBytes: 8388608, acknowledgements: { enabled: false }, connectTimeoutMs: 10000, maxConcurrentUploads: 4 });
  });

  it.each([
    ['no credentials', { ...base, password: undefined }],
    ['a passphrase without a key', { ...base, passphrase: 'p' }],
    ['a relative remotePath', { ...base, remotePath: 'Incoming' }],
    ['an MD5 fingerprint', { ...base, hostKeySha256: 'MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48' }],
    ['a fingerprint without SHA256:', { ...base, hostKeySha256: 'Ab+/'.repeat(10) + 'xyz' }],
    ['a host with a user part', { ...base, host: 'acme@sftp.example.com' }],
    ['port 0', { ...base, port: 0 }],
    ['maxConcurrentUploads 0', { ...base, maxConcurrentUploads: 0 }],
    ['an unknown field', { ...base, hostKey: 'x' }],
  ])('refuses %s', (_what, config) => {
    expect(validate(JSON.parse(JSON.stringify(config)))).toBe(false);
  });

  it('the connector re-checks the config itself: a bad one is permanent and names the field, never the value', async () => {
    const err = await rejection(createSftpDropzoneConnector().push(doc(), ctxFor({ ...base, hostKeySha256: 'CANARY-not-a-fingerprint' })));
    expect(err).toMatchObject({ code: 'SFTP_DROPZONE_CONFIG_INVALID', retryable: false });
    expect(err.message).toContain('hostKeySha256');
    expect(err.message).not.toContain('CANARY');
    const none = await rejection(createSftpDropzoneConnector().push(doc(), ctxFor({ ...base, password: undefined })));
    expect(none.message).toContain('privateKey or password is required');
  });

  it('the manifest declares the network capability and passes the SDK manifest schema; the schema refuses malformed capabilities', () => {
    const manifestAjv = new Ajv2020({ strict: true, allErrors: true });
    const check = manifestAjv.compile(manifestSchema as Record<string, unknown>);
    expect(pkg.erpc.capabilities).toEqual({ network: true });
    expect(check(pkg.erpc), JSON.stringify(check.errors)).toBe(true);
    const dropzone = JSON.parse(readFileSync(new URL('../../connector-dropzone-json-v1/package.json', import.meta.url), 'utf8')) as { erpc: Record<string, unknown> };
    expect(dropzone.erpc.capabilities).toEqual({ fsWrite: ['/rootPath'] });
    expect(check(dropzone.erpc)).toBe(true);
    expect(check({ ...pkg.erpc, capabilities: { network: 'yes' } })).toBe(false);
    expect(check({ ...pkg.erpc, capabilities: { fsWrite: ['rootPath'] } })).toBe(false);
    expect(check({ ...pkg.erpc, capabilities: { processes: true } })).toBe(false);
  });
});

describe('SFTP_DROPZONE_JSON_V1 error codes', () => {
  it('docs/errors.md and the README list exactly the codes the plugin throws, with the right retryable flag', async () => {
    const { SFTP_ERRORS } = await import('../src/index.js');
    const rows = (text: string): Map<string, string> => {
      const out = new Map<string, string>();
      for (const line of text.split('\n')) {
        const m = /^\|\s*`(SFTP_DROPZONE_[A-Z_]+)`\s*\|\s*(yes|no)\b/.exec(line);
        if (m) out.set(m[1]!, m[2]!);
      }
      return out;
    };
    const errorsDoc = rows(readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8'));
    const readme = rows(readFileSync(new URL('../README.md', import.meta.url), 'utf8'));
    const codes = Object.values(SFTP_ERRORS).sort();
    expect([...errorsDoc.keys()].sort()).toEqual(codes);
    expect([...readme.keys()].sort()).toEqual(codes);
    expect(errorsDoc).toEqual(readme);
    // The host key mismatch is never retried blindly; the operator-fixable faults are.
    expect(errorsDoc.get('SFTP_DROPZONE_HOST_KEY_MISMATCH')).toBe('no');
    for (const c of ['FOLDER_MISSING', 'NOT_WRITABLE', 'DISK_FULL', 'CONNECTION_REFUSED', 'CONNECTION_TIMEOUT', 'AUTH_FAILED']) {
      expect(errorsDoc.get(`SFTP_DROPZONE_${c}`), c).toBe('yes');
    }
  });
});
