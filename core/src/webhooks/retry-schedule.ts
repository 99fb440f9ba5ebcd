/**
 * When a failed webhook is tried again: after each delay of the schedule in turn, then never
 * (the delivery fails for good). The default follows the Standard Webhooks / Svix schedule
 * (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: about 27.6 h from the first attempt to the last),
 * so a receiver that is down for a day still gets every event. A `Retry-After` answer replaces
 * the delay of that one retry, at most {@link MAX_RETRY_AFTER_MS}.
 */
export const DEFAULT_WEBHOOK_RETRY_SCHEDULE_MS: readonly number[] = [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000];

/** The longest wait a receiver's Retry-After can ask for. */
export const MAX_RETRY_AFTER_MS = 24 * 3_600_000;

export class WebhookRetrySchedule {
  readonly delaysMs: readonly number[];

  constructor(delaysMs: readonly number[] = DEFAULT_WEBHOOK_RETRY_SCHEDULE_MS) {
    if (delaysMs.some((d) => !Number.isFinite(d) || d < 0)) throw new RangeError('retry delays must be 0 or more milliseconds');
    this.delaysMs = [...delaysMs];
  }

  /** The delay after failed attempt number `attempts` (1-based), or undefined when that was the last. */
  delayAfter(attempts: number, retryAfterMs?: number): number | undefined {
    const scheduled = this.delaysMs[attempts - 1];
    if (scheduled === undefined) return undefined;
    return retryAfterMs === undefined ? scheduled : Math.min(Math.max(0, retryAfterMs), MAX_RETRY_AFTER_MS);
  }

  /** Attempts in total, the first included. */
  get maxAttempts(): number {
    return this.delaysMs.length + 1;
  }
}
