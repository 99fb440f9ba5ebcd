import { describe, expect, it } from 'vitest';
import { isRawJsonNumber, parseExactJson } from '@erpc/sdk';
import { parseJsonInput } from '../../src/input/json-input.js';

/** A value's shape with every raw JSON number spelled out, so two parses compare exactly. */
function shapeOf(v: unknown): unknown {
  if (isRawJsonNumber(v)) return { raw: v.rawJSON };
  if (Array.isArray(v)) return v.map(shapeOf);
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shapeOf(x)]));
  return v;
}

/** Deterministic pseudo-random numbers (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Number texts a caller may send: plain ones (String(Number(t)) === t) and ones only the exact parse keeps.
const NUMBERS = ['0', '1', '-1', '12.5', '0.1', '1e21', '1e-7', '123456789', '-0.5', '118.00', '1E2', '-0', '1e400', '123456789012345678901234567890', '1.50', '0.10', '1.5e+10', '2e-3', '10.0', '9007199254740993', '5e-324', '1e+21'];
// Strings that look like numbers or hold escapes, quotes and backslashes: the scan must skip them.
const STRINGS = ['118.00', '"quoted" 1.50', 'back\\slash 1E2', 'tab\there', 'end\\', '\\"', 'ünïcødé 0.10', '-0', '{[1.0]}', ''];

function randomJson(next: () => number, depth: number): string {
  const r = next();
  if (depth > 3 || r < 0.35) return NUMBERS[Math.floor(next() * NUMBERS.length)]!;
  if (r < 0.55) return JSON.stringify(STRINGS[Math.floor(next() * STRINGS.length)]);
  if (r < 0.6) return ['true', 'false', 'null'][Math.floor(next() * 3)]!;
  const n = Math.floor(next() * 4);
  const space = next() < 0.3 ? ' \n' : '';
  if (r < 0.8) return `[${space}${Array.from({ length: n }, () => randomJson(next, depth + 1)).join(`,${space}`)}]`;
  return `{${space}${Array.from({ length: n }, (_, i) => `${JSON.stringify(STRINGS[i % STRINGS.length]! + i)}${space}:${space}${randomJson(next, depth + 1)}`).join(',')}}`;
}

describe('parseJsonInput with exact numbers (the plain-parse fast path)', () => {
  it('gives what the exact parse gives, on 5,000 generated texts', () => {
    const next = rng(20261203);
    let exactSeen = 0;
    for (let i = 0; i < 5_000; i++) {
      const text = `{"payload":${randomJson(next, 0)}}`;
      const fast = parseJsonInput(text, { exact: true, maxDepth: 65 });
      const exact = parseExactJson(text);
      expect(shapeOf(fast), text).toEqual(shapeOf(exact));
      expect(JSON.stringify(fast), text).toBe(JSON.stringify(exact));
      if (JSON.stringify(exact) !== JSON.stringify(JSON.parse(text))) exactSeen++;
    }
    // The generator really sends numbers that need the exact parse (else the test proves nothing).
    expect(exactSeen).toBeGreaterThan(500);
  });

  it('keeps each number that JSON.parse would change, wherever it is', () => {
    for (const n of ['118.00', '1E2', '-0', '1e400', '123456789012345678901234567890', '1.5e+10', '10.0']) {
      for (const text of [`{"a":${n}}`, `[1,2,${n}]`, `{"s":"x\\"1.00","a":[{"b":${n}}]}`, `{"a":12.5,"b":${n}}`]) {
        const out = JSON.stringify(parseJsonInput(text, { exact: true, maxDepth: 65 }));
        expect(out, text).toContain(n);
      }
    }
  });

  it('takes the plain parse when every number is plain, and refuses what it refused before', () => {
    expect(parseJsonInput('{"a":[1,-2,0.5,"118.00"]}', { exact: true, maxDepth: 65 })).toEqual({ a: [1, -2, 0.5, '118.00'] });
    expect(() => parseJsonInput('{"a":1.0', { exact: true, maxDepth: 65 })).toThrow(SyntaxError);
    expect(() => parseJsonInput('{"a":1', { exact: true, maxDepth: 65 })).toThrow(SyntaxError);
    expect(() => parseJsonInput('[[[[1.00]]]]', { exact: true, maxDepth: 3 })).toThrow(/nested deeper than 3/);
    expect(() => parseJsonInput('{"a":"\\u0000"}', { exact: true, maxDepth: 65 })).toThrow(/NUL/);
  });
});
