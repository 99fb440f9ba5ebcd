import pg from 'pg';

/** A LISTEN subscription on a dedicated connection. */
export interface Listener {
  /** Stops listening and closes the connection. */
  close(): Promise<void>;
}

/**
 * LISTENs on `channel` over a dedicated pg client (a pooled connection cannot hold a LISTEN).
 * PostgreSQL only: PGlite has a single connection and no other process to notify it.
 * `onError` gets connection loss; the caller decides whether to reconnect (and poll meanwhile).
 */
export async function listen(
  url: string,
  channel: string,
  onNotify: (payload: string | undefined) => void,
  onError: (err: Error) => void = () => undefined,
): Promise<Listener> {
  if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new TypeError(`Invalid channel name ${channel}`);
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  client.on('notification', (msg) => {
    if (msg.channel === channel) onNotify(msg.payload);
  });
  client.on('error', onError);
  await client.connect();
  try {
    await client.query(`LISTEN ${channel}`);
  } catch (err) {
    await client.end().catch(() => undefined);
    throw err;
  }
  let closed = false;
  return {
    async close() {
      if (closed) return;
      closed = true;
      await client.end().catch(() => undefined);
    },
  };
}
