import type { ConnectionTestStorage } from './ports.js';

/** A connection test's outcome as stored on the row. */
export interface RecordedTest {
  at: Date;
  ok: boolean;
  latencyMs: number;
  message: string | null;
}

/**
 * Stores a connection test's outcome and, when it failed, its `connection.test_failed` event in
 * the same transaction (ADR 0035). The message arrives scrubbed of the connection's secrets.
 */
export class ConnectionTestRecorder {
  constructor(
    private readonly storage: ConnectionTestStorage,
    private readonly onQueued: (type: string, deliveries: number) => void,
  ) {}

  async record(connection: { id: string; orgId: string; connectorType: string; name: string }, outcome: RecordedTest): Promise<void> {
    const deliveries = await this.storage.transaction(async (tx) => {
      await tx.connections.recordTest(connection.orgId, connection.id, outcome);
      if (outcome.ok) return 0;
      return tx.webhooks.insertEvent({
        orgId: connection.orgId,
        type: 'connection.test_failed',
        connectionId: connection.id,
        at: outcome.at,
        data: {
          connectionId: connection.id,
          connectorType: connection.connectorType,
          name: connection.name,
          testedAt: outcome.at.toISOString(),
          ok: false,
          latencyMs: outcome.latencyMs,
          message: outcome.message,
        },
      });
    });
    if (deliveries > 0) this.onQueued('connection.test_failed', deliveries);
  }
}
