import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Wakeup } from '../../src/push/wakeup.js';

/** Whether `promise` has settled once pending callbacks ran (fake timers do not move by themselves). */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true));
  await vi.advanceTimersByTimeAsync(0);
  return done;
}

describe('Wakeup', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('a wait ends after its time, or at once when woken', async () => {
    const wakeup = new Wakeup();
    const timed = wakeup.wait(1_000);
    expect(await settled(timed)).toBe(false);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await settled(timed)).toBe(true);

    const woken = wakeup.wait(60_000);
    expect(await settled(woken)).toBe(false);
    wakeup.wake();
    expect(await settled(woken)).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a wake while nobody waits is not lost: the next wait returns at once, and only that one', async () => {
    const wakeup = new Wakeup();
    wakeup.wake();
    wakeup.wake();
    expect(await settled(wakeup.wait(60_000))).toBe(true);
    expect(await settled(wakeup.wait(60_000))).toBe(false);
  });

  it('a wake consumed by a wait does not also end the next one', async () => {
    const wakeup = new Wakeup();
    const first = wakeup.wait(60_000);
    wakeup.wake();
    expect(await settled(first)).toBe(true);
    expect(await settled(wakeup.wait(60_000))).toBe(false);
  });
});
