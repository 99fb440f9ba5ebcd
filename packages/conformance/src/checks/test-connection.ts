import { describeError, operationContext, TimeoutError } from '../harness.js';
import { connectorType, operate, unreachableConfig, validConfig, type Session } from '../session.js';
import type { CheckResult } from '../types.js';
import { fail, pass, skip } from './result.js';
import { withPort } from './with-port.js';

/** test-connection.*: ok with a valid config, ok:false (no throw) when unreachable, prompt on abort. */
export async function testConnectionChecks(s: Session): Promise<CheckResult[]> {
  const out: CheckResult[] = [];

  out.push(
    await withPort(s, async (port, sink, conn) => {
      const id = 'test-connection.ok';
      try {
        const ctx = operationContext(await validConfig(s), conn, sink);
        const r = await operate(s, sink, 'testConnection()', () => port.testConnection(ctx));
        if (typeof r !== 'object' || r === null) return fail(id, `testConnection() resolved ${JSON.stringify(r)}, not { ok, latencyMs }`);
        if (r.ok !== true) return fail(id, `testConnection() with the valid config gave ok: ${JSON.stringify(r.ok)}${r.message ? ` (${r.message})` : ''}`);
        if (typeof r.latencyMs !== 'number' || !Number.isFinite(r.latencyMs) || r.latencyMs < 0) return fail(id, `latencyMs must be a finite number ≥ 0, got ${JSON.stringify(r.latencyMs)}`);
        return pass(id, `latency ${r.latencyMs} ms`);
      } catch (err) {
        return fail(id, `testConnection() with the valid config threw: ${describeError(err)}`);
      }
    }),
  );

  const unreachable = await unreachableConfig(s);
  if (unreachable === undefined) out.push(skip('test-connection.unreachable', 'no unreachable config given (--unreachable-config)'));
  else
    out.push(
      await withPort(s, async (port, sink, conn) => {
        const id = 'test-connection.unreachable';
        try {
          const ctx = operationContext(unreachable, conn, sink);
          const r = await operate(s, sink, 'testConnection() on the unreachable config', () => port.testConnection(ctx));
          if (typeof r !== 'object' || r === null || r.ok !== false) return fail(id, `testConnection() on the unreachable config gave ${JSON.stringify(r)}; expected ok: false`);
          if (typeof r.latencyMs !== 'number' || !Number.isFinite(r.latencyMs)) return fail(id, `latencyMs must be a number, got ${JSON.stringify(r.latencyMs)}`);
          if (typeof r.message !== 'string' || r.message.trim() === '') return fail(id, 'ok: false needs a message a person can act on');
          return pass(id, r.message);
        } catch (err) {
          if (err instanceof TimeoutError) return fail(id, `${err.message}; honour ctx.signal and bound your own timeouts`);
          return fail(id, `testConnection() threw instead of resolving ok: false: ${describeError(err)}`);
        }
      }),
    );

  out.push(
    await withPort(s, async (port, sink, conn) => {
      const id = 'test-connection.aborted';
      const controller = new AbortController();
      controller.abort(new Error('aborted by the conformance kit'));
      const started = performance.now();
      try {
        const ctx = operationContext(await validConfig(s), conn, sink, controller.signal);
        await operate(s, sink, 'testConnection() with an aborted signal', () => port.testConnection(ctx), s.timeouts.abortMs);
      } catch (err) {
        if (err instanceof TimeoutError) return fail(id, `with an already-aborted signal, testConnection() ${err.message.replace(/^.*did not/, 'did not')}; check ctx.signal.aborted and pass the signal on`);
        // Rejecting is a fine way to settle.
      }
      return pass(id, `settled in ${Math.round(performance.now() - started)} ms`);
    }),
  );
  return out;
}
