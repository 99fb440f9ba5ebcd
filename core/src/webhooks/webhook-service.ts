import { lookup } from 'node:dns/promises';
import { randomUUID } from 'node:crypto';
import type { Clock } from '@erpc/sdk';
import ipaddr from 'ipaddr.js';
import { isConfigDecryptError, type ConfigCipher } from '../crypto/index.js';
import { ErpcError } from '../errors/index.js';
import { decodeCursor, encodeCursor } from '../keyset-cursor.js';
import type { PushSignal } from '../push/push-signal.js';
import { isUuid } from '../uuid.js';
import { bareHost, isLoopbackHost, type AddressPolicy } from './address-policy.js';
import type { WebhookDeliveryStatus, WebhookStore } from './ports.js';
import { PREVIOUS_SECRET_TTL_MS, decryptSecrets, encryptSecrets, generateWebhookSecret } from './webhook-secret.js';
import {
  DEFAULT_WEBHOOK_EVENTS,
  WEBHOOK_EVENT_TYPES,
  WEBHOOK_LIMITS,
  toDeliveryView,
  toEndpointView,
  type WebhookDeliveryView,
  type WebhookEndpointView,
  type WebhookEndpointWithSecret,
  type WebhookEventType,
} from './webhook-types.js';

export interface CreateWebhookEndpointInput {
  url: string;
  events?: string[] | undefined;
  description?: string | undefined;
  enabled?: boolean | undefined;
}

export type UpdateWebhookEndpointInput = Partial<CreateWebhookEndpointInput>;

export interface WebhookServiceOptions {
  /** ERPC_WEBHOOKS_ALLOW_HTTP=loopback. */
  allowHttpToLoopback: boolean;
  policy: AddressPolicy;
}

const notFound = (id: string) => new ErpcError('ERPC_ERR_WEBHOOK_ENDPOINT_NOT_FOUND', { id });

/**
 * Webhook endpoints of an organisation (create with a secret shown once, read, change, delete,
 * rotate the secret), their deliveries and replays. Every method is scoped to the org of the
 * API key; another organisation's endpoints and events do not exist here.
 */
export class WebhookService {
  constructor(
    private readonly store: WebhookStore,
    private readonly cipher: ConfigCipher,
    private readonly clock: Clock,
    private readonly signal: PushSignal,
    private readonly options: WebhookServiceOptions,
  ) {}

  async create(orgId: string, input: CreateWebhookEndpointInput): Promise<WebhookEndpointWithSecret> {
    const url = await this.checkUrl(input.url);
    const events = checkEvents(input.events) ?? [...DEFAULT_WEBHOOK_EVENTS];
    const id = randomUUID();
    const secret = generateWebhookSecret();
    // The id exists before the ciphertext, so the ciphertext is bound to its row.
    const { blob, keyId } = encryptSecrets(this.cipher, orgId, id, { current: secret });
    const row = await this.store.createEndpoint({
      id, orgId, url, description: input.description ?? '', events, enabled: input.enabled ?? true, secretEncrypted: blob, secretKeyId: keyId, now: this.clock.now(),
    });
    return { ...toEndpointView(row), secret };
  }

