import { beforeAll, describe, it } from 'vitest';
import { CHECKS } from './catalogue.js';
import { runConformance } from './run.js';
import type { ConformanceOptions, ConformanceReport } from './types.js';

/** Options of {@link describeConnectorConformance}: the kit's options plus the suite's name. */
export interface DescribeConformanceOptions extends ConformanceOptions {
  /** The describe() block's name. Default: `conformance: <pluginDir>`. */
  name?: string;
  /** Time for the whole run, in ms (the hook timeout). Default 120 000. */
  runTimeoutMs?: number;
}

/**
 * Registers a vitest suite with one test per conformance check (named by its id). The checks run
 * once, in a `beforeAll`; each test then reports its check: a failure fails the test with the
 * check's message, a skipped check is marked skipped with the reason.
 *
 * @example
 * ```ts
 * import { describeConnectorConformance } from '@erpc/conformance/vitest';
 * describeConnectorConformance({ pluginDir: new URL('..', import.meta.url).pathname, validConfig: () => ({ rootPath: mkdtempSync(…) }) });
 * ```
 */
export function describeConnectorConformance(options: DescribeConformanceOptions): void {
  describe(options.name ?? `conformance: ${options.pluginDir}`, () => {
    let report: ConformanceReport | undefined;
    let runError: unknown;
    beforeAll(async () => {
      try {
        report = await runConformance(options);
      } catch (err) {
        runError = err;
      }
    }, options.runTimeoutMs ?? 120_000);
    for (const check of CHECKS) {
      it(`${check.id}: ${check.title}`, (ctx) => {
        if (runError !== undefined) throw runError;
        const result = report?.checks.find((c) => c.id === check.id);
        if (!result) throw new Error(`the kit reported nothing for ${check.id}`);
        if (result.status === 'skipped') return ctx.skip(result.message);
        if (result.status === 'fail') throw new Error(`${check.id}: ${result.message ?? 'failed'}`);
      });
    }
  });
}

export type { ConformanceOptions, ConformanceReport, CheckResult } from './types.js';
