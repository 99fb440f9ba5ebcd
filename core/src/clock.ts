import type { Clock } from '@erpc/sdk';

/** The wall clock. Tests register their own Clock through createContainer's overrides. */
export const systemClock: Clock = Object.freeze({ now: () => new Date() });