  async get(orgId: string, id: string): Promise<WebhookEndpointView> {
    return toEndpointView(await this.#find(orgId, id));
  }

  async list(orgId: string, options: { limit?: number | undefined; cursor?: string | undefined } = {}): Promise<{ items: WebhookEndpointView[]; nextCursor?: string }> {
    const limit = Math.min(Math.max(options.limit ?? WEBHOOK_LIMITS.defaultPageSize, 1), WEBHOOK_LIMITS.maxPageSize);
    const after = options.cursor === undefined ? undefined : decodeCursor(options.cursor);
    const rows = await this.store.listEndpoints(orgId, limit, after);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    const items = page.map(toEndpointView);
    return rows.length > limit && last !== undefined ? { items, nextCursor: encodeCursor(last) } : { items };
  }

  async update(orgId: string, id: string, input: UpdateWebhookEndpointInput): Promise<WebhookEndpointView> {
    if (!isUuid(id)) throw notFound(id);
    const url = input.url === undefined ? undefined : await this.checkUrl(input.url);
    const row = await this.store.updateEndpoint(orgId, id, {
      url, description: input.description, events: checkEvents(input.events), enabled: input.enabled, now: this.clock.now(),
    });
    if (row === undefined) throw notFound(id);
    return toEndpointView(row);
  }

  async delete(orgId: string, id: string): Promise<void> {
    if (!isUuid(id) || !(await this.store.deleteEndpoint(orgId, id))) throw notFound(id);
  }

  /**
   * A new signing secret (returned this once); the current one becomes the previous one and
   * keeps signing too for 24 h, or until {@link expireOldSecret}. A rotation during a rotation
   * drops the older previous secret.
   */
  async rotateSecret(orgId: string, id: string): Promise<WebhookEndpointWithSecret> {
    if (!isUuid(id)) throw notFound(id);
    const secret = generateWebhookSecret();
    const now = this.clock.now();
    const row = await this.store.transaction(async (tx) => {
      const current = await tx.findEndpointForUpdate(orgId, id);
      if (current === undefined) throw notFound(id);
      const old = this.#secretsOf(current);
      const { blob, keyId } = encryptSecrets(this.cipher, orgId, id, { current: secret, previous: old.current });
      return tx.updateEndpoint(orgId, id, { secret: { encrypted: blob, keyId, previousExpiresAt: new Date(now.getTime() + PREVIOUS_SECRET_TTL_MS) }, now });
    });
    return { ...toEndpointView(row!), secret };
  }

  /** Ends a rotation now: only the new secret signs from here on. */
  async expireOldSecret(orgId: string, id: string): Promise<WebhookEndpointView> {
    if (!isUuid(id)) throw notFound(id);
    const now = this.clock.now();
    const row = await this.store.transaction(async (tx) => {
      const current = await tx.findEndpointForUpdate(orgId, id);
      if (current === undefined) throw notFound(id);
      const secrets = this.#secretsOf(current);
      if (secrets.previous === undefined || current.previousSecretExpiresAt === null || current.previousSecretExpiresAt <= now) {
        throw new ErpcError('ERPC_ERR_WEBHOOK_NO_PREVIOUS_SECRET', { id });
      }
      const { blob, keyId } = encryptSecrets(this.cipher, orgId, id, { current: secrets.current });
      return tx.updateEndpoint(orgId, id, { secret: { encrypted: blob, keyId, previousExpiresAt: null }, now });
    });
    return toEndpointView(row!);
  }

  async deliveries(
    orgId: string,
    endpointId: string,
    options: { status?: WebhookDeliveryStatus | undefined; limit?: number | undefined; cursor?: string | undefined } = {},
  ): Promise<{ items: WebhookDeliveryView[]; nextCursor?: string }> {
    await this.#find(orgId, endpointId);
    const limit = Math.min(Math.max(options.limit ?? WEBHOOK_LIMITS.defaultPageSize, 1), WEBHOOK_LIMITS.maxPageSize);
    const after = options.cursor === undefined ? undefined : decodeCursor(options.cursor);
    const rows = await this.store.listDeliveries(orgId, endpointId, { status: options.status, limit, after });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    const items = page.map(toDeliveryView);
    return rows.length > limit && last !== undefined ? { items, nextCursor: encodeCursor(last) } : { items };
  }

  /** Sends an event again to its endpoints, with the same `webhook-id`. `orgId` undefined: an operator, any organisation. */
  async replay(orgId: string | undefined, eventId: string): Promise<{ eventId: string; deliveries: WebhookDeliveryView[] }> {
    const event = isUuid(eventId) ? await this.store.findEvent(orgId, eventId) : undefined;
    if (event === undefined) throw new ErpcError('ERPC_ERR_WEBHOOK_EVENT_NOT_FOUND', { id: eventId });
    const rows = await this.store.replayEvent(event.orgId, event.id, this.clock.now());
    this.signal.wake();
    return { eventId: event.id, deliveries: rows.map(toDeliveryView) };
  }

  /** Deliveries across organisations, newest first (`erpc webhooks list`). */
  async listForOperator(q: { orgId?: string | undefined; status?: WebhookDeliveryStatus | undefined; limit: number }) {
    const rows = await this.store.listDeliveriesForOperator(q);
    return rows.map((r) => ({ ...toDeliveryView(r), orgId: r.orgId, url: r.url }));
  }

  /**
   * Where a URL may point: https (http only to loopback, when allowed), no credentials, and a
   * host that is, and resolves only to, addresses the policy allows. The dispatcher checks the
   * addresses again at every delivery (DNS may change).
   */
  async checkUrl(text: string): Promise<string> {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new ErpcError('ERPC_ERR_WEBHOOK_URL_INVALID', { reason: 'not an absolute URL' });
    }
    if (text.length > WEBHOOK_LIMITS.maxUrl) throw new ErpcError('ERPC_ERR_WEBHOOK_URL_INVALID', { reason: `longer than ${WEBHOOK_LIMITS.maxUrl} characters` });
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ErpcError('ERPC_ERR_WEBHOOK_URL_INVALID', { reason: 'only https (or http) URLs can receive webhooks' });
    if (url.username !== '' || url.password !== '') throw new ErpcError('ERPC_ERR_WEBHOOK_URL_INVALID', { reason: 'credentials in the URL are not accepted; authenticate requests by their signature' });
    const host = bareHost(url);
    if (url.protocol === 'http:' && !(this.options.allowHttpToLoopback && isLoopbackHost(host))) throw new ErpcError('ERPC_ERR_WEBHOOK_URL_INSECURE');
    let addresses: string[];
    if (ipaddr.isValid(host)) addresses = [host];
    else {
      try {
        addresses = (await lookup(host, { all: true })).map((a) => a.address);
      } catch (err) {
        throw new ErpcError('ERPC_ERR_WEBHOOK_URL_UNRESOLVABLE', { host, reason: (err as { code?: string }).code ?? 'lookup failed' });
      }
    }
    for (const address of addresses) {
      const range = this.options.policy.refusal(address);
      if (range !== undefined) throw new ErpcError('ERPC_ERR_WEBHOOK_URL_PRIVATE', { host, address, range });
    }
    return url.toString();
  }

