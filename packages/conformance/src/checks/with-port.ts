import type { ConnectionRef, ERPConnectorPort } from '@erpc/sdk';
import { newConnection, type Captured } from '../harness.js';
import { connectorType, disposePort, newPort, type Config, type Session } from '../session.js';

/** Runs `fn` with a fresh port and one connection identity (created outside any I/O recording) and disposes of it afterwards. */
export async function withPort<T>(s: Session, fn: (port: ERPConnectorPort<Config>, sink: Captured, connection: ConnectionRef) => Promise<T>, sink: Captured = { lines: [] }): Promise<T> {
  const port = await newPort(s, sink);
  try {
    return await fn(port, sink, newConnection(connectorType(s)));
  } finally {
    await disposePort(s, port, sink);
  }
}
