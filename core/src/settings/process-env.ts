import type { Env } from './types.js';

/**
 * The process environment. This is the one place of core/src that reads `process.env`: every
 * setting goes through `loadHostConfig`, and the rest of the host receives a HostConfig.
 */
export function processEnv(): Env {
  return process.env;
}
