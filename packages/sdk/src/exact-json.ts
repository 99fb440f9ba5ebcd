/**
 * Exact numbers in documents (ADR 0027). A payload reaches `push` with every number that a
 * JavaScript number carries exactly (value and digits: `String(n)` is the text that was sent) as a
 * plain `number`, and every other number (`118.00`, `1E2`, `-0`, a 30-digit integer, `1e400`) as a
 * raw JSON value: a frozen object made by `JSON.rawJSON(text)` that holds the number's exact text.
 * `JSON.stringify` writes a raw JSON value as its text, so a connector that serialises the payload
 * with `JSON.stringify` writes every number with exactly the digits it was sent with.
 *
 * The helpers below read such values without depending on the runtime's `JSON.isRawJSON` typings.
 */

/** A number carried as its exact JSON text (what `JSON.rawJSON(text)` returns). */
export interface RawJsonNumber {
  /** The number exactly as it was sent, e.g. `"118.00"` or `"123456789012345678901234567890"`. */
  readonly rawJSON: string;
}

interface JsonWithRaw {
  rawJSON(text: string): RawJsonNumber;
  isRawJSON(value: unknown): value is RawJsonNumber;
  parse(text: string, reviver: (this: unknown, key: string, value: unknown, context: { source?: string }) => unknown): unknown;
}
const RAW_JSON = JSON as unknown as JsonWithRaw;

/** True when `value` is a number carried as its exact text (see {@link RawJsonNumber}). */
export function isRawJsonNumber(value: unknown): value is RawJsonNumber {
  return typeof value === 'object' && value !== null && RAW_JSON.isRawJSON(value);
}

/**
 * The exact JSON text of a payload number: the raw text of a {@link RawJsonNumber}, or
 * `String(value)` of a plain number (which then is exactly what was sent). Undefined for
 * anything else.
 */
export function numberText(value: unknown): string | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : undefined;
  return isRawJsonNumber(value) ? value.rawJSON : undefined;
}

/**
 * A payload number as a JavaScript number, for arithmetic where rounding to the nearest double
 * is acceptable (`118.00` → 118; a 30-digit integer → its nearest double; `1e400` → Infinity).
 * Prefer {@link numberText} (or a decimal library) for amounts.
 */
export function numberValue(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  return isRawJsonNumber(value) ? Number(value.rawJSON) : undefined;
}

/**
 * Parses JSON text the way hosts hand payloads to connectors: numbers whose text `String(n)`
 * reproduces stay plain numbers, every other number becomes a {@link RawJsonNumber} with its
 * exact text. `JSON.stringify(parseExactJson(text))` therefore keeps every number's digits.
 * Throws `SyntaxError` like `JSON.parse`.
 */
export function parseExactJson(text: string): unknown {
  return RAW_JSON.parse(text, exactNumberReviver);
}

function exactNumberReviver(_key: string, value: unknown, context: { source?: string }): unknown {
  if (typeof value !== 'number') return value;
  const source = context.source;
  return source === undefined || String(value) === source ? value : RAW_JSON.rawJSON(source);
}
