import { isRawJsonNumber, parseExactJson } from '@erpc/sdk';
import { ErpcError } from '../errors/index.js';

/**
 * Refusing at the door what can never be delivered (issue I): JSON nested deeper than the limit,
 * strings or keys holding NUL or an unpaired surrogate, and values JSON cannot carry (non-finite
 * numbers, functions, class instances…) from library callers. Every refusal is a 422
 * ERPC_ERR_INPUT_REFUSED naming the JSON Pointer of the offending place, never its value.
 */

/** Where a JSON value cannot be accepted, and why (the reason never quotes the value). */
export interface JsonProblem {
  path: string;
  reason: string;
}

/** The default of ERPC_PAYLOAD_MAX_DEPTH: nesting levels of a payload or a config. */
export const DEFAULT_MAX_JSON_DEPTH = 64;

/** JSON Pointer escaping of one reference token (RFC 6901). */
export function pointerToken(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Why a string or key is refused, or undefined when it is fine. */
export function stringProblem(s: string): string | undefined {
  if (s.includes('\u0000')) return 'holds a NUL character (U+0000)';
  if (!(s as unknown as { isWellFormed(): boolean }).isWellFormed()) return 'holds an unpaired UTF-16 surrogate';
  return undefined;
}

/** A 422 for `problem`. */
export function inputRefused(problem: JsonProblem): ErpcError {
  return new ErpcError('ERPC_ERR_INPUT_REFUSED', { path: problem.path === '' ? '/' : problem.path, reason: problem.reason }, { details: { path: problem.path, reason: problem.reason } });
}

/** The deepest ERPC_PAYLOAD_MAX_DEPTH accepted: the check recurses, one frame per level. */
export const MAX_JSON_DEPTH_LIMIT = 1_000;

/**
 * The first problem of `value` (depth counted from 1 at `value` itself), or undefined. Recursive
 * but bounded: it never descends below `maxDepth` (at most {@link MAX_JSON_DEPTH_LIMIT}), so a value
 * nested 100,000 levels is reported rather than overflowing the stack. The path is built only for
 * a problem, while unwinding (the happy path allocates nothing).
 */
export function findJsonProblem(value: unknown, maxDepth: number, basePath = ''): JsonProblem | undefined {
  const tokens: string[] = [];
  const reason = problemOf(value, 1, Math.min(maxDepth, MAX_JSON_DEPTH_LIMIT), tokens, true);
  if (reason === undefined) return undefined;
  let path = basePath;
  for (let i = tokens.length - 1; i >= 0; i--) path += `/${pointerToken(tokens[i]!)}`;
  return { path, reason };
}

function problemOf(v: unknown, depth: number, maxDepth: number, tokens: string[], root: boolean): string | undefined {
  switch (typeof v) {
    case 'string': {
      const reason = stringProblem(v);
      return reason === undefined ? undefined : `the string ${reason}`;
    }
    case 'number':
      return Number.isFinite(v) ? undefined : 'the number is not finite; JSON cannot carry it';
    case 'boolean':
      return undefined;
    case 'object': {
      if (v === null || isRawJsonNumber(v)) return undefined;
      if (depth > maxDepth) return `the value is nested deeper than ${maxDepth} levels`;
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) {
          const item: unknown = v[i];
          const reason = item === undefined ? 'the array holds undefined; JSON cannot carry it' : problemOf(item, depth + 1, maxDepth, tokens, false);
          if (reason !== undefined) return (tokens.push(String(i)), reason);
        }
        return undefined;
      }
      const proto = Object.getPrototypeOf(v) as unknown;
      if (proto !== Object.prototype && proto !== null) return 'the value is not a plain JSON object';
      for (const key in v) {
        if (!Object.prototype.hasOwnProperty.call(v, key)) continue;
        const keyReason = stringProblem(key);
        if (keyReason !== undefined) return (tokens.push(key), `the key ${keyReason}`);
        if (key === '__proto__') return (tokens.push(key), 'the key __proto__ is not accepted');
        const item = (v as Record<string, unknown>)[key];
        if (item === undefined) continue;
        const reason = problemOf(item, depth + 1, maxDepth, tokens, false);
        if (reason !== undefined) return (tokens.push(key), reason);
      }
      return undefined;
    }
    default:
      return v === undefined && root ? 'no value' : `a ${typeof v} is not a JSON value`;
  }
}

/** {@link scanJsonText}: the text nests deeper than the limit. */
const TOO_DEEP = 1;
/** {@link scanJsonText}: some number's text is not what `JSON.parse` would print back. */
const NUMBER_NOT_PLAIN = 2;

/**
 * One string-aware pass over JSON text, no parse: TOO_DEEP when arrays/objects nest deeper than
 * `maxDepth` (the scan stops there); with `numbers`, NUMBER_NOT_PLAIN when some number token is not
 * plain, i.e. `String(Number(token)) !== token` (`118.00`, `1E2`, `-0`, 30 digits): exactly the
 * numbers the exact parse turns into raw JSON values. 0 when neither. Text that is not JSON gets
 * some answer; the parse that follows throws for it either way.
 */
function scanJsonText(text: string, maxDepth: number, numbers: boolean): number {
  let depth = 0;
  let found = 0;
  let inString = false;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > maxDepth) return TOO_DEEP;
    } else if (c === 0x7d || c === 0x5d) depth--;
    else if (numbers && found === 0 && (c === 0x2d || (c >= 0x30 && c <= 0x39))) {
      // A number token: digits, '.', 'e'/'E', signs. Outside strings nothing else starts with these.
      let j = i + 1;
      for (; j < n; j++) {
        const d = text.charCodeAt(j);
        if (!((d >= 0x30 && d <= 0x39) || d === 0x2e || d === 0x65 || d === 0x45 || d === 0x2b || d === 0x2d)) break;
      }
      const token = text.slice(i, j);
      if (String(Number(token)) !== token) found = NUMBER_NOT_PLAIN;
      i = j - 1;
    }
  }
  return found;
}

/**
 * Parses a request body or file: `exact` keeps every number's digits (see `parseExactJson` of
 * @erpc/sdk); strings and keys are checked everywhere, and the depth up to `maxDepth`. Throws
 * SyntaxError for text that is not JSON, and ERPC_ERR_INPUT_REFUSED for JSON that is refused.
 */
export function parseJsonInput(text: string, options: { exact: boolean; maxDepth: number }): unknown {
  const scan = scanJsonText(text, options.maxDepth, options.exact);
  if (scan === TOO_DEEP) {
    // JSON.parse itself is iterative; only to find the path. A reviver would recurse.
    const problem = findJsonProblem(JSON.parse(text), options.maxDepth);
    throw inputRefused(problem ?? { path: '', reason: `the value is nested deeper than ${options.maxDepth} levels` });
  }
  // Every number plain: JSON.parse gives what the exact parse would, several times quicker.
  const value = scan === NUMBER_NOT_PLAIN ? parseExactJson(text) : JSON.parse(text);
  const problem = findJsonProblem(value, options.maxDepth);
  if (problem !== undefined) throw inputRefused(problem);
  return value;
}
