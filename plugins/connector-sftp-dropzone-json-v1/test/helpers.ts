import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { expect } from 'vitest';
import Ajv2020Module from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { isConnectorError, type ConnectorErrorLike, type ConnectorLogger, type OperationContext, type PushDocument } from '@erpc/sdk';
import type { SftpDropzoneConfigInput } from '../src/index.js';
import type { Sshd } from './sshd.js';

const Ajv2020 = ((Ajv2020Module as unknown as { default?: unknown }).default ?? Ajv2020Module) as typeof Ajv2020Module;
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as typeof addFormatsModule;
const require = createRequire(import.meta.url);

/** DROPZONE_JSON_V1's published envelope schema: an SFTP file must pass the very same file. */
export const ENVELOPE_SCHEMA_PATH = require.resolve('@erpc/connector-dropzone-json-v1/schemas/envelope.v1.schema.json');
const ajv = new Ajv2020({ strict: true, allErrors: true });
addFormats(ajv);
const validateEnvelope = ajv.compile(JSON.parse(readFileSync(ENVELOPE_SCHEMA_PATH, 'utf8')) as object);

/** Parses a delivered file and checks it against the published envelope schema. */
export function readEnvelope(path: string): Record<string, unknown> {
  const value = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  validateEnvelope(value);
  expect(validateEnvelope.errors ?? [], path).toEqual([]);
  return value;
}

/** Every entry under `dir`, relative, recursively, hidden ones included. */
export function listTree(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    out.push(rel);
    if (entry.isDirectory()) out.push(...listTree(join(dir, entry.name), rel));
  }
  return out.sort();
}

export const silentLogger: ConnectorLogger = { debug() {}, info() {}, warn() {}, error() {} };

export const CONNECTION = Object.freeze({ id: '5b7e3c1a-2f44-4f0e-8a41-0f3c2b7e9c22', orgId: 'org-acme', connectorType: 'SFTP_DROPZONE_JSON_V1' });

/** A key-authenticated config for the test server, serving `remotePath` (default: its drop folder). */
export function configFor(server: Sshd, overrides: Partial<SftpDropzoneConfigInput> = {}): SftpDropzoneConfigInput {
  return {
    host: '127.0.0.1',
    port: server.port,
    username: server.username,
    remotePath: server.drop,
    hostKeySha256: server.hostKeySha256,
    privateKey: server.privateKey,
    ...overrides,
  };
}

export function ctxFor(config: SftpDropzoneConfigInput, signal: AbortSignal = new AbortController().signal, connection = CONNECTION): OperationContext<SftpDropzoneConfigInput> {
  return { config: Object.freeze({ ...config }), signal, logger: silentLogger, connection };
}

let counter = 0;
export function doc(overrides: Partial<PushDocument> = {}): PushDocument {
  counter += 1;
  return {
    pushId: `push-${counter}`,
    documentType: 'invoice',
    documentId: `INV-${counter}`,
    idempotencyKey: `key-${counter}-${Math.random()}`,
    payload: { number: `INV-${counter}`, total: 119.5, lines: [{ sku: 'A-1', qty: 2 }], note: 'Grüße ✓' },
    createdAt: '2025-01-31T12:00:00.000Z',
    ...overrides,
  };
}

/** Awaits a promise that must reject with a ConnectorError, and returns that error. */
export async function rejection(p: Promise<unknown>): Promise<ConnectorErrorLike> {
  const err = await p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
  expect(isConnectorError(err), String(err)).toBe(true);
  return err as ConnectorErrorLike;
}

/** How many lines of the server's log match `pattern` (counts connections, SFTP requests). */
export function countLog(server: Sshd, pattern: RegExp): number {
  return server.log().split('\n').filter((l) => pattern.test(l)).length;
}
