/**
 * Finds the secret (`writeOnly: true`) parts of a config by walking its JSON Schema alongside the
 * value: properties, patternProperties, additionalProperties, prefixItems/items, allOf/anyOf/oneOf,
 * if/then/else and `$ref`s within the schema. Branches are combined conservatively: a value that
 * any applicable subschema marks writeOnly is a secret.
 */

type Schema = Record<string, unknown>;
type Json = unknown;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function escapePointer(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Resolves a `#…` JSON pointer ref inside the root schema; remote refs are not followed. */
function resolveRef(root: Schema, ref: string): Schema | undefined {
  if (!ref.startsWith('#')) return undefined;
  let node: unknown = root;
  const path = ref.slice(1);
  if (path === '') return root;
  if (!path.startsWith('/')) return undefined;
  for (const raw of path.slice(1).split('/')) {
    const token = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) node = node[Number(token)];
    else if (isObject(node)) node = node[token];
    else return undefined;
  }
  return isObject(node) ? node : undefined;
}

/** Every subschema that applies to the value at one location (the schema itself, its combinators and refs). */
function applicable(root: Schema, schema: unknown, out: Schema[] = [], seen = new Set<unknown>()): Schema[] {
  if (!isObject(schema) || seen.has(schema)) return out;
  seen.add(schema);
  out.push(schema);
  if (typeof schema.$ref === 'string') applicable(root, resolveRef(root, schema.$ref), out, seen);
  for (const key of ['allOf', 'anyOf', 'oneOf'] as const) {
    const list = schema[key];
    if (Array.isArray(list)) for (const sub of list) applicable(root, sub, out, seen);
  }
  for (const key of ['if', 'then', 'else'] as const) applicable(root, schema[key], out, seen);
  return out;
}

/** Subschemas for the property `key` of an object validated by `schemas`. */
function propertySchemas(schemas: Schema[], key: string): Schema[] {
  const result: unknown[] = [];
  for (const s of schemas) {
    let matched = false;
    if (isObject(s.properties) && Object.prototype.hasOwnProperty.call(s.properties, key)) {
      result.push(s.properties[key]);
      matched = true;
    }
    if (isObject(s.patternProperties)) {
      for (const [pattern, sub] of Object.entries(s.patternProperties)) {
        let re: RegExp | undefined;
        try {
          re = new RegExp(pattern, 'u');
        } catch {
          re = undefined;
        }
        if (re?.test(key)) {
          result.push(sub);
          matched = true;
        }
      }
    }
    if (!matched) {
      if (isObject(s.additionalProperties)) result.push(s.additionalProperties);
      if (isObject(s.unevaluatedProperties)) result.push(s.unevaluatedProperties);
    }
  }
  return result.filter(isObject);
}

/** Subschemas for item `index` of an array validated by `schemas` (2020-12 prefixItems/items, and draft-07 array-form items). */
function itemSchemas(schemas: Schema[], index: number): Schema[] {
  const result: unknown[] = [];
  for (const s of schemas) {
    const prefix = Array.isArray(s.prefixItems) ? s.prefixItems : Array.isArray(s.items) ? s.items : undefined;
    const rest = Array.isArray(s.items) ? s.additionalItems : s.items;
    if (prefix !== undefined && index < prefix.length) result.push(prefix[index]);
    else if (isObject(rest)) result.push(rest);
    if (isObject(s.contains)) result.push(s.contains);
  }
  return result.filter(isObject);
}

interface Visitor {
  /** Called for each secret value; the walk does not descend into it. */
  secret(value: Json, pointer: string): void;
}

function walk(root: Schema, value: Json, schemas: Schema[], pointer: string, visitor: Visitor): void {
  const all = schemas.flatMap((s) => applicable(root, s));
  if (all.some((s) => s.writeOnly === true)) {
    visitor.secret(value, pointer);
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((item, i) => walk(root, item, itemSchemas(all, i), `${pointer}/${i}`, visitor));
  } else if (isObject(value)) {
    for (const [key, child] of Object.entries(value)) {
      walk(root, child, propertySchemas(all, key), `${pointer}/${escapePointer(key)}`, visitor);
    }
  }
}

function stringsIn(value: Json, out: string[]): void {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const v of value) stringsIn(v, out);
  else if (isObject(value)) for (const v of Object.values(value)) stringsIn(v, out);
}

/**
 * Every non-empty string inside the writeOnly parts of `config`, at any depth (a writeOnly object
 * or array contributes all its strings). Use it to scrub log lines. Empty strings are left out.
 */
export function secretValuesOf(config: Json, schema: Schema): string[] {
  const out: string[] = [];
  walk(schema, config, [schema], '', { secret: (value) => stringsIn(value, out) });
  return [...new Set(out.filter((s) => s.length > 0))];
}

/** JSON pointers (RFC 6901) of the writeOnly fields of `config` that are set (present and not null). */
export function secretPointers(config: Json, schema: Schema): string[] {
  const out: string[] = [];
  walk(schema, config, [schema], '', {
    secret: (value, pointer) => {
      if (value !== null && value !== undefined) out.push(pointer);
    },
  });
  return out;
}

const OMIT = Symbol('omit');

/**
 * A deep copy of `config` without its writeOnly parts at any depth: writeOnly properties are
 * removed, writeOnly array items are dropped. What the API returns as `config`.
 */
export function omitWriteOnly<T>(config: T, schema: Schema): T {
  const result = transform(schema, config, [schema], () => OMIT);
  return (result === OMIT ? {} : result) as T;
}

/** A deep copy of `config` with every writeOnly value replaced by `replacement`. */
export function redactWriteOnly<T>(config: T, schema: Schema, replacement = '[redacted]'): T {
  return transform(schema, config, [schema], () => replacement) as T;
}

function transform(root: Schema, value: Json, schemas: Schema[], onSecret: (value: Json) => Json | typeof OMIT): Json | typeof OMIT {
  const all = schemas.flatMap((s) => applicable(root, s));
  if (all.some((s) => s.writeOnly === true)) return onSecret(value);
  if (Array.isArray(value)) {
    const items: Json[] = [];
    value.forEach((item, i) => {
      const next = transform(root, item, itemSchemas(all, i), onSecret);
      if (next !== OMIT) items.push(next);
    });
    return items;
  }
  if (isObject(value)) {
    const copy: Record<string, Json> = {};
    for (const [key, child] of Object.entries(value)) {
      const next = transform(root, child, propertySchemas(all, key), onSecret);
      if (next !== OMIT) copy[key] = next;
    }
    return copy;
  }
  return value;
}
