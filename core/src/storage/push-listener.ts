import pg from 'pg';
import type { Logger } from 'pino';
import { PUSH_NOTIFY_CHANNEL } from './repositories/push-repository.js';
import { WEBHOOK_NOTIFY_CHANNEL } from './repositories/webhook-repository.js';

/** Options of {@link PushListener}. */
export interface PushListenerOptions {
  /** postgres:// URL of the database PushService notifies on. */
  connectionString: string;
  /** Called for every notification, and once after each (re)connect (notifications may have been missed). */
  onWake: () => void;
  /** When set, the same connection also LISTENs for webhook events (called like onWake). */
  onWebhook?: () => void;
  logger: Logger;
  /** First reconnect delay; doubles up to maxReconnectMs. */
  reconnectMs?: number;
  maxReconnectMs?: number;
}

/**
 * LISTENs on the push channel with a dedicated pg client (a pooled connection cannot hold a
 * LISTEN), so an idle worker wakes within milliseconds of a commit instead of polling tightly.
 * Reconnects with backoff when the connection drops; the worker's poll is the safety net meanwhile.
 */
export class PushListener {
  readonly #options: PushListenerOptions;
  #client: pg.Client | undefined;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;
  #delay: number;

  constructor(options: PushListenerOptions) {
    this.#options = options;
    this.#delay = options.reconnectMs ?? 500;
  }

  /** Connects and LISTENs; resolves once listening (or after the first failure, retrying in the background). */
  async start(): Promise<void> {
    await this.#connect();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => undefined);
  }

  async #connect(): Promise<void> {
    if (this.#stopped) return;
    const client = new pg.Client({ connectionString: this.#options.connectionString, application_name: 'erpc-worker-listen' });
    let failed = false;
    const fail = (err: unknown) => {
      if (failed) return;
      failed = true;
      if (this.#client === client) this.#client = undefined;
      client.end().catch(() => undefined);
      if (this.#stopped) return;
      this.#options.logger.warn({ err, retryInMs: this.#delay }, 'push LISTEN connection lost; polling until it is back');
      this.#timer = setTimeout(() => void this.#connect(), this.#delay);
      this.#timer.unref();
      this.#delay = Math.min(this.#delay * 2, this.#options.maxReconnectMs ?? 30_000);
    };
    client.on('error', fail);
    client.on('end', () => fail(new Error('connection ended')));
    client.on('notification', (msg) => {
      if (msg.channel === PUSH_NOTIFY_CHANNEL) this.#options.onWake();
      else if (msg.channel === WEBHOOK_NOTIFY_CHANNEL) this.#options.onWebhook?.();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${PUSH_NOTIFY_CHANNEL}`);
      if (this.#options.onWebhook !== undefined) await client.query(`LISTEN ${WEBHOOK_NOTIFY_CHANNEL}`);
      if (this.#stopped) {
        await client.end().catch(() => undefined);
        return;
      }
      this.#client = client;
      this.#delay = this.#options.reconnectMs ?? 500;
      this.#options.onWake();
      this.#options.onWebhook?.();
    } catch (err) {
      fail(err);
    }
  }
}
