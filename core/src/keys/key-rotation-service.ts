import { ConfigCipher, isConfigDecryptError, Keyring, LEGACY_KEY_ID, type ConfigDecryptErrorCode } from '../crypto/index.js';
import { WEBHOOK_SECRET_TABLE, webhookSecretBindingId } from '../webhooks/webhook-secret.js';
import type { ConfigRewrite, KeyStore, RotationFilter, StoredConfigRow } from './ports.js';

/** Default rows per batch (one transaction each); see BENCHMARKS.md "Key rotation". */
export const DEFAULT_ROTATION_BATCH_SIZE = 1000;
/** How long a run waits for rows other transactions hold locked before it reports them as remaining. */
export const DEFAULT_LOCK_WAIT_MS = 30_000;

/** A row that could not be rotated: its id and why, never its bytes. */
export interface RotationFailure {
  /** The row's id (a connection's, or a webhook endpoint's when `table` says so). */
  connectionId: string;
  /** Set for rows that are not connections: `webhook_endpoint` (a signing secret). */
  table?: typeof WEBHOOK_SECRET_TABLE;
  /** ConfigDecryptError code; UNKNOWN_KEY for rows under a key id that is not loaded. */
  code: ConfigDecryptErrorCode;
}

/** Reported after each committed batch (and once when the run ends). */
export interface RotationProgress {
  /** Rows not under the active key when the run started. */
  total: number;
  /** Rows this run rotated, failed, or found already rewritten by someone else. */
  done: number;
  rotated: number;
  failed: number;
  batches: number;
  elapsedMs: number;
}

/** Options of {@link KeyRotationService.rotate}. */
export interface RotationOptions {
  batchSize?: number;
  /** Count and try to decrypt, write nothing. */
  dryRun?: boolean;
  /** Stop after the batch in flight commits. */
  signal?: AbortSignal;
  onProgress?: (progress: RotationProgress) => void | Promise<void>;
  /**
   * Called inside each batch's transaction after its rows are claimed (locked) and before they
   * are written. For tests that interleave an update with a batch; must not use the database
   * handle on PGlite (one connection, held by the batch).
   */
  onClaimed?: (ids: readonly string[]) => void | Promise<void>;
  lockWaitMs?: number;
}

/** The outcome of a run. */
export interface RotationReport {
  activeKeyId: string;
  dryRun: boolean;
  total: number;
  /** Rows this run rewrote (dry run: rows that would be rewritten). */
  rotated: number;
  failed: RotationFailure[];
  /** Rows that changed between claim and write (key guard did not match): left as they were. */
  changedConcurrently: number;
  /** Rows still not under the active key that this run could not take (locked by others until it gave up). */
  remaining: number;
  batches: number;
  aborted: boolean;
  elapsedMs: number;
}

/**
 * Rewrites every connection config that is not under the active key (legacy rows included) under
 * the active key, online and resumably (docs/adr: key rotation).
 *
 * Each batch is one transaction: claim up to `batchSize` rows with `FOR UPDATE SKIP LOCKED`,
 * decrypt each with its row's binding, encrypt under the active key with the same binding, and
 * write them in one UPDATE that only matches rows still under the key they were read with. A kill
 * loses at most the batch in flight (rolled back); a rerun picks up whatever is not under the
 * active key. Concurrent runs claim disjoint rows.
 */
export class KeyRotationService {
  constructor(
    private readonly store: KeyStore,
    private readonly keyring: Keyring,
    private readonly cipher: ConfigCipher,
    /** The webhook signing secrets, rotated after the connection configs (same keyring and format). */
    private readonly webhookSecrets?: KeyStore,
  ) {}

