import { DEFAULT_LAYOUT, type DropzoneLayout } from './layout.js';

/** The largest file written when the config names no maxFileBytes (8 MiB). */
export const DEFAULT_MAX_FILE_BYTES = 8 * 1024 * 1024;
export const MIN_FILE_BYTES = 1024;
export const MAX_FILE_BYTES = 1024 ** 3;
const PREFIX = /^[A-Za-z0-9_-]{0,32}$/;

/**
 * Builds a connector's config error for `field` breaking `rule`. Connectors name the field and
 * the rule, never the value: a config value may be sensitive.
 */
export type ConfigInvalid = (field: string, rule: string) => Error;

/** The config fields every drop-folder connector shares, with their defaults applied. */
export interface DropzoneFormatOptions {
  layout: DropzoneLayout;
  filePrefix: string;
  maxFileBytes: number;
  acknowledgements: { enabled: boolean };
}

export function resolveLayout(value: unknown, invalid: ConfigInvalid): DropzoneLayout {
  const layout = value ?? DEFAULT_LAYOUT;
  if (layout !== 'flat' && layout !== 'by-document-type') throw invalid('layout', 'must be "flat" or "by-document-type"');
  return layout;
}

export function resolveFilePrefix(value: unknown, invalid: ConfigInvalid): string {
  const filePrefix = value ?? '';
  if (typeof filePrefix !== 'string' || !PREFIX.test(filePrefix)) throw invalid('filePrefix', 'must match ^[A-Za-z0-9_-]{0,32}$');
  return filePrefix;
}

export function resolveMaxFileBytes(value: unknown, invalid: ConfigInvalid): number {
  const maxFileBytes = value ?? DEFAULT_MAX_FILE_BYTES;
  if (typeof maxFileBytes !== 'number' || !Number.isInteger(maxFileBytes) || maxFileBytes < MIN_FILE_BYTES || maxFileBytes > MAX_FILE_BYTES) {
    throw invalid('maxFileBytes', `must be an integer between ${MIN_FILE_BYTES} and ${MAX_FILE_BYTES}`);
  }
  return maxFileBytes;
}

export function resolveAcknowledgements(value: unknown, invalid: ConfigInvalid): { enabled: boolean } {
  const acks = value ?? { enabled: false };
  if (typeof acks !== 'object' || acks === null) throw invalid('acknowledgements', 'must be an object');
  const enabled = (acks as { enabled?: unknown }).enabled ?? false;
  if (typeof enabled !== 'boolean') throw invalid('acknowledgements.enabled', 'must be true or false');
  return { enabled };
}
