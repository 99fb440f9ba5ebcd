import type { PushReceipt } from '@erpc/sdk';
import { plantCanaries, writeOnlyStringFields, type CanariedConfig } from '../canaries.js';
import { errorText, operationContext, safeJson, type Captured } from '../harness.js';
import { connectorType, operate, sampleDocuments, unreachableConfig, validConfig, type Config, type Session } from '../session.js';
import type { CheckResult } from '../types.js';
import { fail, pass, skip } from './result.js';
import { withPort } from './with-port.js';

const IDS = ['secret-hygiene.logs', 'secret-hygiene.errors', 'secret-hygiene.results'] as const;

/** A config with canaries that still passes the schema, trying all secret fields first, then only present ones. */
function canaried(s: Session, config: Config): CanariedConfig | undefined {
  const fields = writeOnlyStringFields(s.files.configSchema ?? {});
  for (const onlyPresent of [false, true]) {
    const c = plantCanaries(config, fields, onlyPresent);
    if (c.canaries.size > 0 && (!s.validate || s.validate(c.config))) return c;
  }
  return undefined;
}

/**
 * secret-hygiene.*: every writeOnly string field gets a unique canary; every operation runs, on
 * success and failure paths; no canary may appear in anything logged or printed, in any error
 * (message, stack, cause, details) or in any result (receipts, test results, delivery statuses).
 */
export async function secretHygieneChecks(s: Session): Promise<CheckResult[]> {
  if (!s.files.configSchema) return IDS.map((id) => skip(id, 'needs a readable config schema'));
  if (writeOnlyStringFields(s.files.configSchema).length === 0) return IDS.map((id) => skip(id, 'the config schema marks no string field writeOnly, so there is no secret to trace'));
  const valid = canaried(s, await validConfig(s));
  if (!valid) return IDS.map((id) => skip(id, 'could not build a config with canaries in its writeOnly fields that the schema accepts'));
  const u = await unreachableConfig(s);
  const unreachable = u === undefined ? undefined : canaried(s, u);
  const canaries = new Map<string, string>([...valid.canaries].map(([k, v]) => [v, k]));
  if (unreachable) for (const [k, v] of unreachable.canaries) canaries.set(v, `${k} (unreachable config)`);

  const sink: Captured = { lines: [] };
  const errors: string[] = [];
  const results: string[] = [];
  const ops: string[] = [];
  const run = async (what: string, fn: () => Promise<unknown>, ms?: number) => {
    ops.push(what);
    try {
      const r = await operate(s, sink, what, fn, ms);
      results.push(`${what}: ${safeJson(r)}`);
      return r;
    } catch (err) {
      errors.push(`${what}: ${errorText(err)}`);
      return undefined;
    }
  };
  const aborted = () => {
    const c = new AbortController();
    c.abort(new Error('aborted by the conformance kit'));
    return c.signal;
  };
  await withPort(
    s,
    async (port, _sink, conn) => {
      const ctx = (config: Config, signal?: AbortSignal) => operationContext(config, conn, sink, signal);
      const docs = sampleDocuments(s);
      await run('testConnection()', () => port.testConnection(ctx(valid.config)));
      let receipt: PushReceipt | undefined;
      for (const doc of docs) receipt = ((await run('push()', () => port.push(doc, ctx(valid.config)))) as PushReceipt | undefined) ?? receipt;
      await run('push() again with the same key', () => port.push(docs[0]!, ctx(valid.config)));
      if (typeof port.checkDelivery === 'function' && receipt) await run('checkDelivery()', () => port.checkDelivery!(receipt!, ctx(valid.config)));
      if (unreachable) {
        await run('testConnection() unreachable', () => port.testConnection(ctx(unreachable.config)));
        await run('push() unreachable', () => port.push(docs[0]!, ctx(unreachable.config)));
        if (typeof port.checkDelivery === 'function' && receipt) await run('checkDelivery() unreachable', () => port.checkDelivery!(receipt!, ctx(unreachable.config)));
      }
      const abortMs = s.timeouts.abortMs * 2;
      await run('testConnection() aborted', () => port.testConnection(ctx(valid.config, aborted())), abortMs);
      await run('push() aborted', () => port.push(docs[docs.length - 1]!, ctx(valid.config, aborted())), abortMs);
    },
    sink,
  );

  const leaks = (texts: string[]) => {
    const found = new Set<string>();
    for (const t of texts) for (const [canary, field] of canaries) if (t.includes(canary)) found.add(`${field} in ${t.slice(0, t.indexOf(':') > 0 ? t.indexOf(':') : 40)}`);
    return [...found];
  };
  const verdict = (id: string, where: string, found: string[]) =>
    found.length ? fail(id, `the secret value of ${found.join('; ')} appeared in ${where}; never log, print, throw or return a config value`) : pass(id, `${canaries.size} canaries, ${ops.length} operations`);
  // Log lines are labelled `[logger.info] …`, `[console.log] …`; show the label, not the line.
  const logLeaks = [...new Set(sink.lines.filter((l) => [...canaries.keys()].some((c) => l.includes(c))).map((l) => `a secret field in ${l.slice(0, l.indexOf(']') + 1)}`))];
  return [
    logLeaks.length ? fail(IDS[0], `${logLeaks.join('; ')} output contained a secret value; never log or print the config or its secrets`) : pass(IDS[0], `${canaries.size} canaries, ${ops.length} operations`),
    verdict(IDS[1], 'an error', leaks(errors)),
    verdict(IDS[2], 'a result', leaks(results)),
  ];
}
