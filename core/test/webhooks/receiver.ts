import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the receiver got. */
export interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
  at: number;
}

/** How the receiver answers one request: a status (and headers), or `hang` (never answers). */
export type Answer = { status: number; headers?: Record<string, string> } | 'hang';

/**
 * A real webhook receiver listening on 127.0.0.1 (an ephemeral port): records every request
 * and answers what `respond` says (200 by default).
 */
export class Receiver {
  readonly received: Received[] = [];
  respond: (r: Received) => Answer = () => ({ status: 200 });
  readonly #server: http.Server;
  readonly #hanging = new Set<http.ServerResponse>();
  #waiters: { test: () => boolean; resolve: () => void }[] = [];

  private constructor(server: http.Server) {
    this.#server = server;
  }

  static async start(): Promise<Receiver> {
    let self!: Receiver;
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const r: Received = { path: req.url ?? '/', headers: req.headers as Record<string, string>, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
        self.received.push(r);
        const answer = self.respond(r);
        if (answer === 'hang') self.#hanging.add(res);
        else {
          res.writeHead(answer.status, answer.headers ?? {});
          res.end('ok');
        }
        self.#check();
      });
    });
    self = new Receiver(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return self;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  url(path = '/hook'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** Resolves once `test()` holds (checked after every request), or rejects after `ms`. */
  waitFor(test: () => boolean, ms = 15_000, what = 'webhooks'): Promise<void> {
    if (test()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; got ${this.received.length} request(s)`)), ms);
      this.#waiters.push({ test, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  #check(): void {
    this.#waiters = this.#waiters.filter((w) => {
      if (!w.test()) return true;
      w.resolve();
      return false;
    });
  }

  async close(): Promise<void> {
    for (const res of this.#hanging) res.destroy();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