  /** The endpoint's secrets; one that does not decrypt is ERPC_ERR_CONFIG_DECRYPT_FAILED ("Configuration error", 500). */
  #secretsOf(row: { id: string; orgId: string; secretEncrypted: Buffer; secretKeyId: string }) {
    try {
      return decryptSecrets(this.cipher, row.orgId, row.id, row.secretEncrypted, row.secretKeyId);
    } catch (err) {
      if (isConfigDecryptError(err)) throw err.toErpcError();
      throw err;
    }
  }

  async #find(orgId: string, id: string) {
    if (!isUuid(id)) throw notFound(id);
    const row = await this.store.findEndpoint(orgId, id);
    if (row === undefined) throw notFound(id);
    return row;
  }
}

/** Validates a list of event types (422 naming the unknown one); duplicates dropped. */
function checkEvents(events: string[] | undefined): WebhookEventType[] | undefined {
  if (events === undefined) return undefined;
  for (const type of events) {
    if (!(WEBHOOK_EVENT_TYPES as readonly string[]).includes(type)) throw new ErpcError('ERPC_ERR_WEBHOOK_EVENT_TYPE_UNKNOWN', { type, known: WEBHOOK_EVENT_TYPES.join(', ') });
  }
  return [...new Set(events)] as WebhookEventType[];
}
