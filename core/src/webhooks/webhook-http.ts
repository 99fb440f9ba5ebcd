import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import { bareHost, type AddressPolicy } from './address-policy.js';

/** Most bytes of a receiver's answer that are read (then the connection is dropped). */
export const MAX_RESPONSE_BYTES = 64 * 1024;

/** How one HTTP attempt ended. */
export type SendResult =
  | { kind: 'response'; status: number; retryAfterMs: number | undefined }
  | { kind: 'refused'; message: string }
  | { kind: 'timeout'; message: string }
  | { kind: 'network'; message: string };

/** A refused address, raised from the lookup so the socket never connects. */
class AddressRefused extends Error {
  constructor(readonly host: string, readonly address: string, readonly range: string) {
    super(`${host} resolves to ${address} (${range}), which webhooks may not be sent to. An operator may allow it (ERPC_WEBHOOKS_ALLOWED_NETWORKS).`);
    this.name = 'AddressRefused';
  }
}

/**
 * A DNS lookup that checks every address the name resolves to against the policy and hands the
 * socket only checked addresses: the address connected to is the address checked (no second
 * resolution for a rebinding DNS server to answer differently).
 */
export function guardedLookup(policy: AddressPolicy): LookupFunction {
  return ((hostname: string, options: { all?: boolean; family?: number }, callback: (err: Error | null, address: string | LookupAddress[], family?: number) => void) => {
    dnsLookup(hostname, { all: true, ...(options.family ? { family: options.family } : {}) }, (err, addresses) => {
      if (err) return callback(err, options.all ? [] : '', 0);
      for (const a of addresses) {
        const range = policy.refusal(a.address);
        if (range !== undefined) return callback(new AddressRefused(hostname, a.address, range), options.all ? [] : '', 0);
      }
      if (options.all) return callback(null, addresses);
      const first = addresses[0]!;
      return callback(null, first.address, first.family);
    });
  }) as unknown as LookupFunction;
}

/** Keep-alive agents per policy: one connection pool per process, reused across deliveries. */
export class WebhookHttpClient {
  readonly #policy: AddressPolicy;
  readonly #lookup: LookupFunction;
  readonly #http: http.Agent;
  readonly #https: https.Agent;

  constructor(policy: AddressPolicy, options: { maxSockets?: number } = {}) {
    this.#policy = policy;
    this.#lookup = guardedLookup(policy);
    const agent = { keepAlive: true, maxSockets: options.maxSockets ?? 64, lookup: this.#lookup };
    this.#http = new http.Agent(agent);
    this.#https = new https.Agent(agent);
  }

  /** POSTs `body` with `headers`; no redirect is followed, at most MAX_RESPONSE_BYTES of the answer are read. */
  send(urlText: string, headers: Record<string, string>, body: string, timeoutMs: number): Promise<SendResult> {
    const url = new URL(urlText);
    const host = bareHost(url);
    // A literal address never goes through lookup: check it here.
    if (ipaddr.isValid(host)) {
      const range = this.#policy.refusal(host);
      if (range !== undefined) return Promise.resolve({ kind: 'refused', message: new AddressRefused(host, host, range).message });
    }
    const secure = url.protocol === 'https:';
    const payload = Buffer.from(body, 'utf8');
    return new Promise<SendResult>((resolve) => {
      let settled = false;
      const done = (r: SendResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(r);
      };
      const req = (secure ? https : http).request(url, {
        method: 'POST',
        agent: secure ? this.#https : this.#http,
        lookup: this.#lookup,
        headers: { ...headers, 'content-type': 'application/json', 'content-length': String(payload.length), 'user-agent': 'erpc-webhooks/1' },
      });
      const timer = setTimeout(() => {
        done({ kind: 'timeout', message: `The endpoint did not answer within ${timeoutMs} ms.` });
        req.destroy();
      }, timeoutMs);
      req.on('response', (res) => {
        let read = 0;
        res.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > MAX_RESPONSE_BYTES) {
            // Enough: the status is what counts. Drop the connection instead of reading on.
            done({ kind: 'response', status: res.statusCode ?? 0, retryAfterMs: retryAfterMs(res.headers['retry-after']) });
            res.destroy();
          }
        });
        res.on('end', () => done({ kind: 'response', status: res.statusCode ?? 0, retryAfterMs: retryAfterMs(res.headers['retry-after']) }));
        res.on('error', () => done({ kind: 'response', status: res.statusCode ?? 0, retryAfterMs: retryAfterMs(res.headers['retry-after']) }));
      });
      req.on('error', (err: Error & { code?: string }) => {
        const refused = err instanceof AddressRefused || err.name === 'AddressRefused';
        if (refused) done({ kind: 'refused', message: err.message });
        else done({ kind: 'network', message: `${err.code ?? err.name}: ${err.message}`.slice(0, 300) });
      });
      req.end(payload);
    });
  }

  close(): void {
    this.#http.destroy();
    this.#https.destroy();
  }
}

/** `Retry-After` as milliseconds from now: delta-seconds or an HTTP date. */
export function retryAfterMs(value: string | string[] | undefined, now: number = Date.now()): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || text.trim() === '') return undefined;
  if (/^\d+$/.test(text.trim())) return Number(text.trim()) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
