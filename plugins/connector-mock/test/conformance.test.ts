import { fileURLToPath } from 'node:url';
import { describeConnectorConformance } from '@erpc/conformance/vitest';

// The kit loads the plugin as a host does, through its manifest's entry (dist/): `pnpm build` first.
describeConnectorConformance({
  name: 'MOCK conforms to the connector contract',
  pluginDir: fileURLToPath(new URL('..', import.meta.url)),
  // ack: acknowledge, so delivery-check.states sees real states instead of MOCK_ACK_UNSUPPORTED.
  validConfig: { apiKey: 'mock-api-key-0001', ack: 'acknowledge' },
  invalidConfigs: [{ behavior: 'explode' }, { apiKey: '' }, { delayMs: -1 }, { unknownField: true }],
  unreachableConfig: { behavior: 'fail-retryable', apiKey: 'mock-api-key-0001' },
});
