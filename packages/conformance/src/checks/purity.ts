import { isDeepStrictEqual } from 'node:util';
import { isConnectorError, type PushReceipt } from '@erpc/sdk';
import { cloneJson, deepFreeze, describeError, operationContext } from '../harness.js';
import { connectorType, operate, sampleDocuments, validConfig, type Config, type Session } from '../session.js';
import type { CheckResult } from '../types.js';
import { fail, pass } from './result.js';
import { withPort } from './with-port.js';

/** testConnection, two pushes of the same document and checkDelivery, all with `config`. */
async function exercise(s: Session, config: Config): Promise<string | undefined> {
  return withPort(s, async (port, sink, conn) => {
    const ctx = () => operationContext(config, conn, sink);
    try {
      const t = await operate(s, sink, 'testConnection()', () => port.testConnection(ctx()));
      if (t?.ok !== true) return `testConnection() gave ok: ${JSON.stringify(t?.ok)}${t?.message ? ` (${t.message})` : ''}`;
      const doc = sampleDocuments(s)[0]!;
      const r: PushReceipt = await operate(s, sink, 'push()', () => port.push(doc, ctx()));
      await operate(s, sink, 'push() again', () => port.push(doc, ctx()));
      if (typeof port.checkDelivery === 'function') {
        // A ConnectorError (no acknowledgements configured, say) is a proper answer; a TypeError is not.
        await operate(s, sink, 'checkDelivery()', () => port.checkDelivery!(r, ctx())).catch((err: unknown) => {
          if (!isConnectorError(err)) throw err;
        });
      }
      return undefined;
    } catch (err) {
      return `${describeError(err)}${err instanceof TypeError ? ' (a TypeError here usually means the plugin assigned to its frozen config)' : ''}`;
    }
  });
}

/** purity.*: the plugin works with a deep-frozen config and never changes the config it is handed. */
export async function purityChecks(s: Session): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  const frozen = deepFreeze(await validConfig(s));
  const problem = await exercise(s, frozen);
  out.push(problem ? fail('purity.frozen', `with a deep-frozen config: ${problem}; copy what you need instead of mutating ctx.config`) : pass('purity.frozen'));

  const config = await validConfig(s);
  const before = cloneJson(config);
  await exercise(s, config);
  if (isDeepStrictEqual(before, config)) out.push(pass('purity.unchanged'));
  else {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(config)])].filter((k) => !isDeepStrictEqual(before[k], config[k]));
    out.push(fail('purity.unchanged', `the plugin changed the config it was handed (${keys.join(', ') || 'nested values'}); treat ctx.config as read-only`));
  }
  return out;
}
