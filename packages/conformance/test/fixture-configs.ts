import { fileURLToPath } from 'node:url';
import type { ConformanceOptions } from '@erpc/conformance';

export const fixtureDir = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}/`, import.meta.url));

export const validConfig = { host: 'erp.example', username: 'alice', password: 'correct-horse-battery', api_token: 'tok-1234567890' };
export const unreachableConfig = { ...validConfig, host: 'erp.invalid' };
export const invalidConfigs = [{}, { host: 'erp.example' }, { ...validConfig, extra: true }, { ...validConfig, password: 'short' }];

/** The kit's options for a fixture; short timeouts keep the suite quick. */
export function fixtureOptions(name: string): ConformanceOptions {
  return {
    pluginDir: fixtureDir(name),
    validConfig: () => ({ ...validConfig }),
    invalidConfigs,
    unreachableConfig,
    timeouts: { operationMs: 3000, importMs: 5000, abortMs: 300 },
  };
}
