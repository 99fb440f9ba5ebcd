import {
  defineConnector,
  type ConnectorDefinition,
  type ConnectionTestResult,
  type DeliveryStatus,
  type ERPConnectorPort,
  type OperationContext,
  type PushDocument,
  type PushReceipt,
} from '@erpc/sdk';
import { FolderListings, checkDelivery } from './acknowledgements.js';
import { resolveConfig, type SftpDropzoneConfigInput } from './config.js';
import { failedTest, probeServer } from './connection-test.js';
import { pushDocument } from './push.js';
import { DEFAULT_IDLE_MS, SessionPool } from './session.js';
import { throwIfAborted } from './errors.js';

/** The connector type this plugin provides. */
export const CONNECTOR_TYPE = 'SFTP_DROPZONE_JSON_V1';

/** Options of {@link createSftpDropzoneConnector}. */
export interface SftpDropzoneConnectorOptions {
  /** How long an unused SSH connection stays open (default 30 s). */
  idleMs?: number;
}

/** The port, with what tests and benchmarks look at. */
export type SftpDropzoneConnector = ERPConnectorPort<SftpDropzoneConfigInput> & {
  checkDelivery(receipt: PushReceipt, ctx: OperationContext<SftpDropzoneConfigInput>): Promise<DeliveryStatus>;
  dispose(): Promise<void>;
  /** Open SSH connections of this port. */
  readonly openConnections: number;
};

/** Builds the port. The host gets it through the default export; tests call it with options. */
export function createSftpDropzoneConnector(options: SftpDropzoneConnectorOptions = {}): SftpDropzoneConnector {
  // One SSH connection per stored connection, shared by every operation of this port.
  const pool = new SessionPool(options.idleMs ?? DEFAULT_IDLE_MS);
  const listings = new FolderListings();
  return {
    async push(document: PushDocument, ctx: OperationContext<SftpDropzoneConfigInput>): Promise<PushReceipt> {
      const config = resolveConfig(ctx.config);
      throwIfAborted(ctx.signal);
      return pushDocument(pool.session(ctx.connection.id, config), config, document, ctx.connection, ctx.signal);
    },

    async testConnection(ctx: OperationContext<SftpDropzoneConfigInput>): Promise<ConnectionTestResult> {
      const started = performance.now();
      const elapsed = (): number => Math.round((performance.now() - started) * 1000) / 1000;
      try {
        const config = resolveConfig(ctx.config);
        await probeServer(config, ctx.signal);
        return { ok: true, latencyMs: elapsed() };
      } catch (err) {
        return failedTest(err, elapsed());
      }
    },

    async checkDelivery(receipt: PushReceipt, ctx: OperationContext<SftpDropzoneConfigInput>): Promise<DeliveryStatus> {
      const config = resolveConfig(ctx.config);
      throwIfAborted(ctx.signal);
      return checkDelivery(pool.session(ctx.connection.id, config), listings, config, receipt, ctx.signal);
    },

    async dispose(): Promise<void> {
      await pool.closeAll();
    },

    get openConnections(): number {
      return pool.size;
    },
  };
}

const definition: ConnectorDefinition<SftpDropzoneConfigInput> = defineConnector<SftpDropzoneConfigInput>({
  connectorType: CONNECTOR_TYPE,
  create: () => createSftpDropzoneConnector(),
});

export default definition;
