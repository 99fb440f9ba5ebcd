import type { SampleDocument } from './types.js';

/**
 * The documents the kit pushes when the options give none: one per document type (the manifest's
 * `documentTypes`, or `invoice`), plus one whose `documentId` holds characters that must never be
 * used as a path (`/`, `..`, spaces, non-ASCII).
 */
export function defaultSampleDocuments(documentTypes: readonly string[] = ['invoice']): SampleDocument[] {
  const types = documentTypes.length > 0 ? documentTypes : ['invoice'];
  const docs: SampleDocument[] = types.map((documentType, i) => ({
    documentType,
    documentId: `CONF-${documentType.toUpperCase()}-${1000 + i}`,
    payload: {
      number: `CONF-${1000 + i}`,
      issueDate: '2025-01-31',
      currency: 'EUR',
      customer: { id: 'C-42', name: 'Müller & Söhne GmbH', vatId: 'DE123456789' },
      lines: [
        { description: 'Consulting, January', quantity: 10, unitPrice: 120.5, taxRate: 19 },
        { description: 'Travel expenses', quantity: 1, unitPrice: 89.9, taxRate: 19 },
      ],
      total: 1541.28,
    },
  }));
  docs.push({
    documentType: types[0]!,
    documentId: '../INV 2025/0001 — ünïcode',
    payload: { number: 'INV/2025/0001', note: 'documentId is arbitrary text, never a path', total: 0 },
  });
  return docs;
}
