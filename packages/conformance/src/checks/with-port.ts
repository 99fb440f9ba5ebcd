import type { ERPConnectorPort } from '@erpc/sdk';
import type { Captured } from '../harness.js';
import { disposePort, newPort, type Config, type Session } from '../session.js';

/** Runs `fn` with a fresh port (created outside any I/O recording) and disposes of it afterwards. */
export async function withPort<T>(s: Session, fn: (port: ERPConnectorPort<Config>, sink: Captured) => Promise<T>, sink: Captured = { lines: [] }): Promise<T> {
  const port = await newPort(s, sink);
  try {
    return await fn(port, sink);
  } finally {
    await disposePort(s, port, sink);
  }
}