  /** Connection configs first, then webhook signing secrets; one report for both. */
  async rotate(options: RotationOptions = {}): Promise<RotationReport> {
    const first = await this.#rotateStore(this.store, (id) => id, undefined, options);
    if (this.webhookSecrets === undefined || first.aborted) return first;
    const firstDone = first.rotated + first.failed.length + first.changedConcurrently;
    const onProgress = options.onProgress;
    const second = await this.#rotateStore(this.webhookSecrets, webhookSecretBindingId, WEBHOOK_SECRET_TABLE, {
      ...options,
      ...(onProgress !== undefined
        ? { onProgress: (p: RotationProgress) => onProgress({ ...p, total: first.total + p.total, done: firstDone + p.done, rotated: first.rotated + p.rotated, failed: first.failed.length + p.failed, batches: first.batches + p.batches, elapsedMs: first.elapsedMs + p.elapsedMs }) }
        : {}),
    });
    return {
      activeKeyId: first.activeKeyId,
      dryRun: first.dryRun,
      total: first.total + second.total,
      rotated: first.rotated + second.rotated,
      failed: [...first.failed, ...second.failed],
      changedConcurrently: first.changedConcurrently + second.changedConcurrently,
      remaining: first.remaining + second.remaining,
      batches: first.batches + second.batches,
      aborted: second.aborted,
      elapsedMs: first.elapsedMs + second.elapsedMs,
    };
  }

  async #rotateStore(store: KeyStore, bindingOf: (id: string) => string, table: typeof WEBHOOK_SECRET_TABLE | undefined, options: RotationOptions): Promise<RotationReport> {
    const batchSize = options.batchSize ?? DEFAULT_ROTATION_BATCH_SIZE;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError('batchSize must be a positive integer');
    const started = Date.now();
    const activeKeyId = this.keyring.activeKeyId;
    const decryptable = [...this.keyring.keyIds, LEGACY_KEY_ID];

    const counts = await store.keyIdCounts();
    const total = counts.filter((c) => c.keyId !== activeKeyId).reduce((n, c) => n + c.rows, 0);
    // Rows under a key that is not loaded cannot decrypt: report them up front instead of claiming them.
    const unknownKeys = counts.filter((c) => c.keyId !== LEGACY_KEY_ID && !this.keyring.has(c.keyId)).map((c) => c.keyId);
    const failed: RotationFailure[] = (await store.idsUnderKeys(unknownKeys)).map((r) => ({
      connectionId: r.id,
      code: 'UNKNOWN_KEY' as const,
      ...(table !== undefined ? { table } : {}),
    }));
    const excluded = new Set<string>();
    const filter = (): RotationFilter => ({ activeKeyId, keyIds: decryptable, excludeIds: [...excluded] });

    const report: RotationReport = {
      activeKeyId,
      dryRun: options.dryRun === true,
      total,
      rotated: 0,
      failed,
      changedConcurrently: 0,
      remaining: 0,
      batches: 0,
      aborted: false,
      elapsedMs: 0,
    };
    const progress = async (): Promise<void> => {
      report.elapsedMs = Date.now() - started;
      await options.onProgress?.({
        total,
        done: report.rotated + report.failed.length + report.changedConcurrently,
        rotated: report.rotated,
        failed: report.failed.length,
        batches: report.batches,
        elapsedMs: report.elapsedMs,
      });
    };

    if (report.dryRun) {
      let after: string | null = null;
      for (;;) {
        if (options.signal?.aborted) {
          report.aborted = true;
          break;
        }
        const rows = await store.scanForRotation(filter(), after, batchSize);
        if (rows.length === 0) break;
        after = rows[rows.length - 1]!.id;
        for (const row of rows) {
          const outcome = this.#reencrypt(row, bindingOf, table);
          if ('code' in outcome) failed.push(outcome);
          else report.rotated += 1;
        }
        report.batches += 1;
        await progress();
      }
      report.elapsedMs = Date.now() - started;
      return report;
    }

    const lockWaitMs = options.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS;
    let waitingSince: number | null = null;
    // Rows skipped because another transaction held them lie behind the cursor: when the cursor
    // runs dry, one more pass starts from the beginning.
    let cursor: string | null = null;
    for (;;) {
      if (options.signal?.aborted) {
        report.aborted = true;
        break;
      }
      const claimed = await store.transaction(async (tx) => {
        const rows = await tx.claimForRotation(filter(), cursor, batchSize);
        if (rows.length === 0) return 0;
        cursor = rows[rows.length - 1]!.id;
        await options.onClaimed?.(rows.map((r) => r.id));
        const rewrites: ConfigRewrite[] = [];
        const batchFailures: RotationFailure[] = [];
        for (const row of rows) {
          const outcome = this.#reencrypt(row, bindingOf, table);
          if ('code' in outcome) batchFailures.push(outcome);
          else rewrites.push(outcome);
        }
        const written = await tx.rewriteConfigs(activeKeyId, rewrites);
        // Only count what committed: the transaction may still fail after this point.
        return { rows: rows.length, written: written.length, unchanged: rewrites.length - written.length, batchFailures };
      });
      if (claimed === 0 && cursor !== null) {
        cursor = null;
        continue;
      }
      if (claimed === 0) {
        // Nothing claimable: done, unless other transactions hold rows we have not seen (another
        // rotation's batch in flight, an API update). Wait for them so the run ends complete.
        const left = await store.countRotatable(filter());
        if (left === 0) break;
        waitingSince ??= Date.now();
        if (Date.now() - waitingSince >= lockWaitMs) {
          report.remaining = left;
          break;
        }
        await sleep(100, options.signal);
        continue;
      }
      waitingSince = null;
      report.batches += 1;
      report.rotated += claimed.written;
      report.changedConcurrently += claimed.unchanged;
      for (const f of claimed.batchFailures) {
        failed.push(f);
        excluded.add(f.connectionId);
      }
      await progress();
    }
    report.elapsedMs = Date.now() - started;
    return report;
  }

  #reencrypt(row: StoredConfigRow, bindingOf: (id: string) => string, table: typeof WEBHOOK_SECRET_TABLE | undefined): ConfigRewrite | RotationFailure {
    try {
      const { blob } = this.cipher.reencrypt(row.blob, { orgId: row.orgId, connectionId: bindingOf(row.id), keyId: row.keyId });
      return { id: row.id, blob, expectedKeyId: row.keyId };
    } catch (err) {
      if (isConfigDecryptError(err)) return { connectionId: row.id, code: err.code, ...(table !== undefined ? { table } : {}) };
      throw err;
    }
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
