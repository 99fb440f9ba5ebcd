/**
 * The PATCH rule for connection configs (docs/adr, "PATCH secret-merge rule"): the patch is a JSON
 * Merge Patch (RFC 7396) applied to the stored config. Objects merge recursively, `null` removes
 * a member, any other value (arrays included) replaces. So a field the client leaves out — in
 * particular a writeOnly secret it never sees in GET — keeps its stored value.
 */
export function mergeConfigPatch(stored: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return patch;
  const base: Record<string, unknown> = isPlainObject(stored) ? { ...stored } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete base[key];
    else base[key] = mergeConfigPatch(base[key], value);
  }
  return base;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
