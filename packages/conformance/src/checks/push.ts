import { isConnectorError, type PushReceipt } from '@erpc/sdk';
import { describeError, operationContext, TimeoutError } from '../harness.js';
import { connectorType, freshDocument, operate, sampleDocuments, unreachableConfig, validConfig, type Session } from '../session.js';
import type { CheckResult } from '../types.js';
import { fail, pass, skip } from './result.js';
import { withPort } from './with-port.js';

/** Why a receipt is malformed, or undefined. */
export function receiptProblem(r: unknown): string | undefined {
  if (typeof r !== 'object' || r === null) return `push() resolved ${JSON.stringify(r)}, not a receipt`;
  const { externalRef, details, expectAcknowledgement } = r as Partial<PushReceipt>;
  if (typeof externalRef !== 'string' || externalRef.length === 0) return `the receipt's externalRef must be a non-empty string, got ${JSON.stringify(externalRef)}`;
  if (details !== undefined && (typeof details !== 'object' || details === null || Array.isArray(details))) return 'the receipt\'s details must be an object when present';
  if (expectAcknowledgement !== undefined && typeof expectAcknowledgement !== 'boolean') return 'the receipt\'s expectAcknowledgement must be true or false when present';
  return undefined;
}

const CONCURRENT = 20;

/** push.*: receipts, idempotency, 20 concurrent pushes, failures are ConnectorErrors. */
export async function pushChecks(s: Session): Promise<CheckResult[]> {
  const out: CheckResult[] = [];

  out.push(
    await withPort(s, async (port, sink, conn) => {
      const id = 'push.receipts';
      const config = await validConfig(s);
      const docs = sampleDocuments(s);
      for (const doc of docs) {
        try {
          const r = await operate(s, sink, 'push()', () => port.push(doc, operationContext(config, conn, sink)));
          const problem = receiptProblem(r);
          if (problem) return fail(id, `${doc.documentType} ${JSON.stringify(doc.documentId)}: ${problem}`);
        } catch (err) {
          return fail(id, `push() of ${doc.documentType} ${JSON.stringify(doc.documentId)} threw: ${describeError(err)}`);
        }
      }
      return pass(id, `${docs.length} documents`);
    }),
  );

  out.push(
    await withPort(s, async (port, sink, conn) => {
      const id = 'push.idempotent';
      const config = await validConfig(s);
      const first = sampleDocuments(s)[0]!;
      // A retry: same pushId and key, a later createdAt as a host would send it.
      const retry = { ...first, createdAt: new Date(Date.parse(first.createdAt) + 1000).toISOString() };
      try {
        const a = await operate(s, sink, 'push()', () => port.push(first, operationContext(config, conn, sink)));
        const b = await operate(s, sink, 'push() again', () => port.push(retry, operationContext(config, conn, sink)));
        const problem = receiptProblem(a) ?? receiptProblem(b);
        if (problem) return fail(id, problem);
        if (a.externalRef !== b.externalRef) return fail(id, `the same idempotencyKey twice gave two externalRefs (${JSON.stringify(a.externalRef)}, ${JSON.stringify(b.externalRef)}); deduplicate on document.idempotencyKey`);
        return pass(id);
      } catch (err) {
        return fail(id, `push() threw: ${describeError(err)}`);
      }
    }),
  );

  out.push(
    await withPort(s, async (port, sink, conn) => {
      const id = 'push.concurrent';
      const config = await validConfig(s);
      const base = sampleDocuments(s)[0]!;
      const docs = Array.from({ length: CONCURRENT }, (_, i) => freshDocument(base.documentType, `${base.documentId}-c${i}`, base.payload));
      const settled = await operate(s, sink, `${CONCURRENT} concurrent push() calls`, () =>
        Promise.allSettled(docs.map((d) => port.push(d, operationContext(config, conn, sink)))),
      ).catch((err: unknown) => err);
      if (!Array.isArray(settled)) return fail(id, describeError(settled));
      const failed = settled.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
      if (failed.length) return fail(id, `${failed.length} of ${CONCURRENT} concurrent pushes failed, e.g. ${describeError(failed[0]!.reason)}`);
      const receipts = (settled as PromiseFulfilledResult<PushReceipt>[]).map((r) => r.value);
      const problem = receipts.map(receiptProblem).find((p) => p !== undefined);
      if (problem) return fail(id, problem);
      const distinct = new Set(receipts.map((r) => r.externalRef)).size;
      if (distinct !== CONCURRENT) return fail(id, `${CONCURRENT} different documents got only ${distinct} distinct externalRefs`);
      return pass(id, `${CONCURRENT} pushes`);
    }),
  );

  const unreachable = await unreachableConfig(s);
  if (unreachable === undefined) out.push(skip('push.errors', 'no unreachable config given (--unreachable-config) to provoke a failure'));
  else
    out.push(
      await withPort(s, async (port, sink, conn) => {
        const id = 'push.errors';
        const doc = sampleDocuments(s)[0]!;
        try {
          const r = await operate(s, sink, 'push() on the unreachable config', () => port.push(doc, operationContext(unreachable, conn, sink)));
          return fail(id, `push() on the unreachable config resolved ${JSON.stringify(r)}; it must throw a ConnectorError`);
        } catch (err) {
          if (err instanceof TimeoutError) return fail(id, `${err.message}; honour ctx.signal and bound your own timeouts`);
          if (!isConnectorError(err)) {
            return fail(id, `push() on the unreachable config threw ${describeError(err)}, not a ConnectorError (name "ConnectorError", a string code, a boolean retryable)`);
          }
          // SDK 1.1: operatorFixable (retried over the host's long horizon) is optional, boolean,
          // and comes with retryable: true, so hosts before 1.1 still retry instead of burying it.
          const fixable = (err as { operatorFixable?: unknown }).operatorFixable;
          if (fixable !== undefined && typeof fixable !== 'boolean') return fail(id, `${err.code}: operatorFixable must be a boolean when present, got ${typeof fixable}`);
          if (fixable === true && !err.retryable) return fail(id, `${err.code}: operatorFixable: true needs retryable: true too (hosts before SDK 1.1 read only retryable)`);
          return pass(id, `${err.code} (retryable: ${err.retryable}, operatorFixable: ${fixable === true})`);
        }
      }),
    );
  return out;
}
