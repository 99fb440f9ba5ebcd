import {
  ConnectorError,
  defineConnector,
  parseExactJson,
  type ConnectionTestResult,
  type DeliveryStatus,
  type ERPConnectorPort,
  type HostServices,
  type OperationContext,
  type PushDocument,
  type PushReceipt,
} from '@erpc/sdk';

/** The config of a MOCK connection (see config.schema.json for each field). */
export interface MockConfig {
  behavior?: 'ok' | 'fail-retryable' | 'fail-permanent' | 'slow' | 'hang';
  delayMs?: number;
  failTimes?: number;
  apiKey?: string;
  echoSecret?: boolean;
  ack?: 'none' | 'off' | 'acknowledge' | 'reject' | 'pending';
  ackAfterChecks?: number;
}

/** A document the mock accepted. */
export interface MockDelivery {
  readonly externalRef: string;
  readonly idempotencyKey: string;
  /** The pushId of the attempt that delivered it (later attempts with the same key return this). */
  readonly pushId: string;
  readonly documentType: string;
  readonly documentId: string;
  readonly payload: unknown;
  /** Delivery time, from the host's clock. */
  readonly receivedAt: string;
  /** Push attempts seen for this idempotency key, failed ones included. */
  readonly attempts: number;
}

/** The MOCK port: the SDK port plus a read-only view of what a connection received. */
export interface MockConnector extends ERPConnectorPort<MockConfig> {
  /** The documents delivered for a connection, in delivery order. */
  deliveries(connectionId: string): MockDelivery[];
}

/** What the mock keeps of a delivered document: the payload as its JSON text (parsed when read). */
interface StoredDelivery extends Omit<MockDelivery, 'payload'> {
  readonly payloadText: string;
}

interface ConnectionState {
  attempts: Map<string, number>;
  delivered: Map<string, StoredDelivery>;
  byRef: Map<string, StoredDelivery>;
  checks: Map<string, number>;
}

const SLOW_DEFAULT_MS = 2000;

/**
 * How many delivered documents one MOCK port remembers, across its connections (default). The
 * oldest are forgotten first, with their idempotency keys and acknowledgement checks: the mock
 * is a stand-in for a remote ERP, and a host that runs for weeks on it must not grow without
 * bound (ADR 0047).
 */
export const MOCK_RETAINED_DELIVERIES = 2_000;

export interface MockConnectorOptions {
  /** Delivered documents remembered across connections, oldest forgotten first (default {@link MOCK_RETAINED_DELIVERIES}). */
  retain?: number;
}

