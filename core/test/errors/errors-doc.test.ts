import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_REGISTRY, RETIRED_ERROR_CODES } from '../../src/errors/index.js';

const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');

/** Rows of the doc's tables: | `CODE` | status | meaning | fix | */
function documentedCodes(): Map<string, number> {
  const rows = new Map<string, number>();
  for (const line of doc.split('\n')) {
    const m = /^\|\s*`(ERPC_ERR_[A-Z0-9_]+)`\s*\|\s*(\d{3})\s*\|(.+)\|(.+)\|\s*$/.exec(line);
    if (m) {
      expect(rows.has(m[1]!), `${m[1]} documented twice`).toBe(false);
      rows.set(m[1]!, Number(m[2]));
    }
  }
  return rows;
}

describe('error registry and docs/errors.md', () => {
  it('document exactly the same codes with the same HTTP status', () => {
    const documented = documentedCodes();
    const registered = new Map(Object.entries(ERROR_REGISTRY).map(([code, spec]) => [code, spec.status]));
    expect([...documented.keys()].sort()).toEqual([...registered.keys()].sort());
    for (const [code, status] of registered) expect(documented.get(code), code).toBe(status);
  });

  it('every code follows ERPC_ERR_<AREA>_<PROBLEM> and has a message', () => {
    for (const [code, spec] of Object.entries(ERROR_REGISTRY)) {
      expect(code).toMatch(/^ERPC_ERR_[A-Z0-9]+(_[A-Z0-9]+)*$/);
      expect(spec.message.length).toBeGreaterThan(0);
    }
  });

  it('keeps retired codes documented and out of the registry', () => {
    const retiredSection = doc.slice(doc.indexOf('## Retired codes'));
    for (const code of RETIRED_ERROR_CODES) {
      expect(Object.keys(ERROR_REGISTRY), code).not.toContain(code);
      expect(retiredSection, code).toContain(`\`${code}\``);
    }
  });
});
