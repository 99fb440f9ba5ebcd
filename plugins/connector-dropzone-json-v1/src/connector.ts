import {
  defineConnector,
  type ConnectorDefinition,
  type ConnectionTestResult,
  type DeliveryStatus,
  type HostFiles,
  type ERPConnectorPort,
  type OperationContext,
  type PushDocument,
  type PushReceipt,
} from '@erpc/sdk';
import { checkDelivery } from './acknowledgements.js';
import { OperationGuard } from './abort.js';
import { resolveConfig, type DropzoneConfigInput } from './config.js';
import { failedTest, probeFolder } from './connection-test.js';
import { pushDocument } from './push.js';
import { createLocalTransport, type DropzoneTransport } from './transport.js';
import { DirectorySync } from './directory-sync.js';

/** The connector type this plugin provides. */
export const CONNECTOR_TYPE = 'DROPZONE_JSON_V1';

/** Options of {@link createDropzoneConnector}. */
export interface DropzoneConnectorOptions {
  /** The file operations; the local file system unless given (tests inject faults here). */
  transport?: DropzoneTransport;
  /** The host's file durability service (HostServices.files), used by the local file system transport. */
  files?: HostFiles;
}

/** Builds the port. The host gets it through the default export; tests call it with a transport. */
export function createDropzoneConnector(options: DropzoneConnectorOptions = {}): ERPConnectorPort<DropzoneConfigInput> & {
  checkDelivery(receipt: PushReceipt, ctx: OperationContext<DropzoneConfigInput>): Promise<DeliveryStatus>;
  /** Abandoned (timed-out, still running) operations for a rootPath; zero once clean-up finished. */
  pendingAbandoned(rootPath: string): number;
} {
  const transport = options.transport ?? createLocalTransport(options.files);
  const guard = new OperationGuard();
  // One per port: concurrent pushes into one folder share its fsyncs (group commit, ADR 0017).
  const directorySync = new DirectorySync(transport);
  return {
    async push(document: PushDocument, ctx: OperationContext<DropzoneConfigInput>): Promise<PushReceipt> {
      const config = resolveConfig(ctx.config);
      return guard.run(config.rootPath, ctx.signal, () => pushDocument(transport, config, document, ctx.connection, ctx.signal, directorySync));
    },

    async testConnection(ctx: OperationContext<DropzoneConfigInput>): Promise<ConnectionTestResult> {
      const started = performance.now();
      const elapsed = (): number => Math.round((performance.now() - started) * 1000) / 1000;
      try {
        const config = resolveConfig(ctx.config);
        await guard.run(config.rootPath, ctx.signal, () => probeFolder(transport, config, ctx.signal));
        return { ok: true, latencyMs: elapsed() };
      } catch (err) {
        return failedTest(err, elapsed());
      }
    },

    async checkDelivery(receipt: PushReceipt, ctx: OperationContext<DropzoneConfigInput>): Promise<DeliveryStatus> {
      const config = resolveConfig(ctx.config);
      return guard.run(config.rootPath, ctx.signal, () => checkDelivery(transport, config, receipt, ctx.signal));
    },

    pendingAbandoned: (rootPath: string) => guard.pendingAbandoned(rootPath),
  };
}

const definition: ConnectorDefinition<DropzoneConfigInput> = defineConnector<DropzoneConfigInput>({
  connectorType: CONNECTOR_TYPE,
  create: (deps) => createDropzoneConnector(deps.files === undefined ? {} : { files: deps.files }),
});

export default definition;
