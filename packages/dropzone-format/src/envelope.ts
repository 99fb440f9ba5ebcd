import { createHash } from 'node:crypto';
import { isRawJsonNumber, type ConnectionRef, type PushDocument } from '@erpc/sdk';
import { assertDocumentType } from './file-name.js';
import { documentInvalid } from './document-invalid.js';

/** The `format` value of version 1 of the envelope. */
export const ENVELOPE_FORMAT = 'erpc.dropzone.v1';

/** One dropped file (schemas/envelope.v1.schema.json). */
export interface DropzoneEnvelope {
  format: typeof ENVELOPE_FORMAT;
  pushId: string;
  orgId: string;
  connectionId: string;
  documentType: string;
  documentId: string;
  idempotencyKey: string;
  createdAt: string;
  payload: unknown;
  payloadSha256: string;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/i;

/**
 * RFC 8785 (JCS) canonical JSON: object keys sorted by UTF-16 code units, no whitespace, numbers
 * and strings as ECMAScript's JSON.stringify writes them, except numbers the host hands over as
 * their exact text (raw JSON values, `@erpc/sdk`'s `isRawJsonNumber`): those are written with
 * exactly the digits they were sent with (`118.00` stays `118.00`; ADR 0027). Non-JSON values (NaN, Infinity,
 * BigInt, functions, symbols, cycles) are refused rather than silently changed, so nothing the
 * caller sent is lost on the way to the ERP. Undefined object members are dropped as in JSON.
 */
export function canonicalJson(value: unknown): string {
  const seen = new Set<object>();
  // Path segments of the value being walked; joined into `$.a[0].b` only for an error message
  // (building the path string for every member cost more than the walk itself).
  const segments: (string | number)[] = [];
  const path = (): string => `$${segments.map((s) => (typeof s === 'number' ? `[${s}]` : `.${s}`)).join('')}`;
  const walk = (v: unknown): string => {
    if (v === null) return 'null';
    switch (typeof v) {
      case 'string':
      case 'boolean':
        return JSON.stringify(v);
      case 'number':
        if (!Number.isFinite(v)) throw documentInvalid(`The payload holds a non-finite number at ${path()}; JSON cannot carry it.`);
        return JSON.stringify(v);
      case 'object': {
        // A number erpc carries as its exact text (`118.00`, a 30-digit integer): written as sent.
        if (isRawJsonNumber(v)) return v.rawJSON;
        const withToJson = v as { toJSON?: unknown };
        if (typeof withToJson.toJSON === 'function') return walk((withToJson.toJSON as () => unknown)());
        if (seen.has(v)) throw documentInvalid(`The payload is circular at ${path()}.`);
        seen.add(v);
        let out: string;
        if (Array.isArray(v)) {
          const parts: string[] = [];
          for (let i = 0; i < v.length; i++) {
            segments.push(i);
            parts.push(walk(v[i]));
            segments.pop();
          }
          out = `[${parts.join(',')}]`;
        } else {
          const keys = Object.keys(v).sort();
          const parts: string[] = [];
          for (const k of keys) {
            const item = (v as Record<string, unknown>)[k];
            if (item === undefined) continue;
            segments.push(k);
            parts.push(`${JSON.stringify(k)}:${walk(item)}`);
            segments.pop();
          }
          out = `{${parts.join(',')}}`;
        }
        seen.delete(v);
        return out;
      }
      default:
        throw documentInvalid(`The payload holds a ${typeof v} at ${path()}; only JSON values can be dropped.`);
    }
  };
  return walk(value);
}

function requireText(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0) throw documentInvalid(`The document's ${field} must be a non-empty string.`);
  return value;
}

/**
 * Builds the file's bytes. The envelope is written compactly with its members in a fixed order
 * and the payload in canonical form, so `payloadSha256` is the SHA-256 of exactly the payload's
 * bytes in the file and of its RFC 8785 form (an importer can check either).
 */
export function buildEnvelopeBytes(document: PushDocument, connection: ConnectionRef): { bytes: Buffer; envelope: Omit<DropzoneEnvelope, 'payload'> } {
  assertDocumentType(document.documentType);
  const pushId = requireText(document.pushId, 'pushId');
  const documentId = requireText(document.documentId, 'documentId');
  const idempotencyKey = requireText(document.idempotencyKey, 'idempotencyKey');
  const createdAt = requireText(document.createdAt, 'createdAt');
  if (!RFC3339.test(createdAt) || Number.isNaN(Date.parse(createdAt))) {
    throw documentInvalid('The document\'s createdAt must be an RFC 3339 date-time such as 2025-01-31T12:00:00Z.');
  }
  if (document.payload === undefined) throw documentInvalid('The document has no payload.');
  const payloadJson = canonicalJson(document.payload);
  const payloadSha256 = createHash('sha256').update(payloadJson, 'utf8').digest('hex');
  const head: Omit<DropzoneEnvelope, 'payload' | 'payloadSha256'> = {
    format: ENVELOPE_FORMAT,
    pushId,
    orgId: connection.orgId,
    connectionId: connection.id,
    documentType: document.documentType,
    documentId,
    idempotencyKey,
    createdAt,
  };
  const headJson = JSON.stringify(head);
  const text = `${headJson.slice(0, -1)},"payload":${payloadJson},"payloadSha256":"${payloadSha256}"}\n`;
  return { bytes: Buffer.from(text, 'utf8'), envelope: { ...head, payloadSha256 } };
}

/**
 * Whether the bytes of a file found under a final name are this delivery's envelope: same
 * organisation and idempotency key. Idempotency is per organisation, not per connection: a retry
 * after the organisation replaced its connection (same folder) must still find its file. Not
 * JSON, or truncated: false (the caller reports a name conflict).
 */
export function isEnvelopeOf(bytes: Buffer, truncated: boolean, orgId: string, idempotencyKey: string): boolean {
  if (truncated) return false;
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    return false;
  }
  const p = parsed as Record<string, unknown> | null;
  return typeof p === 'object' && p !== null && p.orgId === orgId && p.idempotencyKey === idempotencyKey;
}
