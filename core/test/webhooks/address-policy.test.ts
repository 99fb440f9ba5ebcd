import { describe, expect, it } from 'vitest';
import { AddressPolicy, isLoopbackHost } from '../../src/webhooks/address-policy.js';
import { retryAfterMs } from '../../src/webhooks/webhook-http.js';
import { WebhookRetrySchedule, DEFAULT_WEBHOOK_RETRY_SCHEDULE_MS } from '../../src/webhooks/retry-schedule.js';

describe('webhook address policy (SSRF)', () => {
  const strict = new AddressPolicy({ allowLoopback: false, allowedNetworks: [] });

  it('refuses private, loopback, link-local, unspecified, multicast and reserved addresses, IPv4 and IPv6', () => {
    for (const address of [
      '10.1.2.3', '172.16.0.1', '192.168.0.1', '127.0.0.1', '127.8.9.10', '169.254.169.254', '0.0.0.0', '224.0.0.1', '255.255.255.255', '100.64.0.1',
      '::1', '::', 'fe80::1', 'fc00::1', 'fd12:3456::1', 'ff02::1',
      '::ffff:127.0.0.1', '::ffff:10.0.0.1', '::ffff:169.254.169.254', '64:ff9b::a00:1', '2002:a00:1::',
    ]) {
      expect(strict.refusal(address), address).toBeDefined();
    }
  });

  it('allows public unicast addresses, and IPv4-mapped public ones', () => {
    for (const address of ['8.8.8.8', '93.184.216.34', '2606:4700:4700::1111', '::ffff:8.8.8.8']) expect(strict.refusal(address), address).toBeUndefined();
  });

  it('allows loopback only when asked, and the operator\'s networks', () => {
    const loop = new AddressPolicy({ allowLoopback: true, allowedNetworks: ['10.20.0.0/16', 'fd00:1::/64'] });
    expect(loop.refusal('127.0.0.1')).toBeUndefined();
    expect(loop.refusal('::1')).toBeUndefined();
    expect(loop.refusal('::ffff:127.0.0.1')).toBeUndefined();
    expect(loop.refusal('10.20.3.4')).toBeUndefined();
    expect(loop.refusal('::ffff:10.20.3.4')).toBeUndefined();
    expect(loop.refusal('10.21.0.1')).toBe('private');
    expect(loop.refusal('fd00:1::5')).toBeUndefined();
    expect(loop.refusal('fd00:2::5')).toBe('uniqueLocal');
    expect(loop.refusal('169.254.1.1')).toBe('linkLocal');
    expect(isLoopbackHost('localhost')).toBe(true);
    expect(isLoopbackHost('::ffff:127.0.0.1')).toBe(true);
    expect(isLoopbackHost('example.com')).toBe(false);
  });
});

describe('webhook retry schedule', () => {
  it('spans at least 24 hours by default and ends', () => {
    const s = new WebhookRetrySchedule();
    const total = DEFAULT_WEBHOOK_RETRY_SCHEDULE_MS.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThanOrEqual(24 * 3_600_000);
    expect(s.delayAfter(1)).toBe(5_000);
    expect(s.delayAfter(s.maxAttempts)).toBeUndefined();
    // Retry-After replaces the delay, at most 24 h.
    expect(s.delayAfter(1, 120_000)).toBe(120_000);
    expect(s.delayAfter(1, 10 * 86_400_000)).toBe(86_400_000);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    expect(retryAfterMs('3')).toBe(3000);
    expect(retryAfterMs(new Date(Date.UTC(2030, 0, 1, 0, 0, 10)).toUTCString(), Date.UTC(2030, 0, 1))).toBe(10_000);
    expect(retryAfterMs('soon')).toBeUndefined();
    expect(retryAfterMs(undefined)).toBeUndefined();
  });
});

