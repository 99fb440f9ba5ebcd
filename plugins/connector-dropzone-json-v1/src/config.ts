import { ConnectorError } from '@erpc/sdk';
import {
  DEFAULT_MAX_FILE_BYTES,
  resolveAcknowledgements,
  resolveFilePrefix,
  resolveLayout,
  resolveMaxFileBytes,
  type DropzoneLayout,
} from '@erpc/dropzone-format';
import { DROPZONE_ERRORS } from './errors.js';

export type { DropzoneLayout };

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

export { DEFAULT_MAX_FILE_BYTES };

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

  const layout = resolveLayout(c.layout, invalid);
  const filePrefix = resolveFilePrefix(c.filePrefix, invalid);

  const fsync = c.fsync ?? true;
  if (typeof fsync !== 'boolean') throw invalid('fsync', 'must be true or false');

  const maxFileBytes = resolveMaxFileBytes(c.maxFileBytes, invalid);
  const acknowledgements = resolveAcknowledgements(c.acknowledgements, invalid);

  return { rootPath, layout, filePrefix, fsync, maxFileBytes, acknowledgements };
}
