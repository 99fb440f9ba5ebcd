import { describe, expect, it } from 'vitest';
import { receiptProblem } from '../src/checks/push.js';

describe('push.receipts: the shape of a receipt', () => {
  it('accepts an externalRef with optional details and expectAcknowledgement', () => {
    expect(receiptProblem({ externalRef: 'a.json' })).toBeUndefined();
    expect(receiptProblem({ externalRef: 'a.json', details: { bytes: 3 }, expectAcknowledgement: false })).toBeUndefined();
    expect(receiptProblem({ externalRef: 'a.json', expectAcknowledgement: true })).toBeUndefined();
  });

  it('names what is wrong', () => {
    expect(receiptProblem(undefined)).toMatch(/not a receipt/);
    expect(receiptProblem({ externalRef: '' })).toMatch(/externalRef must be a non-empty string/);
    expect(receiptProblem({ externalRef: 'a', details: [] })).toMatch(/details must be an object/);
    expect(receiptProblem({ externalRef: 'a', expectAcknowledgement: 'no' })).toMatch(/expectAcknowledgement must be true or false/);
  });
});