describe('the webhook HTTP client', () => {
  it('resolves names through the policy: localhost is refused unless loopback is allowed, and the checked address is used', async () => {
    const { guardedLookup } = await import('../../src/webhooks/webhook-http.js');
    const lookup = (policy: AddressPolicy, all: boolean) =>
      new Promise<{ err: Error | null; address: unknown }>((resolve) =>
        (guardedLookup(policy) as unknown as (h: string, o: object, cb: (err: Error | null, address: unknown) => void) => void)('localhost', { all }, (err, address) => resolve({ err, address })),
      );
    const refused = await lookup(new AddressPolicy({ allowLoopback: false, allowedNetworks: [] }), true);
    expect(refused.err?.message).toMatch(/localhost resolves to .* \(loopback\)/);
    const allowed = await lookup(new AddressPolicy({ allowLoopback: true, allowedNetworks: [] }), false);
    expect(allowed.err).toBeNull();
    expect(['127.0.0.1', '::1']).toContain(allowed.address);
  });

  it('reads at most 64 KiB of an answer and does not follow redirects', async () => {
    const http = await import('node:http');
    const { WebhookHttpClient } = await import('../../src/webhooks/webhook-http.js');
    let redirected = 0;
    const server = http.createServer((req, res) => {
      if (req.url === '/big') {
        res.writeHead(200);
        // An endless answer: the client must stop reading, not wait for its end.
        const chunk = Buffer.alloc(16 * 1024, 120);
        const pump = () => {
          while (res.write(chunk)) {
            /* fill the socket */
          }
          res.once('drain', pump);
        };
        pump();
      } else if (req.url === '/moved') {
        res.writeHead(301, { location: '/target' }).end();
      } else {
        redirected += 1;
        res.writeHead(200).end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const client = new WebhookHttpClient(new AddressPolicy({ allowLoopback: true, allowedNetworks: [] }));
    try {
      expect(await client.send(`http://127.0.0.1:${port}/big`, {}, '{}', 5_000)).toMatchObject({ kind: 'response', status: 200 });
      expect(await client.send(`http://127.0.0.1:${port}/moved`, {}, '{}', 5_000)).toMatchObject({ kind: 'response', status: 301 });
      expect(redirected).toBe(0);
      const strict = new WebhookHttpClient(new AddressPolicy({ allowLoopback: false, allowedNetworks: [] }));
      expect(await strict.send(`http://127.0.0.1:${port}/x`, {}, '{}', 5_000)).toMatchObject({ kind: 'refused' });
      expect(await strict.send(`http://[::ffff:127.0.0.1]:${port}/x`, {}, '{}', 5_000)).toMatchObject({ kind: 'refused' });
      // A name goes through the guarded lookup of every new connection: refused before connecting.
      const byName = await strict.send(`http://localhost:${port}/x`, {}, '{}', 5_000);
      expect(byName).toMatchObject({ kind: 'refused' });
      expect(byName.kind === 'refused' && byName.message).toMatch(/localhost resolves to .* \(loopback\)/);
      expect(redirected).toBe(0);
      strict.close();
      // Allowed, the same name connects; a receiver that never answers is a timeout.
      expect(await client.send(`http://localhost:${port}/ok`, {}, '{}', 5_000)).toMatchObject({ kind: 'response', status: 200 });
      const silent = http.createServer(() => {});
      await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
      try {
        expect(await client.send(`http://127.0.0.1:${(silent.address() as { port: number }).port}/`, {}, '{}', 300)).toMatchObject({ kind: 'timeout' });
      } finally {
        silent.closeAllConnections();
        await new Promise<void>((r) => silent.close(() => r()));
      }
      // Nobody listening: a network error naming why.
      const closed = await client.send('http://127.0.0.1:1/', {}, '{}', 2_000);
      expect(closed).toMatchObject({ kind: 'network' });
      expect(closed.kind === 'network' && closed.message).toMatch(/ECONNREFUSED/);
    } finally {
      client.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
