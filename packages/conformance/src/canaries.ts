import { randomBytes } from 'node:crypto';
import { cloneJson } from './harness.js';

type Schema = Record<string, unknown>;

/** A `writeOnly` field of a config schema: its path in the config and its own schema. */
export interface WriteOnlyField {
  path: string[];
  schema: Schema;
}

function isObject(v: unknown): v is Schema {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function typeIs(schema: Schema, type: string): boolean {
  const t = schema.type;
  return t === type || (Array.isArray(t) && t.includes(type));
}

/**
 * The string fields a config schema marks secret: every `writeOnly` property of type string, and
 * every string property nested in a `writeOnly` object. Follows `properties` (not `oneOf`/`$ref`).
 */
export function writeOnlyStringFields(schema: Schema, prefix: string[] = [], inheritedSecret = false): WriteOnlyField[] {
  const out: WriteOnlyField[] = [];
  const props = schema.properties;
  if (!isObject(props)) return out;
  for (const [name, sub] of Object.entries(props)) {
    if (!isObject(sub)) continue;
    const secret = inheritedSecret || sub.writeOnly === true;
    const p = [...prefix, name];
    if (typeIs(sub, 'object') || isObject(sub.properties)) out.push(...writeOnlyStringFields(sub, p, secret));
    else if (secret && (typeIs(sub, 'string') || sub.type === undefined) && sub.enum === undefined && sub.const === undefined) {
      out.push({ path: p, schema: sub });
    }
  }
  return out;
}

/** A unique canary value that satisfies the field's `minLength`/`maxLength`/`format`/`pattern`, or undefined. */
export function canaryFor(field: WriteOnlyField): string | undefined {
  const hex = randomBytes(8).toString('hex');
  const { minLength, maxLength, format, pattern } = field.schema as { minLength?: number; maxLength?: number; format?: string; pattern?: string };
  let candidates: string[];
  if (format === 'email') candidates = [`canary${hex}@example.com`];
  else if (format === 'uri' || format === 'url') candidates = [`https://canary${hex}.example/`];
  else if (format === 'uuid') {
    const h = randomBytes(16).toString('hex');
    candidates = [`${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`];
  } else candidates = [`erpc-canary-${hex}`, `ErpcCanary${hex}`, `${hex}${hex}`, hex.toUpperCase(), `${hex}`];
  const re = typeof pattern === 'string' ? safeRegExp(pattern) : undefined;
  for (let c of candidates) {
    if (typeof minLength === 'number' && c.length < minLength) c = c + 'x'.repeat(minLength - c.length);
    if (typeof maxLength === 'number' && c.length > maxLength) {
      if (maxLength < 12) continue; // too short to be unique; leave the field alone
      c = c.slice(c.length - maxLength);
    }
    if (re && !re.test(c)) continue;
    return c;
  }
  return undefined;
}

function safeRegExp(pattern: string): RegExp | undefined {
  try {
    return new RegExp(pattern, 'u');
  } catch {
    return undefined;
  }
}

function setPath(target: Schema, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    if (!isObject(node[key])) node[key] = {};
    node = node[key] as Schema;
  }
  node[path[path.length - 1]!] = value;
}

function hasPath(target: Schema, path: string[]): boolean {
  let node: unknown = target;
  for (const key of path) {
    if (!isObject(node) || !(key in node)) return false;
    node = node[key];
  }
  return true;
}

/** A config with canaries in its secret fields, and the canaries (field path → value). */
export interface CanariedConfig {
  config: Record<string, unknown>;
  canaries: Map<string, string>;
}

/**
 * Puts a fresh canary into every secret field of `config`. With `onlyPresent`, only fields the
 * config already has (a schema may forbid combinations of optional ones).
 */
export function plantCanaries(config: Record<string, unknown>, fields: WriteOnlyField[], onlyPresent: boolean): CanariedConfig {
  const copy = cloneJson(config);
  const canaries = new Map<string, string>();
  for (const field of fields) {
    if (onlyPresent && !hasPath(copy, field.path)) continue;
    const canary = canaryFor(field);
    if (canary === undefined) continue;
    setPath(copy, field.path, canary);
    canaries.set(field.path.join('.'), canary);
  }
  return { config: copy, canaries };
}
