import { mkdtempSync, readdirSync, readFileSync, rmSync, lstatSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import Ajv2020Module from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { isConnectorError, type ConnectorErrorLike, type ConnectorLogger, type OperationContext, type PushDocument } from '@erpc/sdk';
import type { DropzoneConfigInput, DropzoneTransport } from '../src/index.js';
import { createLocalTransport } from '../src/index.js';

const Ajv2020 = ((Ajv2020Module as unknown as { default?: unknown }).default ?? Ajv2020Module) as typeof Ajv2020Module;
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as typeof addFormatsModule;

/** The published schema file itself, not a copy. */
export const ENVELOPE_SCHEMA_PATH = fileURLToPath(new URL('../schemas/envelope.v1.schema.json', import.meta.url));
const ajv = new Ajv2020({ strict: true, allErrors: true });
addFormats(ajv);
const validateEnvelope = ajv.compile(JSON.parse(readFileSync(ENVELOPE_SCHEMA_PATH, 'utf8')) as object);

/** Parses a dropped file and checks it against schemas/envelope.v1.schema.json. */
export function readEnvelope(path: string): Record<string, unknown> {
  const value = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  const ok = validateEnvelope(value);
  expect(validateEnvelope.errors ?? [], path).toEqual([]);
  expect(ok).toBe(true);
  return value;
}

/** Every *.json file under `dir` (recursively), never following symlinks. */
export function jsonFilesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...jsonFilesUnder(p));
    else if (entry.isFile() && entry.name.endsWith('.json')) out.push(p);
  }
  return out;
}

/** Every entry under `dir`, relative, recursively (symlinks listed, not followed). */
export function listTree(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    out.push(rel);
    if (entry.isDirectory()) out.push(...listTree(join(dir, entry.name), rel));
  }
  return out.sort();
}

const sandboxes: string[] = [];

/**
 * A fresh sandbox: `<sandbox>/drop` is the drop folder, `<sandbox>/outside` a folder a traversal
 * or symlink would reach. Removed (after validating every .json written) by {@link cleanSandboxes}.
 */
export function makeSandbox(): { sandbox: string; root: string; outside: string } {
  const sandbox = mkdtempSync(join(tmpdir(), 'erpc-dropzone-'));
  const root = join(sandbox, 'drop');
  const outside = join(sandbox, 'outside');
  mkdirSync(root);
  mkdirSync(outside);
  sandboxes.push(sandbox);
  return { sandbox, root, outside };
}

/** Validates every .json any test wrote against the published schema, then deletes the sandboxes. */
export function cleanSandboxes(): void {
  for (const sandbox of sandboxes.splice(0)) {
    for (const file of jsonFilesUnder(sandbox)) {
      if (!lstatSync(file).isFile()) continue;
      if (file.includes('/not-envelopes/')) continue;
      readEnvelope(file);
    }
    rmSync(sandbox, { recursive: true, force: true });
  }
}

export const silentLogger: ConnectorLogger = { debug() {}, info() {}, warn() {}, error() {} };

export const CONNECTION = Object.freeze({ id: '7d0f6a52-1d7b-4f0e-9a41-0f3c2b7e9c11', orgId: 'org-acme', connectorType: 'DROPZONE_JSON_V1' });

export function ctxFor(config: DropzoneConfigInput, signal: AbortSignal = new AbortController().signal, connection = CONNECTION): OperationContext<DropzoneConfigInput> {
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

/** A Node-style errno error, as the fs module throws. */
export function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: injected by test`), { code });
}

/**
 * The real local transport with hooks: each hook runs before the real call and may throw (inject
 * ENOSPC/EIO/EACCES), wait (simulate a hung mount) or plant something on the real disk.
 */
export function hookedTransport(hooks: {
  beforeCreate?: (path: string) => void | Promise<void>;
  beforeWrite?: (path: string) => void | Promise<void>;
  beforeSync?: (path: string) => void | Promise<void>;
  beforeLink?: (from: string, to: string) => void | Promise<void>;
  beforeRealpath?: (path: string) => void | Promise<void>;
}): DropzoneTransport & { calls: string[] } {
  const real = createLocalTransport();
  const calls: string[] = [];
  return {
    calls,
    ...real,
    async realpath(path) {
      calls.push('realpath');
      await hooks.beforeRealpath?.(path);
      return real.realpath(path);
    },
    async createExclusive(path, mode, durable) {
      calls.push(`create ${path}`);
      await hooks.beforeCreate?.(path);
      const file = await real.createExclusive(path, mode, durable);
      return {
        async write(data) {
          calls.push(`write ${path}`);
          await hooks.beforeWrite?.(path);
          return file.write(data);
        },
        async sync() {
          calls.push(`sync ${path}`);
          await hooks.beforeSync?.(path);
          return file.sync();
        },
        close: () => file.close(),
      };
    },
    async link(from, to) {
      calls.push(`link ${to}`);
      await hooks.beforeLink?.(from, to);
      return real.link(from, to);
    },
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
  expect(isConnectorError(err)).toBe(true);
  return err as ConnectorErrorLike;
}
