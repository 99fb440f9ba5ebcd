import { DELIVERY_STATES, isConnectorError } from '@erpc/sdk';
import { describeError, operationContext } from '../harness.js';
import { connectorType, operate, sampleDocuments, validConfig, type Session } from '../session.js';
import type { CheckResult } from '../types.js';
import { fail, pass, skip } from './result.js';
import { withPort } from './with-port.js';

/** delivery-check.states: checkDelivery (when implemented) reports only the documented states. */
export async function deliveryChecks(s: Session): Promise<CheckResult[]> {
  const id = 'delivery-check.states';
  return [
    await withPort(s, async (port, sink, conn) => {
      if (typeof port.checkDelivery !== 'function') return skip(id, 'the plugin does not implement checkDelivery');
      const config = await validConfig(s);
      const ctx = () => operationContext(config, conn, sink);
      const seen: string[] = [];
      const refusals: string[] = [];
      try {
        const doc = sampleDocuments(s)[0]!;
        const receipt = await operate(s, sink, 'push()', () => port.push(doc, ctx()));
        for (let i = 0; i < 2; i++) {
          const status = await operate(s, sink, 'checkDelivery()', () => port.checkDelivery!(receipt, ctx()));
          const state = (status as { state?: unknown } | undefined)?.state;
          if (typeof state !== 'string' || !DELIVERY_STATES.includes(state as never)) {
            return fail(id, `checkDelivery() returned state ${JSON.stringify(state)}; only ${DELIVERY_STATES.join(', ')} are documented`);
          }
          seen.push(state);
        }
      } catch (err) {
        // An ERP may have no acknowledgements for this connection: a ConnectorError says so properly.
        if (!isConnectorError(err)) return fail(id, `checkDelivery() of a delivered document threw ${describeError(err)}, not a ConnectorError`);
        refusals.push(err.code);
      }
      // A receipt the ERP never saw: a documented state, or a ConnectorError.
      try {
        const status = await operate(s, sink, 'checkDelivery() of an unknown receipt', () =>
          port.checkDelivery!({ externalRef: 'erpc-conformance-never-pushed' }, ctx()),
        );
        const state = (status as { state?: unknown } | undefined)?.state;
        if (typeof state !== 'string' || !DELIVERY_STATES.includes(state as never)) {
          return fail(id, `checkDelivery() of an unknown receipt returned state ${JSON.stringify(state)}; only ${DELIVERY_STATES.join(', ')} are documented`);
        }
      } catch (err) {
        if (!isConnectorError(err)) return fail(id, `checkDelivery() of an unknown receipt threw ${describeError(err)}, not a ConnectorError`);
      }
      if (seen.length === 0) return pass(id, `no state to verify: checkDelivery() answered with ConnectorError ${refusals.join(', ')}; give a validConfig with acknowledgements to exercise it`);
      return pass(id, `states seen: ${[...new Set(seen)].join(', ')}`);
    }),
  ];
}
