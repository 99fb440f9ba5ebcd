import { DEFINITION_BY_NAME, SETTING_DEFINITIONS } from './definitions.js';
import { processEnv } from './process-env.js';
import type { Env } from './types.js';

const PREFIX = 'ERPC_';

/**
 * Environment variables that look like settings but are none, each with the closest real one:
 * every `ERPC_*` variable that is not a setting (`erpc_*` too), and an un-prefixed name
 * whose `ERPC_` form is a setting (`LOG_LEVEL` for `ERPC_LOG_LEVEL`). Real settings and
 * unrelated variables (`PATH`, `TEST_DATABASE_URL`…) are never named.
 */
export function unknownSettings(env: Env = processEnv()): { name: string; suggestion: string }[] {
  const found: { name: string; suggestion: string }[] = [];
  for (const name of Object.keys(env).sort()) {
    if (env[name] === undefined || DEFINITION_BY_NAME.has(name)) continue;
    const upper = name.toUpperCase();
    if (DEFINITION_BY_NAME.has(PREFIX + name)) found.push({ name, suggestion: PREFIX + name });
    else if (upper.startsWith(PREFIX)) found.push({ name, suggestion: closestSetting(upper) });
  }
  return found;
}

/** Logs one warning per {@link unknownSettings} entry: `X is not an erpc setting; did you mean Y?`. */
export function warnUnknownSettings(env: Env, warn: (obj: Record<string, unknown>, msg: string) => void): void {
  for (const { name, suggestion } of unknownSettings(env)) {
    warn({ setting: name, suggestion }, unknownSettingMessage(name, suggestion));
  }
}

/** The text of the warning about `name`. */
export function unknownSettingMessage(name: string, suggestion: string): string {
  return `${name} is not an erpc setting; did you mean ${suggestion}?`;
}

/** The setting whose name is closest to `name`; a real setting that only gained the `ERPC_` prefix (PORT, HOST) first. */
function closestSetting(name: string): string {
  const bare = name.slice(PREFIX.length);
  if (DEFINITION_BY_NAME.has(bare)) return bare;
  let best = SETTING_DEFINITIONS[0]!.name;
  let bestDistance = Infinity;
  for (const { name: candidate } of SETTING_DEFINITIONS) {
    const distance = editDistance(name, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Levenshtein distance (insertions, deletions and substitutions of one character each cost 1). */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
