import type { FastifyInstance } from 'fastify';
import type { Logger } from '../logging/logger.js';

const closing = new WeakSet<FastifyInstance>();

/** True once {@link closeHttp} began on `app`: new requests are answered 503 ERPC_ERR_SHUTTING_DOWN. */
export function isClosing(app: FastifyInstance): boolean {
  return closing.has(app);
}

/** Listens and returns the URL a client can reach (the bound port when `port` is 0). */
export async function listenHttp(app: FastifyInstance, port: number, host: string): Promise<string> {
  await app.listen({ port, host });
  const address = app.server.address();
  const boundPort = typeof address === 'object' && address !== null ? address.port : port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return `http://${shownHost}:${boundPort}`;
}

/**
 * Closes an HTTP server within `budgetMs` whatever its clients do (ADR 0031): new requests get
 * 503, in-flight requests finish (their answers carry `Connection: close` once readiness reports
 * the shutdown), sockets that are idle — at once or after their last answer — are closed, and
 * at the end of the budget every connection still open is closed.
 */
export async function closeHttp(app: FastifyInstance, budgetMs: number, logger: Logger): Promise<void> {
  closing.add(app);
  const server = app.server;
  // A socket that becomes idle later (an answer sent before the signal) would otherwise wait
  // for the keep-alive timeout: sweep them while in-flight requests finish.
  const sweep = setInterval(() => server.closeIdleConnections(), 100);
  const force = setTimeout(() => {
    logger.warn({ budgetMs }, 'closing the HTTP connections still open at the end of the shutdown budget');
    server.closeAllConnections();
  }, Math.max(0, budgetMs));
  sweep.unref();
  force.unref();
  try {
    await app.close();
  } finally {
    clearInterval(sweep);
    clearTimeout(force);
  }
}
