import type { Clock } from '@erpc/sdk';
import type { Logger } from 'pino';
import type { OutcomeWriter } from './outcome-writer.js';
import type { BoundConnection } from './ports.js';
import type { PushRow } from './push-types.js';

/** A claimed push and the connection row read with it. */
export interface ClaimedPush {
  readonly row: PushRow;
  readonly connection: BoundConnection | undefined;
}

/** How long claiming ahead pauses after prefetched pushes had to be released unstarted. */
const PAUSE_MS = 30_000;

/** Settings of a {@link ClaimAheadQueue}. Durations in milliseconds, instants from performance.now(). */
export interface ClaimAheadOptions {
  /** Most pushes claimed ahead of a free slot; 0 turns claiming ahead off. */
  readonly depth: number;
  /** Longest a push may wait for a slot, counted from before its claim (its lease's start). */
  readonly maxWaitMs: number;
  readonly writer: OutcomeWriter;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly workerId: string;
}

/**
 * Pushes claimed, leased and not started yet, started in claim order as slots free up, so a
 * finished delivery starts the next one at once instead of waiting for a claim round trip
 * (ADR 0017). A push waits at most `maxWaitMs`, else it is released unstarted; claiming ahead
 * then pauses for a while (deliveries are slower than the bound: claiming and releasing again
 * would only churn) and the worker claims for free slots only.
 */
export class ClaimAheadQueue {
  readonly #options: ClaimAheadOptions;
  #ready: { push: ClaimedPush; claimedAt: number }[] = [];
  #pausedUntil = 0;

  constructor(options: ClaimAheadOptions) {
    this.#options = options;
  }

  /** Pushes waiting for a slot. */
  get size(): number {
    return this.#ready.length;
  }

  /** Whether this worker claims ahead at all. */
  get enabled(): boolean {
    return this.#options.depth > 0;
  }

  /** How many pushes may wait here at `now`: 0 while paused. */
  depthAt(now: number): number {
    return now < this.#pausedUntil ? 0 : this.#options.depth;
  }

  /** Queues a push claimed at `claimedAt` (taken before the claim, like its lease). */
  add(push: ClaimedPush, claimedAt: number): void {
    this.#ready.push({ push, claimedAt });
  }

  /** The next push in claim order, if any. */
  take(): ClaimedPush | undefined {
    return this.#ready.shift()?.push;
  }

  /** Releases the pushes that waited longer than the bound, and then pauses claiming ahead. */
  expire(now: number): void {
    let stale = 0;
    while (stale < this.#ready.length && now - this.#ready[stale]!.claimedAt > this.#options.maxWaitMs) stale++;
    if (stale === 0) return;
    this.#options.logger.info({ workerId: this.#options.workerId, count: stale }, 'released prefetched pushes that waited too long for a free slot');
    this.#release(stale);
    this.#pausedUntil = now + PAUSE_MS;
  }

  /** Releases every waiting push (on stop). */
  releaseAll(): void {
    this.#release(this.#ready.length);
  }

  #release(count: number): void {
    if (count <= 0) return;
    const released = this.#ready.splice(0, count);
    this.#options.writer.release(released.map((r) => r.push.row), this.#options.clock.now());
  }
}
