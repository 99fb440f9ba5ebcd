/** How failed deliveries are retried. Every field is configurable (see `retryPolicyFromEnv`). */
export interface RetryPolicyOptions {
  /** Delay before the 2nd attempt, in ms. */
  baseMs: number;
  /** Each further delay is multiplied by this. */
  factor: number;
  /** No delay is longer than this, in ms. */
  capMs: number;
  /** Attempts in total (the first delivery included); the next failure makes the push DEAD. */
  maxAttempts: number;
  /**
   * Fraction of each delay that is randomised (0 = none, 1 = "full jitter"). The default 0.5
   * ("equal jitter") spreads a burst of failures over half the window while still guaranteeing
   * at least half the nominal delay, so an ERP that is down is not hammered in lockstep.
   */
  jitter: number;
  /**
   * How long failures an operator fixes (a connector's `operatorFixable` errors) are retried,
   * in ms, counted from acceptance or the last manual retry; they ignore `maxAttempts` (ADR 0028).
   */
  horizonMs: number;
}

/**
 * Defaults sized for ERPs: 5 s, 10 s, 20 s … capped at 15 min, 10 attempts — about 1 h of
 * retrying in total, enough to ride out an ERP maintenance window or a network blip, short
 * enough that a permanently broken delivery becomes a visible dead letter the same day.
 */
export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicyOptions> = Object.freeze({
  baseMs: 5_000,
  factor: 2,
  capMs: 15 * 60_000,
  maxAttempts: 10,
  jitter: 0.5,
  horizonMs: 24 * 60 * 60_000,
});

/** Exponential backoff with jitter. `random` is injectable so tests can pin the jitter. */
export class RetryPolicy {
  readonly options: Readonly<RetryPolicyOptions>;

  constructor(options: Partial<RetryPolicyOptions> = {}, private readonly random: () => number = Math.random) {
    const o = { ...DEFAULT_RETRY_POLICY, ...options };
    if (!(o.baseMs >= 0) || !(o.factor >= 1) || !(o.capMs >= o.baseMs) || !(o.maxAttempts >= 1) || !(o.jitter >= 0 && o.jitter <= 1) || !(o.horizonMs >= 0)) {
      throw new RangeError(
        'Invalid retry policy: need baseMs >= 0, factor >= 1, capMs >= baseMs, maxAttempts >= 1, 0 <= jitter <= 1, horizonMs >= 0.',
      );
    }
    this.options = Object.freeze(o);
  }

  /** True when a push that has made `attempts` attempts may be tried again. */
  canRetry(attempts: number): boolean {
    return attempts < this.options.maxAttempts;
  }

  /**
   * True when an operator-fixable failure at `now` may be tried again: the next attempt (after
   * `delayMs`) still starts within the horizon counted from `since`.
   */
  withinHorizon(since: Date, now: Date, delayMs: number): boolean {
    return now.getTime() + delayMs - since.getTime() <= this.options.horizonMs;
  }

  /** The nominal (un-jittered) delay after the `attempts`-th failed attempt (1-based). */
  nominalDelayMs(attempts: number): number {
    const { baseMs, factor, capMs } = this.options;
    const exp = Math.max(0, attempts - 1);
    // factor ** exp overflows to Infinity for large exp; min() with the cap handles it.
    return Math.min(capMs, baseMs * factor ** exp);
  }

  /** The delay to wait after the `attempts`-th failed attempt: nominal minus a random part. */
  delayMs(attempts: number): number {
    const nominal = this.nominalDelayMs(attempts);
    const jitter = this.options.jitter;
    return Math.round(nominal * (1 - jitter) + nominal * jitter * this.random());
  }
}

/** Reads ERPC_PUSH_RETRY_{BASE_MS,FACTOR,CAP_MS,MAX_ATTEMPTS,JITTER}; unset ones keep the defaults. */
export function retryPolicyOptionsFromEnv(env: NodeJS.ProcessEnv): Partial<RetryPolicyOptions> {
  const out: Partial<RetryPolicyOptions> = {};
  const num = (name: string): number | undefined => {
    const raw = env[name];
    if (raw === undefined || raw === '') return undefined;
    const n = Number(raw);
    if (!Number.isFinite(n)) throw new RangeError(`${name} must be a number, got "${raw}".`);
    return n;
  };
  const base = num('ERPC_PUSH_RETRY_BASE_MS');
  if (base !== undefined) out.baseMs = base;
  const factor = num('ERPC_PUSH_RETRY_FACTOR');
  if (factor !== undefined) out.factor = factor;
  const cap = num('ERPC_PUSH_RETRY_CAP_MS');
  if (cap !== undefined) out.capMs = cap;
  const max = num('ERPC_PUSH_RETRY_MAX_ATTEMPTS');
  if (max !== undefined) out.maxAttempts = max;
  const jitter = num('ERPC_PUSH_RETRY_JITTER');
  if (jitter !== undefined) out.jitter = jitter;
  return out;
}
