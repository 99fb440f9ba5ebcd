import { ConnectorError } from '@erpc/sdk';
import { DROPZONE_ERRORS } from './errors.js';

/** The layouts of the drop folder. */
export type DropzoneLayout = 'flat' | 'by-document-type';

/** The connection config as stored (see config.schema.json); optional fields may be absent. */
export interface DropzoneConfigInput {
  rootPath: string;
  layout?: DropzoneLayout;
  filePrefix?: string;
  fsync?: boolean;
  maxFileBytes?: number;
  acknowledgements?: { enabled?: boolean };
}

/** The config with every default applied. */
export interface DropzoneConfig {
  rootPath: string;
  layout: DropzoneLayout;
  filePrefix: string;
  fsync: boolean;
  maxFileBytes: number;
  acknowledgements: { enabled: boolean };
}

export const DEFAULT_MAX_FILE_BYTES = 8 * 1024 * 1024;
const PREFIX = /^[A-Za-z0-9_-]{0,32}$/;

function invalid(field: string, rule: string): ConnectorError {
  // Name the field and the rule, never the value: a config value may be sensitive.
  return new ConnectorError(DROPZONE_ERRORS.CONFIG_INVALID, `Invalid connection config: ${field} ${rule}.`, {
    retryable: false,
    details: { field },
  });
}

/**
 * Applies the schema's defaults and re-checks the rules in code: the host may or may not run Ajv
 * with useDefaults, and a plugin must be safe with a config it was handed directly.
 */
export function resolveConfig(raw: unknown): DropzoneConfig {
  if (typeof raw !== 'object' || raw === null) throw invalid('config', 'must be an object');
  const c = raw as Record<string, unknown>;
  const rootPath = c.rootPath;
  if (typeof rootPath !== 'string' || rootPath.length === 0) throw invalid('rootPath', 'is required');
  if (!rootPath.startsWith('/')) throw invalid('rootPath', 'must be an absolute path');
  if (rootPath.includes('\u0000')) throw invalid('rootPath', 'must not contain a NUL character');
  if (rootPath.length > 4096) throw invalid('rootPath', 'must be at most 4096 characters');

  const layout = c.layout ?? 'by-document-type';
  if (layout !== 'flat' && layout !== 'by-document-type') throw invalid('layout', 'must be "flat" or "by-document-type"');

  const filePrefix = c.filePrefix ?? '';
  if (typeof filePrefix !== 'string' || !PREFIX.test(filePrefix)) throw invalid('filePrefix', 'must match ^[A-Za-z0-9_-]{0,32}$');

  const fsync = c.fsync ?? true;
  if (typeof fsync !== 'boolean') throw invalid('fsync', 'must be true or false');

  const maxFileBytes = c.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  if (typeof maxFileBytes !== 'number' || !Number.isInteger(maxFileBytes) || maxFileBytes < 1024 || maxFileBytes > 1024 ** 3) {
    throw invalid('maxFileBytes', 'must be an integer between 1024 and 1073741824');
  }

  const acks = c.acknowledgements ?? { enabled: false };
  if (typeof acks !== 'object' || acks === null) throw invalid('acknowledgements', 'must be an object');
  const enabled = (acks as { enabled?: unknown }).enabled ?? false;
  if (typeof enabled !== 'boolean') throw invalid('acknowledgements.enabled', 'must be true or false');

  return { rootPath, layout, filePrefix, fsync, maxFileBytes, acknowledgements: { enabled } };
}
