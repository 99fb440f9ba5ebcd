import { CONNECTOR_API_VERSION, CONNECTOR_DEFINITION_TAG, isConnectorPort, type ConnectorDefinition } from '@erpc/sdk';
import { describeError, hostServices, withCapturedOutput, type Captured } from '../harness.js';
import { recordIo } from '../io-guard.js';
import { importEntry, type Config, type Session } from '../session.js';
import type { CheckResult } from '../types.js';
import { fail, pass, skip } from './result.js';

const IDS = ['definition.export', 'definition.api-version', 'definition.type', 'definition.create-no-io', 'definition.port'];

/** definition.*: tagged default export, apiVersion, type, create() without I/O, a port. Sets `s.definition` or `s.blocked`. */
export async function definitionChecks(s: Session): Promise<CheckResult[]> {
  const f = s.files;
  if (!f.entryPath || !f.manifest) {
    s.blocked = 'the plugin has no loadable entry (see manifest.*)';
    return IDS.map((id) => skip(id, 'needs a valid manifest with an entry inside the plugin folder'));
  }
  let exported: unknown;
  const sink: Captured = { lines: [] };
  try {
    exported = await withCapturedOutput(sink, () => importEntry(s, f.entryPath!));
  } catch (err) {
    s.blocked = 'the entry module did not import';
    return [fail(IDS[0]!, `importing ${f.manifest.entry} failed: ${describeError(err)}`), ...IDS.slice(1).map((id) => skip(id, 'needs an importable entry'))];
  }
  const def = exported as Partial<ConnectorDefinition<Config>> | undefined;
  if (typeof def !== 'object' || def === null || def.$$type !== CONNECTOR_DEFINITION_TAG || typeof def.create !== 'function') {
    s.blocked = 'the entry exports no connector definition';
    const why =
      exported === undefined
        ? 'the entry module has no default export; export the connector definition as default'
        : `the default export is not a connector definition (needs $$type "${CONNECTOR_DEFINITION_TAG}" and a create() function)`;
    return [fail(IDS[0]!, why), ...IDS.slice(1).map((id) => skip(id, 'needs a connector definition'))];
  }
  s.definition = def as ConnectorDefinition<Config>;
  const out: CheckResult[] = [pass(IDS[0]!)];
  out.push(
    def.apiVersion === CONNECTOR_API_VERSION
      ? pass('definition.api-version')
      : fail('definition.api-version', `apiVersion is ${JSON.stringify(def.apiVersion)}; this SDK supports ${CONNECTOR_API_VERSION}`),
  );
  out.push(
    def.connectorType === f.manifest.connectorType
      ? pass('definition.type')
      : fail('definition.type', `the definition's connectorType ${JSON.stringify(def.connectorType)} differs from the manifest's ${f.manifest.connectorType}`),
  );
  let port: unknown;
  try {
    const { value, calls } = recordIo(() => def.create!(hostServices(sink)));
    port = value;
    out.push(
      calls.length
        ? fail('definition.create-no-io', `create() did I/O: ${calls.join(', ')}; open files and connections inside operations instead`)
        : pass('definition.create-no-io'),
    );
  } catch (err) {
    s.blocked = 'create() threw';
    out.push(fail('definition.create-no-io', `create() threw: ${describeError(err)}`), fail('definition.port', 'create() threw, so there is no port'));
    return out;
  }
  const p = port as Record<string, unknown> | undefined;
  if (!isConnectorPort(port)) {
    s.blocked = 'create() returned no port';
    const missing = ['push', 'testConnection'].filter((m) => typeof p?.[m] !== 'function');
    out.push(fail('definition.port', `create() returned an object without ${missing.join(' and ')}`));
  } else {
    const wrong = ['checkDelivery', 'dispose'].filter((m) => p?.[m] !== undefined && typeof p[m] !== 'function');
    out.push(wrong.length ? fail('definition.port', `${wrong.join(', ')} must be a method when present`) : pass('definition.port'));
  }
  return out;
}
