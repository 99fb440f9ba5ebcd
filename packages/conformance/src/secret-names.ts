/**
 * Property names that look like they hold a secret. Matched case-insensitively against the name
 * with `_`, `-` and spaces removed, as a substring: `api_token`, `clientSecret`, `DB_PASSWORD` and
 * `sftpPrivateKey` all match.
 */
export const SECRET_NAME_PARTS: readonly string[] = Object.freeze([
  'password',
  'passwd',
  'passphrase',
  'secret',
  'token',
  'apikey',
  'privatekey',
  'credential',
]);

// Substrings that contain a secret word but name something public.
const NOT_SECRET = ['tokenurl', 'tokenendpoint', 'secretname', 'passwordpolicy'];

/** True when a config property called `name` looks like it holds a secret and must be `writeOnly`. */
export function looksSecret(name: string): boolean {
  const n = name.toLowerCase().replace(/[\s_-]/g, '');
  if (NOT_SECRET.some((s) => n.includes(s))) return false;
  return SECRET_NAME_PARTS.some((part) => n.includes(part));
}
