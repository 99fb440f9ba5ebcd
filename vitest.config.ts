import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// One run, one summary over every package. Workspace packages resolve to their TypeScript
// source through the "@erpc/source" export condition, so tests never need a stale dist.
// No explicit 'import': Vite adds import/require per import kind itself. Listing 'import' forces
// it onto require() too, so CommonJS packages with dual exports (pg → pg-pool) get the ESM build.
const conditions = ['@erpc/source', 'node', 'module', 'default'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['@erpc/source'] } },
  test: {
    reporters: ['default', './test/reporters/summary-reporter.ts'],
    // At least two test files at once (ADR 0053): vitest's default (cores - 1) gives a 2-core
    // machine a single worker, while most files wait on child processes, sandboxes, disks and
    // PostgreSQL. Each test gets its own schema, folders and ports, so files share nothing.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      { extends: true, test: { name: 'sdk', root: 'packages/sdk', include: ['test/**/*.test.ts'] } },
      { extends: true, test: { name: 'core', root: 'core', include: ['test/**/*.test.ts'] } },
      { extends: true, test: { name: 'conformance', root: 'packages/conformance', include: ['test/**/*.test.ts'] } },
      { extends: true, test: { name: 'plugins', root: 'plugins', include: ['*/test/**/*.test.ts'] } },
      { extends: true, test: { name: 'e2e', root: 'test', include: ['**/*.test.ts'], exclude: ['**/node_modules/**', 'fixtures/**'] } },
    ],
  },
});
