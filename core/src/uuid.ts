const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * True for a UUID in its canonical textual form. Ids from the outside (URLs, cursors, CLI
 * arguments) are checked with it before they reach a uuid column: comparing one with another
 * string is an SQL error, so such an id simply matches nothing.
 */
export function isUuid(id: string): boolean {
  return UUID.test(id);
}
