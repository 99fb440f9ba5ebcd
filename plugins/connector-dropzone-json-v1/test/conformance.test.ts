import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';
import { describeConnectorConformance } from '@erpc/conformance/vitest';

const folders: string[] = [];
afterAll(() => {
  for (const f of folders) rmSync(f, { recursive: true, force: true });
});

// The kit loads the plugin as a host does, through its manifest's entry (dist/): `pnpm build` first.
describeConnectorConformance({
  name: 'DROPZONE_JSON_V1 conforms to the connector contract',
  pluginDir: fileURLToPath(new URL('..', import.meta.url)),
  // A fresh, empty drop folder per check, so no check sees another's files. Acknowledgements on,
  // so delivery-check.states exercises checkDelivery rather than its "disabled" error.
  validConfig: () => {
    const dir = mkdtempSync(join(tmpdir(), 'erpc-dropzone-conformance-'));
    folders.push(dir);
    return { rootPath: dir, acknowledgements: { enabled: true } };
  },
  invalidConfigs: [{}, { rootPath: 'relative/drop' }, { rootPath: '/srv/drop', layout: 'nested' }, { rootPath: '/srv/drop', filePrefix: '../x' }, { rootPath: '/srv/drop', extra: 1 }],
  // Valid by the schema, but the folder does not exist (the connector never creates it).
  unreachableConfig: { rootPath: join(tmpdir(), 'erpc-dropzone-conformance-missing', 'drop') },
});
