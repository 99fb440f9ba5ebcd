import { Webhook } from 'standardwebhooks';
import type { PushRuntime } from '../../src/container.js';
import type { PushWorkerOptions } from '../../src/push/worker.js';
import { Keyring } from '../../src/crypto/index.js';
import { auth, createTestHost, type TestHost } from '../api/test-host.js';
import type { TestBackend } from '../support/db.js';
import { Receiver, type Received } from './receiver.js';

/** Settings of a webhook test host: http to the loopback receiver allowed, fast schedules. */
export const WEBHOOK_TEST_ENV: Record<string, string> = {
  ERPC_WEBHOOKS_ALLOW_HTTP: 'loopback',
  ERPC_WEBHOOK_RETRY_SCHEDULE_MS: '100,100,100,100',
  ERPC_WEBHOOK_TIMEOUT_MS: '1000',
  ERPC_PUSH_POLL_MS: '50',
  ERPC_PUSH_ACK_CHECK_MS: '50',
  ERPC_PUSH_RETRY_BASE_MS: '20',
  ERPC_PUSH_RETRY_CAP_MS: '50',
  ERPC_PUSH_RETRY_JITTER: '0',
};

export interface WebhookWorld {
  host: TestHost;
  receiver: Receiver;
  runtime: PushRuntime;
  /** An organisation with an ACTIVE MOCK connection (config) and one endpoint on the receiver at /<orgId>. */
  org(config: Record<string, unknown>, events?: string[]): Promise<{ orgId: string; apiKey: string; connectionId: string; endpointId: string; secret: string }>;
  push(apiKey: string, documentId: string, payloadText?: string): Promise<string>;
  /** The requests the receiver got for one organisation's endpoint. */
  of(orgId: string): Received[];
  close(): Promise<void>;
}

export async function webhookWorld(backend: TestBackend, env: Record<string, string> = {}, options: { start?: boolean; keyHex?: string; worker?: PushWorkerOptions } = {}): Promise<WebhookWorld> {
  const host = await createTestHost(backend, { ...WEBHOOK_TEST_ENV, ...env }, [], options.keyHex !== undefined ? { keyring: new Keyring(options.keyHex) } : {});
  const receiver = await Receiver.start();
  const runtime = host.host.createPushRuntime({ pollIntervalMs: 50, ackCheckIntervalMs: 50, ...options.worker }, { pollIntervalMs: 50, leaseCheckIntervalMs: 50 });
  if (options.start !== false) await runtime.start();
  return {
    host,
    receiver,
    runtime,
    async org(config, events) {
      const { id: orgId, apiKey } = await host.createOrg(`org-${Math.random()}`);
      const conn = await host.app.inject({ method: 'POST', url: '/v1/connections', headers: auth(apiKey), payload: { connectorType: 'MOCK', name: 'mock', config, activate: true } });
      if (conn.statusCode !== 201) throw new Error(`connection: ${conn.body}`);
      const ep = await host.app.inject({
        method: 'POST', url: '/v1/webhook-endpoints', headers: auth(apiKey),
        payload: { url: receiver.url(`/${orgId}`), ...(events !== undefined ? { events } : {}) },
      });
      if (ep.statusCode !== 201) throw new Error(`endpoint: ${ep.body}`);
      return { orgId, apiKey, connectionId: conn.json().id, endpointId: ep.json().id, secret: ep.json().secret };
    },
    async push(apiKey, documentId, payloadText = '{"amount":118.5,"lines":[{"qty":1}]}') {
      const res = await host.app.inject({
        method: 'POST', url: '/v1/pushes', headers: { ...auth(apiKey), 'content-type': 'application/json' },
        payload: `{"documentType":"invoice","documentId":"${documentId}","payload":${payloadText}}`,
      });
      if (res.statusCode !== 202) throw new Error(`push: ${res.body}`);
      return res.json().id as string;
    },
    of(orgId) {
      return receiver.received.filter((r) => r.path === `/${orgId}`);
    },
    async close() {
      await runtime.stop({ graceMs: 0 });
      await receiver.close();
      await host.close();
    },
  };
}

/** Verifies a request with the Standard Webhooks reference library; returns the parsed body. */
export function verified(secret: string, r: Received): { type: string; timestamp: string; data: Record<string, unknown> } {
  return new Webhook(secret).verify(r.body, r.headers) as { type: string; timestamp: string; data: Record<string, unknown> };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
