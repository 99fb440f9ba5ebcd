/** One readiness check: resolves when healthy; rejects, resolves false or `{ ok: false }` when not. */
export interface ReadinessCheck {
  name: string;
  check(): Promise<boolean | void | { ok: boolean; details?: Record<string, unknown>; reason?: string }>;
}

/** What `/readyz` (and `/healthz`) answer. */
export interface ReadinessReport {
  ok: boolean;
  checks: Record<string, 'ok' | 'fail'>;
  /** Per-check details (the keys check's key ids, the plugins that failed to load); never a secret. */
  details: Record<string, Record<string, unknown>>;
  /** Why the process is not ready, one line per failed check. */
  reasons: string[];
}

/**
 * The readiness of one process: the checks of its parts (database, keys, plugins — and, added
 * by whoever owns them, e.g. plugin sandboxes) plus "not shutting down". Parts register with
 * {@link add}; `/readyz` and `/healthz` run {@link report}. `beginShutdown` turns it 503 at once
 * (ADR 0031), before anything stops, so a load balancer stops sending during the drain delay.
 */
export class Readiness {
  readonly #checks: ReadinessCheck[] = [];
  #shutdownSince: number | undefined;

  /** Adds a check (a name already present is replaced: `enforceKeys` may run twice in tests). */
  add(check: ReadinessCheck): void {
    const i = this.#checks.findIndex((c) => c.name === check.name);
    if (i >= 0) this.#checks[i] = check;
    else this.#checks.push(check);
  }

  /** The names of the registered checks, in order. */
  get names(): string[] {
    return this.#checks.map((c) => c.name);
  }

  /** From now on the process reports not ready (`shutdown: fail`). */
  beginShutdown(): void {
    this.#shutdownSince ??= Date.now();
  }

  get shuttingDown(): boolean {
    return this.#shutdownSince !== undefined;
  }

  /** Runs every check (in parallel; a rejection is a failure, logged by `onError`). */
  async report(onError: (name: string, err: unknown) => void = () => undefined): Promise<ReadinessReport> {
    const checks: Record<string, 'ok' | 'fail'> = {};
    const details: Record<string, Record<string, unknown>> = {};
    const reasons: string[] = [];
    const outcomes = await Promise.all(
      this.#checks.map(async (c) => {
        try {
          return { c, outcome: await c.check() };
        } catch (err) {
          onError(c.name, err);
          return { c, outcome: { ok: false, reason: 'the check failed (see the server log)' } };
        }
      }),
    );
    for (const { c, outcome } of outcomes) {
      let ok: boolean;
      if (typeof outcome === 'object' && outcome !== null) {
        ok = outcome.ok;
        if (outcome.details !== undefined) details[c.name] = outcome.details;
        if (!ok) reasons.push(`${c.name}: ${outcome.reason ?? 'failed'}`);
      } else {
        ok = outcome !== false;
        if (!ok) reasons.push(`${c.name}: failed`);
      }
      checks[c.name] = ok ? 'ok' : 'fail';
    }
    checks.shutdown = this.shuttingDown ? 'fail' : 'ok';
    if (this.shuttingDown) reasons.push('shutdown: the process is shutting down');
    return { ok: reasons.length === 0, checks, details, reasons };
  }
}
