import type { Env } from './types.js';

/**
 * The process environment. This is the one place of core/src that reads `process.env`: every
 * setting goes through `loadHostConfig`, and the rest of the host receives a HostConfig.
 */
export function processEnv(): Env {
  return process.env;
}

/**
 * In a sandbox process: whether its host passed the thread pool's size, the one variable a
 * sandbox's environment may hold (ADR 0041).
 */
export function sandboxThreadPoolVariableSet(): boolean {
  return process.env.UV_THREADPOOL_SIZE !== undefined;
}

/** In a sandbox process, once libuv's pool has started: the environment left empty for plugin code. */
export function clearSandboxEnvironment(): void {
  delete process.env.UV_THREADPOOL_SIZE;
}
