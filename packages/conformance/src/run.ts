import { configSchemaChecks } from './checks/config-schema.js';
import { definitionChecks } from './checks/definition.js';
import { deliveryChecks } from './checks/delivery-check.js';
import { manifestChecks } from './checks/manifest.js';
import { purityChecks } from './checks/purity.js';
import { pushChecks } from './checks/push.js';
import { fail, skip } from './checks/result.js';
import { secretHygieneChecks } from './checks/secret-hygiene.js';
import { testConnectionChecks } from './checks/test-connection.js';
import { CHECKS } from './catalogue.js';
import { describeError } from './harness.js';
import { openSession, type Session } from './session.js';
import type { CheckResult, ConformanceOptions, ConformanceReport } from './types.js';

type Group = { prefix: string; run: (s: Session) => Promise<CheckResult[]>; needsPort: boolean };

const GROUPS: Group[] = [
  { prefix: 'manifest', run: manifestChecks, needsPort: false },
  { prefix: 'config-schema', run: configSchemaChecks, needsPort: false },
  { prefix: 'definition', run: definitionChecks, needsPort: false },
  { prefix: 'test-connection', run: testConnectionChecks, needsPort: true },
  { prefix: 'push', run: pushChecks, needsPort: true },
  { prefix: 'secret-hygiene', run: secretHygieneChecks, needsPort: true },
  { prefix: 'purity', run: purityChecks, needsPort: true },
  { prefix: 'delivery-check', run: deliveryChecks, needsPort: true },
];

const idsOf = (prefix: string) => CHECKS.filter((c) => c.id.startsWith(`${prefix}.`)).map((c) => c.id);

/**
 * Runs every conformance check on the plugin in `options.pluginDir` and reports each one.
 * Never throws for a faulty plugin: a fault is a failed check. Checks run one after another; a
 * check that cannot run (say, the entry does not import) is `skipped` with the reason.
 *
 * @example
 * ```ts
 * const report = await runConformance({ pluginDir: '.', validConfig: { rootPath: dir } });
 * if (!report.passed) console.log(report.checks.filter((c) => c.status === 'fail'));
 * ```
 */
export async function runConformance(options: ConformanceOptions): Promise<ConformanceReport> {
  const s = await openSession(options);
  const checks: CheckResult[] = [];
  for (const group of GROUPS) {
    if (group.needsPort && s.blocked) {
      checks.push(...idsOf(group.prefix).map((id) => skip(id, `cannot run: ${s.blocked}`)));
      continue;
    }
    try {
      checks.push(...(await group.run(s)));
    } catch (err) {
      // A fault the group did not anticipate (a throwing validConfig factory, say): fail the group.
      checks.push(...idsOf(group.prefix).map((id) => fail(id, `the check could not complete: ${describeError(err)}`)));
    }
  }
  return { plugin: s.files.label, passed: checks.every((c) => c.status !== 'fail'), checks };
}
