// Issue I: "no input reaches a 500". fast-check throws arbitrary JSON (and near-JSON) at every
// route that takes a body and asserts that nothing answers 5xx except 503 (try later). On the
// embedded database, where a run is fastest; FUZZ_RUNS overrides the 2,000 cases per route.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBackends } from '../support/db.js';
import { auth, createTestHost, type TestHost } from './test-host.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 2_000);
const backend = testBackends()[0]!;

/** Strings with what breaks naive code: NUL, lone surrogates, any code point, JSON-looking text. */
const nasty = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.constantFrom('', '\u0000', '\ud800', '\udfff', 'a\ud83d', '__proto__', 'constructor', 'MOCK', 'invoice', '00000000-0000-4000-8000-000000000000', '2026-01-01T00:00:00Z', 'x'.repeat(300)),
);
/** Number texts JSON allows that a double cannot carry exactly. */
const numberText = fc.oneof(
  fc.constantFrom('1e400', '-1e400', '-0', '118.00', '123456789012345678901234567890', '-0.000000000000000001', '1E-400', '0.1', '1e-7', '9007199254740993'),
  fc.double().filter(Number.isFinite).map((n) => JSON.stringify(n)),
  fc.bigInt().map(String),
);
/** JSON text of arbitrary values, with exotic number texts and strings spliced in. */
const jsonText: fc.Arbitrary<string> = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    numberText,
    nasty.map((s) => JSON.stringify(s)),
    fc.constantFrom('null', 'true', 'false'),
    fc.array(tie('value'), { maxLength: 4 }).map((items) => `[${items.join(',')}]`),
    fc.array(fc.tuple(nasty, tie('value')), { maxLength: 4 }).map((entries) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`),
  ),
})).value;
const objectText = fc.array(fc.tuple(nasty, jsonText), { maxLength: 5 }).map((entries) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`);
const deepText = fc.tuple(fc.integer({ min: 1, max: 3_000 }), fc.constantFrom('[', '{"a":')).map(([n, open]) => `${open.repeat(n)}1${(open === '[' ? ']' : '}').repeat(n)}`);

/** A body for `fields`: mostly well-shaped objects with arbitrary values, sometimes anything at all. */
function bodies(fields: Record<string, fc.Arbitrary<string>>, valid: fc.Arbitrary<string>): fc.Arbitrary<string> {
  const shaped = fc
    .record(Object.fromEntries(Object.entries(fields).map(([k, good]) => [k, fc.option(fc.oneof(good, jsonText, deepText), { nil: undefined })])), { requiredKeys: [] })
    .chain((rec) => fc.tuple(fc.constant(rec), fc.array(fc.tuple(nasty, jsonText), { maxLength: 2 })))
    .map(([rec, extra]) => {
      const entries = [...Object.entries(rec).filter(([, v]) => v !== undefined), ...extra];
      return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v as string}`).join(',')}}`;
    });
  return fc.oneof({ weight: 1, arbitrary: valid }, { weight: 6, arbitrary: shaped }, { weight: 2, arbitrary: jsonText }, { weight: 1, arbitrary: deepText }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) });
}

const q = (s: string) => fc.constant(JSON.stringify(s));

describe(`arbitrary bodies on every body route (${backend.name})`, () => {
  let host: TestHost;
  let apiKey: string;
  let connectionId: string;
  beforeAll(async () => {
    host = await createTestHost(backend);
    const org = await host.createOrg('Fuzz');
    apiKey = org.apiKey;
    const res = await host.app.inject({ method: 'POST', url: '/v1/connections', headers: auth(apiKey), payload: { connectorType: 'MOCK', name: 'm', config: {}, activate: true } });
    connectionId = res.json().id;
  });
  afterAll(async () => host.close());

  const uuid = fc.uuid();
  const routes: { method: 'POST' | 'PATCH'; name: string; url: () => string; fields: Record<string, fc.Arbitrary<string>>; valid: fc.Arbitrary<string> }[] = [
    { method: 'POST', name: '/v1/pushes', url: () => '/v1/pushes', fields: { documentType: q('invoice'), documentId: fc.oneof(fc.uuid().map((s) => JSON.stringify(s)), nasty.map((s) => JSON.stringify(s))), idempotencyKey: nasty.map((s) => JSON.stringify(s)), payload: fc.oneof(objectText, objectText, jsonText) }, valid: fc.tuple(uuid, objectText).map(([id, p]) => `{"documentType":"invoice","documentId":"${id}","payload":${p}}`) },
    { method: 'POST', name: '/v1/pushes/retry', url: () => '/v1/pushes/retry', fields: { code: q('MOCK_REJECTED'), connectionId: nasty.map((s) => JSON.stringify(s)), documentType: q('invoice'), deadAfter: q('2026-01-01T00:00:00Z'), deadBefore: nasty.map((s) => JSON.stringify(s)), dryRun: fc.constantFrom('true', 'false') }, valid: fc.constant('{"dryRun":true}') },
    { method: 'POST', name: '/v1/connections', url: () => '/v1/connections', fields: { connectorType: q('MOCK'), name: nasty.map((s) => JSON.stringify(s)), config: jsonText, activate: fc.constantFrom('false', 'true') }, valid: uuid.map((id) => `{"connectorType":"MOCK","name":"${id}","config":{}}`) },
    { method: 'PATCH', name: '/v1/connections/:id', url: () => `/v1/connections/${connectionId}`, fields: { name: nasty.map((s) => JSON.stringify(s)), config: jsonText }, valid: uuid.map((id) => `{"name":"${id}"}`) },
    { method: 'POST', name: '/v1/connector-types/:type/validate', url: () => '/v1/connector-types/MOCK/validate', fields: { config: jsonText }, valid: fc.constant('{"config":{}}') },
  ];

  for (const route of routes) {
    it(`${route.method} ${route.name}: ${RUNS} arbitrary bodies, no 5xx but 503`, async () => {
      const seen = new Map<number, number>();
      await fc.assert(
        fc.asyncProperty(bodies(route.fields, route.valid), async (body) => {
          const res = await host.app.inject({ method: route.method, url: route.url(), headers: { ...auth(apiKey), 'content-type': 'application/json' }, payload: body });
          seen.set(res.statusCode, (seen.get(res.statusCode) ?? 0) + 1);
          if (res.statusCode >= 500 && res.statusCode !== 503) throw new Error(`${res.statusCode} ${res.body}`);
        }),
        { numRuns: RUNS },
      );
      // Honest: the bodies reach past the parser (some accepted, some refused by the rules).
      expect([...seen.keys()].some((s) => s < 300), JSON.stringify([...seen])).toBe(true);
      expect(seen.get(422) ?? 0).toBeGreaterThan(0);
    }, 120_000);
  }
});
