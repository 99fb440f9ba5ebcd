import { describe, expect, it } from 'vitest';
import { CHECK_GROUPS, CHECKS, runConformance } from '@erpc/conformance';
import { fixtureOptions } from './fixture-configs.js';

// Each fault fixture and the exact checks its fault must fail. Nothing else may fail.
const FAULTS: Record<string, string[]> = {
  'entry-outside': ['manifest.paths'],
  'sdk-mismatch': ['manifest.sdk'],
  'unmarked-password': ['config-schema.secrets-write-only'],
  'lax-schema': ['config-schema.invalid-configs', 'config-schema.defaults'],
  'wrong-connector-type': ['definition.type'],
  'create-does-io': ['definition.create-no-io'],
  'throws-on-unreachable': ['test-connection.unreachable'],
  'ignores-abort': ['test-connection.aborted'],
  'unstable-external-ref': ['push.idempotent'],
  'not-concurrency-safe': ['push.concurrent'],
  'non-connector-error': ['push.errors'],
  'logs-password': ['secret-hygiene.logs'],
  'logger-leaks-config': ['secret-hygiene.logs'],
  'error-leaks-secret': ['secret-hygiene.errors'],
  'mutates-config': ['purity.frozen', 'purity.unchanged'],
  'undocumented-delivery-state': ['delivery-check.states'],
};

describe('the kit on fixture plugins', () => {
  it('the clean fixture passes every check, none skipped', async () => {
    const report = await runConformance(fixtureOptions('clean'));
    expect(report.checks.filter((c) => c.status !== 'pass')).toEqual([]);
    expect(report.checks.map((c) => c.id)).toEqual(CHECKS.map((c) => c.id));
    expect(report).toMatchObject({ plugin: '@fixtures/clean@1.0.0', passed: true });
  });

  it('every check group has a fault fixture', () => {
    const covered = new Set(Object.values(FAULTS).flat().map((id) => id.split('.')[0]));
    expect([...covered].sort()).toEqual([...CHECK_GROUPS].sort());
  });

  for (const [fixture, expected] of Object.entries(FAULTS)) {
    it(`${fixture}: fails exactly ${expected.join(', ')}`, async () => {
      const report = await runConformance(fixtureOptions(fixture));
      const failed = report.checks.filter((c) => c.status === 'fail');
      expect(failed.map((c) => c.id).sort(), JSON.stringify(failed, null, 1)).toEqual([...expected].sort());
      expect(report.passed).toBe(false);
      for (const c of failed) expect(c.message).toMatch(/\w/);
    });
  }
});
