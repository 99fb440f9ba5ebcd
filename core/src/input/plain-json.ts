/**
 * Parsed JSON values known to hold no raw JSON number (ADR 0027): `JSON.parse` of their
 * `JSON.stringify` gives them back, digits and all. The push repository marks a stored payload
 * when its plain parse printed back to the stored text; the sandbox supervisor then sends the
 * document inside the call's line instead of as a second JSON text to parse again (ADR 0048).
 * A WeakSet: nothing is kept alive by it, and an unmarked value is simply treated as possibly exact.
 */
const PLAIN = new WeakSet<object>();

/** Marks `value` (an object or array from `JSON.parse`) as holding no raw JSON number. */
export function markPlainJson<T>(value: T): T {
  if (typeof value === 'object' && value !== null) PLAIN.add(value);
  return value;
}

/** Whether `value` was marked by {@link markPlainJson}. */
export function isPlainJson(value: unknown): boolean {
  return typeof value === 'object' && value !== null && PLAIN.has(value);
}
