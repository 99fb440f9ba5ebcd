import { hash } from 'node:crypto';
import { isRawJsonNumber } from '@erpc/sdk';

/**
 * JSON with object keys sorted at every depth, so two payloads that differ only in key order hash
 * the same. Numbers keep the text they were sent with (raw JSON values, ADR 0027): `118.00` and
 * `118` are different documents. Idempotent replays are recognised by it.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object' && !isRawJsonNumber(value)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  return value;
}

/** Hex SHA-256 of the canonical JSON of `payload`. */
export function payloadSha256(payload: unknown): string {
  return hash('sha256', canonicalJson(payload), 'hex');
}
