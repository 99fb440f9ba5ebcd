import { looksSecret } from '../secret-names.js';
import { validConfig, type Session } from '../session.js';
import type { CheckResult } from '../types.js';
import { fail, pass, skip } from './result.js';

type Schema = Record<string, unknown>;
const isObject = (v: unknown): v is Schema => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every `default` in the schema with its own subschema and where it sits. */
function defaults(schema: Schema, at: string): { at: string; schema: Schema; value: unknown }[] {
  const out: { at: string; schema: Schema; value: unknown }[] = [];
  if ('default' in schema) out.push({ at: at || '(root)', schema, value: schema.default });
  if (isObject(schema.properties)) {
    for (const [k, sub] of Object.entries(schema.properties)) if (isObject(sub)) out.push(...defaults(sub, at ? `${at}.${k}` : k));
  }
  if (isObject(schema.items)) out.push(...defaults(schema.items, `${at}[]`));
  return out;
}

// A flag, a number or an enumeration cannot hold a secret, whatever its name (`echoSecret: boolean`).
function canHoldSecret(sub: Schema): boolean {
  if (sub.enum !== undefined || sub.const !== undefined) return false;
  const types = sub.type === undefined ? ['string'] : Array.isArray(sub.type) ? sub.type : [sub.type];
  return types.some((t) => t === 'string' || t === 'object' || t === 'array');
}

/** Property names that look secret but are not `writeOnly` (and not inside a `writeOnly` object). */
function unmarkedSecrets(schema: Schema, at: string, insideSecret: boolean): string[] {
  const out: string[] = [];
  const visit = (sub: Schema, p: string, inherited: boolean) => out.push(...unmarkedSecrets(sub, p, inherited));
  if (isObject(schema.properties)) {
    for (const [k, sub] of Object.entries(schema.properties)) {
      if (!isObject(sub)) continue;
      const p = at ? `${at}.${k}` : k;
      const secret = insideSecret || sub.writeOnly === true;
      if (!secret && looksSecret(k) && canHoldSecret(sub)) out.push(p);
      visit(sub, p, secret);
    }
  }
  for (const key of ['items', 'additionalProperties']) if (isObject(schema[key])) visit(schema[key] as Schema, `${at}[]`, insideSecret);
  for (const key of ['oneOf', 'anyOf', 'allOf']) {
    const list = schema[key];
    if (Array.isArray(list)) for (const sub of list) if (isObject(sub)) visit(sub, at, insideSecret);
  }
  for (const key of ['$defs', 'definitions']) {
    const defs = schema[key];
    if (isObject(defs)) for (const [name, sub] of Object.entries(defs)) if (isObject(sub)) visit(sub, `$defs.${name}`, insideSecret);
  }
  return out;
}

/** config-schema.*: strict compile, valid/invalid configs, defaults, secrets marked writeOnly. */
export async function configSchemaChecks(s: Session): Promise<CheckResult[]> {
  const f = s.files;
  const ids = ['config-schema.compiles', 'config-schema.valid-config', 'config-schema.invalid-configs', 'config-schema.defaults', 'config-schema.secrets-write-only'];
  if (!f.configSchemaPath) return ids.map((id) => skip(id, 'needs a manifest whose configSchema is inside the plugin folder'));
  if (!f.configSchema) return [fail(ids[0]!, f.configSchemaError ?? 'unreadable'), ...ids.slice(1).map((id) => skip(id, 'needs a readable config schema'))];
  const schema = f.configSchema;
  const out: CheckResult[] = [];
  try {
    s.validate = s.ajv.compile(schema);
    out.push(pass('config-schema.compiles'));
  } catch (err) {
    out.push(fail('config-schema.compiles', `Ajv (draft 2020-12, strict) rejects the schema: ${(err as Error).message}`));
  }
  const validate = s.validate;
  if (!validate) {
    out.push(...ids.slice(1, 4).map((id) => skip(id, 'needs a config schema that compiles')));
  } else {
    try {
      const config = await validConfig(s);
      out.push(validate(config) ? pass('config-schema.valid-config') : fail('config-schema.valid-config', `the valid config is rejected: ${s.ajv.errorsText(validate.errors)}`));
    } catch (err) {
      out.push(fail('config-schema.valid-config', `the validConfig factory threw: ${(err as Error).message}`));
    }
    const invalid = s.options.invalidConfigs ?? [];
    if (invalid.length === 0) out.push(skip('config-schema.invalid-configs', 'no invalid configs given (--invalid-config)'));
    else {
      const accepted = invalid.map((c, i) => (validate(c) ? i : -1)).filter((i) => i >= 0);
      out.push(
        accepted.length
          ? fail('config-schema.invalid-configs', `the schema accepts invalid config(s) #${accepted.map((i) => i + 1).join(', #')} of ${invalid.length}; tighten it (required, additionalProperties: false, formats)`)
          : pass('config-schema.invalid-configs', `${invalid.length} rejected`),
      );
    }
    const bad: string[] = [];
    for (const d of defaults(schema, '')) {
      try {
        const sub = { ...d.schema };
        delete sub.default;
        delete sub.$schema;
        const v = s.ajv.compile(sub);
        if (!v(d.value)) bad.push(`${d.at}: ${s.ajv.errorsText(v.errors)}`);
      } catch {
        // A subschema that does not compile alone (a $ref): it was checked as part of the whole.
      }
    }
    out.push(bad.length ? fail('config-schema.defaults', `defaults that do not validate against their own schema: ${bad.join('; ')}`) : pass('config-schema.defaults'));
  }
  const unmarked = unmarkedSecrets(schema, '', false);
  out.push(
    unmarked.length
      ? fail('config-schema.secrets-write-only', `properties that look secret are not marked "writeOnly": true: ${unmarked.join(', ')}`)
      : pass('config-schema.secrets-write-only'),
  );
  return out;
}
