import { SETTING_DEFINITIONS } from './definitions.js';
import { sourcesOf } from './load-host-config.js';
import type { Env, HostConfig, SettingSource } from './types.js';

/** One effective setting as `erpc config check` shows it. */
export interface DescribedSetting {
  name: string;
  /** The effective value; a secret is `set` or `unset`, never its value; null: unset, no default. */
  value: string | number | boolean | string[] | null;
  source: SettingSource;
  secret: boolean;
}

/**
 * The effective value and source of every setting, in documentation order. Secrets (the
 * database URL included) are the strings `set` / `unset`. Sources come from the load that
 * produced `config`; for a config built by hand, a variable set in `env` counts as `env`.
 */
export function describeSettings(config: HostConfig, env?: Env): DescribedSetting[] {
  const sources = sourcesOf(config);
  return SETTING_DEFINITIONS.map((def) => {
    const value = def.read(config);
    const source = sources?.get(def.name) ?? ((env?.[def.name] ?? '').trim() !== '' ? 'env' : 'default');
    if (def.secret) return { name: def.name, value: value === undefined ? 'unset' : 'set', source, secret: true };
    return { name: def.name, value: value === undefined ? null : typeof value === 'object' ? [...value] : value, source, secret: false };
  });
}
