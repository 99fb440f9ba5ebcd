#!/usr/bin/env node
// pnpm bench:exact-json — what exact numbers cost per document (ADR 0027), on the bench's
// 1.2 kB invoice: JSON.parse alone, the exact parse (a reviver with source text), the stored-text
// read (plain parse + stringify check, exact parse only when a number needs it), and the checks at
// the door (findJsonProblem). Prints µs per document and ratios to JSON.parse. Needs `pnpm build`.
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const here = fileURLToPath(new URL('.', import.meta.url));
const { parseExactJson } = await import(pathToFileURL(join(here, '../../packages/sdk/dist/index.js')).href);
const { findJsonProblem } = await import(pathToFileURL(join(here, '../../core/dist/input/json-input.js')).href);

const N = Number(process.env.BENCH_N ?? 20_000);
const lines = Array.from({ length: 20 }, (_, i) => ({ sku: `SKU-${i}`, qty: i + 1, price: 12.5 + i, description: `item number ${i}` }));
const plainDoc = JSON.stringify({ invoice: { number: 'INV-1', lines, total: 1234.56, currency: 'EUR' } });
const exactDoc = plainDoc.replace('"total":1234.56', '"total":1234.560').replace('"price":12.5,', '"price":12.50,');

function time(label, fn) {
  for (let i = 0; i < 2_000; i++) fn();
  const t0 = performance.now();
  for (let i = 0; i < N; i++) fn();
  const us = ((performance.now() - t0) * 1000) / N;
  return { label, us };
}
const stored = (text) => {
  const plain = JSON.parse(text);
  return JSON.stringify(plain) === text ? plain : parseExactJson(text);
};
const rows = [
  time('JSON.parse (before)', () => JSON.parse(plainDoc)),
  time('exact parse (API body, reviver)', () => parseExactJson(plainDoc)),
  time('stored read, plain numbers (parse + stringify check)', () => stored(plainDoc)),
  time('stored read, 118.00-style numbers (falls back to exact)', () => stored(exactDoc)),
  time('checks at the door (depth, NUL, surrogates)', () => findJsonProblem(JSON.parse(plainDoc), 64)),
];
const base = rows[0].us;
console.log(`exact numbers, ${plainDoc.length}-byte document, ${N} runs, Node ${process.version}`);
for (const r of rows) console.log(`  ${r.label.padEnd(58)} ${r.us.toFixed(1).padStart(7)} µs  ×${(r.us / base).toFixed(2)}`);