/** Builds a MOCK port with its own in-memory store (one store per port, one namespace per connection). */
export function createMockConnector(deps: HostServices, options: MockConnectorOptions = {}): MockConnector {
  const retain = Math.max(1, Math.floor(options.retain ?? MOCK_RETAINED_DELIVERIES));
  const connections = new Map<string, ConnectionState>();
  // Every delivery remembered, oldest first, across connections: the bound of the store.
  const retained = new Map<StoredDelivery, ConnectionState>();
  const stateOf = (id: string): ConnectionState => {
    let s = connections.get(id);
    if (s === undefined) {
      s = { attempts: new Map(), delivered: new Map(), byRef: new Map(), checks: new Map() };
      connections.set(id, s);
    }
    return s;
  };
  const remember = (state: ConnectionState, d: StoredDelivery): void => {
    state.delivered.set(d.idempotencyKey, d);
    state.byRef.set(d.externalRef, d);
    retained.set(d, state);
    while (retained.size > retain) {
      const [oldest, of] = retained.entries().next().value as [StoredDelivery, ConnectionState];
      retained.delete(oldest);
      of.delivered.delete(oldest.idempotencyKey);
      of.byRef.delete(oldest.externalRef);
      of.checks.delete(oldest.externalRef);
      of.attempts.delete(oldest.idempotencyKey);
    }
  };
  // Attempts of keys never delivered (a connection that keeps failing) are bounded the same way.
  const countAttempt = (state: ConnectionState, key: string): number => {
    const attempt = (state.attempts.get(key) ?? 0) + 1;
    state.attempts.delete(key);
    state.attempts.set(key, attempt);
    if (state.attempts.size > retain) state.attempts.delete(state.attempts.keys().next().value as string);
    return attempt;
  };

  return {
    async testConnection(ctx: OperationContext<MockConfig>): Promise<ConnectionTestResult> {
      const started = performance.now();
      const { behavior = 'ok' } = ctx.config;
      echo(ctx, 'testConnection');
      await wait(ctx, behavior);
      const latencyMs = Math.round(performance.now() - started);
      if (behavior === 'fail-retryable') return { ok: false, latencyMs, message: 'The mock ERP is unavailable (behavior "fail-retryable").' };
      if (behavior === 'fail-permanent') return { ok: false, latencyMs, message: 'The mock ERP rejects the credentials (behavior "fail-permanent").' };
      return { ok: true, latencyMs, message: 'Mock ERP reachable.' };
    },

    async push(document: PushDocument, ctx: OperationContext<MockConfig>): Promise<PushReceipt> {
      const { behavior = 'ok', failTimes } = ctx.config;
      const state = stateOf(ctx.connection.id);
      const attempt = countAttempt(state, document.idempotencyKey);
      echo(ctx, 'push');

      // Idempotent: a key already delivered returns the first delivery's reference, whatever the config says now.
      const earlier = state.delivered.get(document.idempotencyKey);
      if (earlier !== undefined) return receipt(earlier, attempt, true, ctx.config.ack);

      await wait(ctx, behavior);
      const failing = failTimes === undefined ? behavior === 'fail-retryable' || behavior === 'fail-permanent' : attempt <= failTimes;
      if (failing) {
        const secret = ctx.config.echoSecret && ctx.config.apiKey ? ` (apiKey ${ctx.config.apiKey})` : '';
        if (behavior === 'fail-permanent') {
          throw new ConnectorError('MOCK_REJECTED', `The mock ERP rejected document ${document.documentId}${secret}.`, {
            retryable: false,
            details: { attempt },
          });
        }
        throw new ConnectorError('MOCK_UNAVAILABLE', `The mock ERP is unavailable; try again later${secret}.`, {
          retryable: true,
          details: { attempt },
        });
      }

      const delivery: StoredDelivery = Object.freeze({
        externalRef: `mock:${document.pushId}`,
        idempotencyKey: document.idempotencyKey,
        pushId: document.pushId,
        documentType: document.documentType,
        documentId: document.documentId,
        // The digits as delivered (raw JSON values print as they came, ADR 0027); parsed again only
        // when a test reads it: a string is a fraction of the memory of the parsed copy.
        payloadText: JSON.stringify(document.payload),
        receivedAt: deps.clock.now().toISOString(),
        attempts: attempt,
      });
      remember(state, delivery);
      ctx.logger.debug({ externalRef: delivery.externalRef, attempt }, 'mock delivery stored');
      return withEcho(receipt(delivery, attempt, false, ctx.config.ack), ctx);
    },

    async checkDelivery(rcpt: PushReceipt, ctx: OperationContext<MockConfig>): Promise<DeliveryStatus> {
      const { ack = 'none', ackAfterChecks = 0 } = ctx.config;
      const state = stateOf(ctx.connection.id);
      const delivery = state.byRef.get(rcpt.externalRef);
      if (delivery === undefined) {
        throw new ConnectorError('MOCK_UNKNOWN_REF', `The mock ERP has no document ${rcpt.externalRef} for this connection.`, { retryable: false });
      }
      const secret = ctx.config.echoSecret && ctx.config.apiKey ? ` (apiKey ${ctx.config.apiKey})` : '';
      if (ack === 'none' || ack === 'off') {
        throw new ConnectorError('MOCK_ACK_UNSUPPORTED', `This mock ERP gives no acknowledgements (config ack "${ack}")${secret}.`, { retryable: false });
      }
      const checks = (state.checks.get(rcpt.externalRef) ?? 0) + 1;
      state.checks.set(rcpt.externalRef, checks);
      const echoed = secret ? { echoed: secret } : {};
      if (ack === 'pending' || checks <= ackAfterChecks) return { state: 'pending', details: { checks, ...echoed } };
      if (ack === 'reject') return { state: 'rejected', message: `The mock ERP refused document ${delivery.documentId}${secret}.`, details: { checks, ...echoed } };
      return { state: 'acknowledged', details: { checks, erpDocumentNumber: `MOCK-${delivery.pushId.slice(0, 8)}`, ...echoed } };
    },

    deliveries(connectionId: string): MockDelivery[] {
      return [...(connections.get(connectionId)?.delivered.values() ?? [])].map(({ payloadText, ...d }) =>
        Object.freeze({ ...d, payload: parseExactJson(payloadText) as PushDocument['payload'] }),
      );
    },

    dispose(): void {
      connections.clear();
      retained.clear();
    },
  };
}

/** With `echoSecret`, the receipt carries the apiKey too: a misbehaving connector for leak tests. */
function withEcho(r: PushReceipt, ctx: OperationContext<MockConfig>): PushReceipt {
  if (!ctx.config.echoSecret || !ctx.config.apiKey) return r;
  return { ...r, details: { ...r.details, echoed: { apiKey: ctx.config.apiKey } } };
}

function receipt(d: StoredDelivery, attempt: number, duplicate: boolean, ack: MockConfig['ack']): PushReceipt {
  return {
    externalRef: d.externalRef,
    details: { attempt, duplicate, receivedAt: d.receivedAt },
    // ack "off": the receipt itself says no acknowledgement will come (the host never checks).
    ...(ack === 'off' ? { expectAcknowledgement: false } : {}),
  };
}

function echo(ctx: OperationContext<MockConfig>, operation: string): void {
  if (ctx.config.echoSecret && ctx.config.apiKey) ctx.logger.info({ operation, apiKey: ctx.config.apiKey }, `mock ${operation} with apiKey ${ctx.config.apiKey}`);
}

/** Waits as the behavior asks; an abort ends any wait with MOCK_ABORTED (retryable). */
async function wait(ctx: OperationContext<MockConfig>, behavior: NonNullable<MockConfig['behavior']>): Promise<void> {
  const { signal } = ctx;
  if (signal.aborted) throw aborted(signal);
  const ms = behavior === 'slow' ? (ctx.config.delayMs ?? SLOW_DEFAULT_MS) : behavior === 'hang' ? Infinity : (ctx.config.delayMs ?? 0);
  if (ms === 0) return;
  await new Promise<void>((resolve, reject) => {
    // "hang" holds no timer: only the abort ends it, and nothing keeps the process alive.
    const timer = Number.isFinite(ms) ? setTimeout(done, ms) : undefined;
    function done(): void {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }
    function onAbort(): void {
      clearTimeout(timer);
      reject(aborted(signal));
    }
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function aborted(signal: AbortSignal): ConnectorError {
  return new ConnectorError('MOCK_ABORTED', 'The operation was aborted by the host (timeout or shutdown) before the mock ERP answered.', {
    retryable: true,
    cause: signal.reason,
  });
}

/** The MOCK connector definition. */
export default defineConnector<MockConfig>({
  connectorType: 'MOCK',
  create: (deps) => createMockConnector(deps),
});
