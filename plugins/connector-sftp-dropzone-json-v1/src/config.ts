import { createHash } from 'node:crypto';
import { ConnectorError } from '@erpc/sdk';
import {
  resolveAcknowledgements,
  resolveFilePrefix,
  resolveLayout,
  resolveMaxFileBytes,
  type DropzoneFormatOptions,
  type DropzoneLayout,
} from '@erpc/dropzone-format';
import { SFTP_ERRORS } from './errors.js';

/** The connection config as stored (see config.schema.json); optional fields may be absent. */
export interface SftpDropzoneConfigInput {
  host: string;
  port?: number;
  username: string;
  remotePath: string;
  hostKeySha256: string;
  privateKey?: string;
  passphrase?: string;
  password?: string;
  layout?: DropzoneLayout;
  filePrefix?: string;
  maxFileBytes?: number;
  acknowledgements?: { enabled?: boolean };
  connectTimeoutMs?: number;
  maxConcurrentUploads?: number;
}

/** The config with every default applied. */
export interface SftpDropzoneConfig extends DropzoneFormatOptions {
  host: string;
  port: number;
  username: string;
  remotePath: string;
  /** The fingerprint without `SHA256:` and padding: base64 of the SHA-256 of the key blob. */
  hostKeySha256: string;
  privateKey: string | undefined;
  passphrase: string | undefined;
  password: string | undefined;
  connectTimeoutMs: number;
  maxConcurrentUploads: number;
  /**
   * Identifies the SSH connection this config opens (server, account, credentials, limits), so a
   * changed config gets a new connection. A hash: the secrets themselves are not kept in it.
   */
  sessionKey: string;
}

export const DEFAULT_PORT = 22;
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_CONCURRENT_UPLOADS = 4;
const FINGERPRINT = /^SHA256:([A-Za-z0-9+/]{43})=?$/;

function invalid(field: string, rule: string): ConnectorError {
  // Name the field and the rule, never the value: a config value may be a secret.
  return new ConnectorError(SFTP_ERRORS.CONFIG_INVALID, `Invalid connection config: ${field} ${rule}.`, {
    retryable: false,
    details: { field },
  });
}

function text(c: Record<string, unknown>, field: string, max: number, required: boolean): string | undefined {
  const v = c[field];
  if (v === undefined && !required) return undefined;
  if (typeof v !== 'string' || v.length === 0) throw invalid(field, required ? 'is required' : 'must be a non-empty string');
  if (v.length > max) throw invalid(field, `must be at most ${max} characters`);
  if (v.includes('\u0000')) throw invalid(field, 'must not contain a NUL character');
  return v;
}

function integer(c: Record<string, unknown>, field: string, fallback: number, min: number, max: number): number {
  const v = c[field] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw invalid(field, `must be an integer between ${min} and ${max}`);
  return v;
}

/**
 * Applies the schema's defaults and re-checks its rules in code: the host may or may not run Ajv
 * with useDefaults, and a plugin must be safe with a config it was handed directly.
 */
export function resolveConfig(raw: unknown): SftpDropzoneConfig {
  if (typeof raw !== 'object' || raw === null) throw invalid('config', 'must be an object');
  const c = raw as Record<string, unknown>;
  const host = text(c, 'host', 253, true)!;
  if (/[\s/@]/.test(host)) throw invalid('host', 'must be a host name or IP address');
  const port = integer(c, 'port', DEFAULT_PORT, 1, 65535);
  const username = text(c, 'username', 256, true)!;
  const remotePath = text(c, 'remotePath', 4096, true)!;
  if (!remotePath.startsWith('/')) throw invalid('remotePath', 'must be an absolute path');
  const fingerprint = typeof c.hostKeySha256 === 'string' ? FINGERPRINT.exec(c.hostKeySha256) : null;
  if (!fingerprint) throw invalid('hostKeySha256', 'must be a fingerprint as ssh-keygen -lf prints it (SHA256: and 43 base64 characters)');
  const privateKey = text(c, 'privateKey', 65536, false);
  const passphrase = text(c, 'passphrase', 1024, false);
  const password = text(c, 'password', 1024, false);
  if (privateKey === undefined && password === undefined) throw invalid('privateKey', 'or password is required');
  if (passphrase !== undefined && privateKey === undefined) throw invalid('passphrase', 'needs privateKey');
  const layout = resolveLayout(c.layout, invalid);
  const filePrefix = resolveFilePrefix(c.filePrefix, invalid);
  const maxFileBytes = resolveMaxFileBytes(c.maxFileBytes, invalid);
  const acknowledgements = resolveAcknowledgements(c.acknowledgements, invalid);
  const connectTimeoutMs = integer(c, 'connectTimeoutMs', DEFAULT_CONNECT_TIMEOUT_MS, 100, 120_000);
  const maxConcurrentUploads = integer(c, 'maxConcurrentUploads', DEFAULT_MAX_CONCURRENT_UPLOADS, 1, 10);
  const hostKeySha256 = fingerprint[1]!;
  const sessionKey = createHash('sha256')
    .update(JSON.stringify([host, port, username, hostKeySha256, privateKey ?? null, passphrase ?? null, password ?? null, connectTimeoutMs, maxConcurrentUploads]))
    .digest('hex');
  return {
    host, port, username, remotePath, hostKeySha256, privateKey, passphrase, password,
    layout, filePrefix, maxFileBytes, acknowledgements, connectTimeoutMs, maxConcurrentUploads, sessionKey,
  };
}
