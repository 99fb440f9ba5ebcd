import { isRawJsonNumber } from '@erpc/sdk';
import { describe, expect, it } from 'vitest';
import { isPlainJson, markPlainJson } from '../../src/input/plain-json.js';
import { callArgument } from '../../src/plugins/sandbox/sandbox-supervisor.js';
import { toRow } from '../../src/storage/repositories/push-repository.js';

const row = (payloadText: string | null, payload: unknown = null) =>
  toRow({ id: 'p', org_id: 'o', connection_id: 'c', connector_type: 'MOCK', document_type: 'invoice', document_id: 'D', idempotency_key: 'k', payload_text: payloadText, payload, payload_sha256: 'x', status: 'PROCESSING', attempts: 1, ack_checks: 0, manual_retries: 0, created_at: new Date(0), updated_at: new Date(0) });

/**
 * A push document crosses into the sandbox inside the call's line when its payload holds no raw
 * JSON number, and as JSON text of its own otherwise (ADR 0048): the host knows which from the
 * stored text's plain parse.
 */
describe('sandbox call argument', () => {
  it('a stored payload is marked plain only when its plain parse prints back to the stored text', () => {
    expect(isPlainJson(row('{"net":118,"rate":0.1,"lines":[{"qty":2}]}').payload)).toBe(true);
    const exact = row('{"net":118.00}').payload as { net: unknown };
    expect(isRawJsonNumber(exact.net)).toBe(true);
    expect(isPlainJson(exact)).toBe(false);
    // A row accepted before its text was kept (jsonb only): not known to be plain.
    expect(isPlainJson(row(null, { net: 118 }).payload)).toBe(false);
    expect(isPlainJson(null)).toBe(false);
    expect(isPlainJson(markPlainJson(1))).toBe(false);
  });

  it('a document with a plain payload goes in the line; any other argument as its own JSON text, digits kept', () => {
    const plain = { pushId: 'p', payload: row('{"net":118,"lines":[{"price":9.99}]}').payload };
    const inLine = callArgument({ op: 'push', arg: plain });
    expect(inLine).toEqual({ arg: plain });
    // The line is JSON.stringify of the message: one parse gives the document back, equal.
    expect(JSON.parse(JSON.stringify({ t: 'call', ...inLine })).arg).toEqual(plain);

    const exact = { pushId: 'p', payload: row('{"net":118.00}').payload };
    expect(callArgument({ op: 'push', arg: exact })).toEqual({ argText: '{"pushId":"p","payload":{"net":118.00}}' });
    // An unmarked payload (built by a caller, not read back from the store) is not trusted to be plain.
    expect(callArgument({ op: 'push', arg: { pushId: 'p', payload: { net: 1 } } })).toEqual({ argText: '{"pushId":"p","payload":{"net":1}}' });
    // A receipt, and no argument at all.
    expect(callArgument({ op: 'checkDelivery', arg: { externalRef: 'r', payload: plain.payload } })).toHaveProperty('argText');
    expect(callArgument({ op: 'testConnection' })).toEqual({});
  });
});
