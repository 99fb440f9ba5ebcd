import { randomUUID } from 'node:crypto';
import type { Clock } from '@erpc/sdk';
import { ErpcError } from '../errors/index.js';
import { currentRequestId } from '../logging/request-context.js';
import type { ConnectorRegistry } from '../plugins/connector-registry.js';
import { payloadSha256 } from './canonical-json.js';
import { DEFAULT_MAX_JSON_DEPTH, findJsonProblem, inputRefused, stringProblem } from '../input/json-input.js';
import type { AcceptBatch, ApiKeyCredential, DeadLetterFilter, NewPush, PushStorage } from './ports.js';
import type { PushSignal } from './push-signal.js';
import { decodeCursor, encodeCursor } from '../keyset-cursor.js';
import { isUuid } from '../uuid.js';
import { PUSH_STATUSES, toPushView, type PushRow, type PushStatus, type PushView } from './push-types.js';

/** A document handed to erpc. */
export interface PushInput {
  documentType: string;
  documentId: string;
  /** Defaults to `<documentType>:<documentId>`: the same document is accepted once. */
  idempotencyKey?: string;
  payload: unknown;
}

/** The outcome of accepting one document. `created` is false for an idempotent replay. */
export interface AcceptResult {
  push: PushView;
  created: boolean;
}

/** One item of {@link PushService.acceptMany}: accepted (or replayed), or refused with an ErpcError. */
export type AcceptManyItem = ({ ok: true } & AcceptResult) | { ok: false; error: ErpcError };

/** Listing options of {@link PushService.list}. */
export interface PushListOptions {
  status?: string;
  documentType?: string;
  limit?: number;
  cursor?: string;
}

/** What accepting needs to know about the database and the metrics (wired by the container). */
export interface PushServiceOptions {
  /** 'postgres' sends NOTIFY on accept so LISTENing workers in other processes wake at commit. */
  databaseKind: 'postgres' | 'pglite';
  /** Called after a commit with the number of new pushes per connector type. */
  onAccepted?: (connectorType: string, count: number) => void;
  /** ERPC_PAYLOAD_MAX_DEPTH (default 64): deepest nesting accepted in a payload. */
  maxDepth?: number;
}

/** Filters of {@link PushService.retryDead}; every one narrows the set. Dates are ISO-8601. */
export interface BulkRetryFilter {
  code?: string;
  connectionId?: string;
  documentType?: string;
  deadAfter?: string;
  deadBefore?: string;
}

/** What a bulk retry did (or, with `dryRun`, would do). */
export interface BulkRetryResult {
  /** Dead letters put back to PENDING (0 on a dry run). */
  requeued: number;
  /** Dead letters that match the filter (before the run). */
  matched: number;
  dryRun: boolean;
}

/** Input limits of a push: the service checks them, the HTTP route schema is built from them. */
export const PUSH_LIMITS = {
  maxPayloadBytes: 1024 * 1024,
  documentTypePattern: /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/,
  maxDocumentId: 256,
  maxIdempotencyKey: 512,
  defaultPageSize: 50,
  maxPageSize: 500,
  /** Dead letters requeued per transaction by a bulk retry. */
  bulkRetryBatch: 500,
} as const;
const { maxPayloadBytes: MAX_PAYLOAD_BYTES, documentTypePattern: DOCUMENT_TYPE_PATTERN, maxDocumentId: MAX_DOCUMENT_ID, maxIdempotencyKey: MAX_KEY } = PUSH_LIMITS;
const { defaultPageSize: DEFAULT_LIMIT, maxPageSize: MAX_LIMIT } = PUSH_LIMITS;

interface ValidInput {
  documentType: string;
  documentId: string;
  idempotencyKey: string;
  payload: Record<string, unknown>;
  payloadText: string;
  sha: string;
}

/**
 * Accepts documents into the outbox and reads them back. Rules live here; SQL in PushRepository.
 * Every call is scoped to an organisation: another org's push is "not found".
 */
export class PushService {
  constructor(
    private readonly storage: PushStorage,
    private readonly registry: ConnectorRegistry,
    private readonly clock: Clock,
    private readonly signal: PushSignal,
    private readonly options: PushServiceOptions,
  ) {}

  /**
   * Accepts one document in one statement (ADR 0037): resolve the org's ACTIVE connection, check
   * the document type, insert, notify the workers. The same idempotency key with the same document (type, id and payload)
   * returns the existing push (`created: false`); with anything different,
   * ERPC_ERR_IDEMPOTENCY_CONFLICT naming the fields that differ.
   */
  async accept(orgId: string, input: PushInput): Promise<AcceptResult> {
    const item = (await this.acceptMany(orgId, [input]))[0]!;
    if (!item.ok) throw item.error;
    return { push: item.push, created: item.created };
  }

  /**
   * {@link accept} for a request that presented an API key: the key's check (it exists, is not
   * revoked, has this secret) is part of the accept statement, so an accepted push is one round
   * trip (ADR 0044). A refused key is ERPC_ERR_AUTH_INVALID and nothing is written. Input errors
   * are thrown before the key is checked: the caller (the API's auth) checks it before answering.
   */
  async acceptWithKey(key: ApiKeyCredential, input: PushInput): Promise<AcceptResult & { orgId: string }> {
    const { orgId, results } = await this.#acceptMany({ key }, [input]);
    const item = results[0]!;
    if (!item.ok) throw item.error;
    return { orgId, push: item.push, created: item.created };
  }

  /**
   * Accepts many documents of one organisation in one statement (ADR 0037): the active-connection
   * lookup, the insert (an `unnest` of arrays) and the NOTIFY, in autocommit. Each item has its
   * own outcome: invalid items, document types the connector does not accept and idempotency
   * conflicts are refused, the rest are accepted. A key already taken is read back by a second
   * statement and compared as a whole request (replay or ERPC_ERR_IDEMPOTENCY_CONFLICT). Throws
   * (for the whole batch) only when the org does not exist or has no active connection.
   */
  async acceptMany(orgId: string, inputs: readonly PushInput[]): Promise<AcceptManyItem[]> {
    return (await this.#acceptMany({ orgId }, inputs)).results;
  }

  async #acceptMany(owner: AcceptBatch['owner'], inputs: readonly PushInput[]): Promise<{ orgId: string; results: AcceptManyItem[] }> {
    const results: (AcceptManyItem | undefined)[] = new Array(inputs.length);
    const valid: { index: number; input: ValidInput }[] = [];
    inputs.forEach((raw, index) => {
      try {
        valid.push({ index, input: validate(raw, this.options.maxDepth ?? DEFAULT_MAX_JSON_DEPTH) });
      } catch (err) {
        results[index] = { ok: false, error: err as ErpcError };
      }
    });
    const now = this.clock.now();

    if ('orgId' in owner && !isUuid(owner.orgId)) throw new ErpcError('ERPC_ERR_ORG_NOT_FOUND', { id: owner.orgId });
    if (valid.length === 0) {
      if ('key' in owner) return { orgId: '', results: results as AcceptManyItem[] }; // the input error is thrown; the caller checks the key
      // Nothing to insert: the organisation and its connection are still checked, as for any batch.
      await this.#connectionOf(owner.orgId);
      return { orgId: owner.orgId, results: results as AcceptManyItem[] };
    }
    const requestId = currentRequestId() ?? null;
    const rows = valid.map(({ index, input }) => ({ index, input, id: randomUUID() }));
    const outcome = await this.storage.pushes.acceptBatch({
      owner,
      now,
      requestId,
      restricted: this.#restrictedTypes(),
      notify: this.options.databaseKind === 'postgres',
      items: rows.map(({ id, input }) => ({
        id, documentType: input.documentType, documentId: input.documentId, idempotencyKey: input.idempotencyKey,
        payloadText: input.payloadText, payloadSha256: input.sha,
      })),
    });
    const { connection, inserted } = outcome;
    if (outcome.orgId === undefined) throw new ErpcError('ERPC_ERR_AUTH_INVALID'); // the presented key was refused
    const orgId = 'orgId' in owner ? owner.orgId : outcome.orgId;
    if (connection === undefined) {
      await this.#connectionOf(orgId); // throws the right error
      throw new ErpcError('ERPC_ERR_NO_ACTIVE_CONNECTION', { orgId }); // the connection appeared meanwhile: as if just before
    }
    const accepted = this.#acceptedTypes(connection.connectorType);
    const nowIso = now.toISOString();
    const toPush = (id: string, input: ValidInput): NewPush => ({
      id, orgId, connectionId: connection.id, connectorType: connection.connectorType, documentType: input.documentType,
      documentId: input.documentId, idempotencyKey: input.idempotencyKey, payload: input.payload, payloadText: input.payloadText,
      payloadSha256: input.sha, requestId, now,
    });
    const replays: { index: number; push: NewPush }[] = [];
    for (const { index, input, id } of rows) {
      if (accepted !== undefined && !accepted.includes(input.documentType)) {
        results[index] = {
          ok: false,
          error: new ErpcError('ERPC_ERR_DOCUMENT_TYPE_UNSUPPORTED', {
            connectorType: connection.connectorType,
            documentType: input.documentType,
            accepted: accepted.join(', '),
          }),
        };
      } else if (inserted.has(id)) {
        results[index] = { ok: true, created: true, push: newPushView(id, connection, input, nowIso) };
      } else {
        replays.push({ index, push: toPush(id, input) });
      }
    }

    if (replays.length > 0) {
      // ON CONFLICT DO NOTHING waited for a concurrent insert of the key to commit, then skipped;
      // this read is a new statement (a new snapshot under READ COMMITTED), so it sees the winner.
      const existing = new Map(
        (await this.storage.pushes.findByKeys(orgId, replays.map((r) => r.push.idempotencyKey))).map((p) => [p.idempotencyKey, p]),
      );
      for (const { index, push } of replays) {
        const prior = existing.get(push.idempotencyKey);
        if (prior === undefined) {
          // Only possible if the winner was deleted in between; report it rather than guess.
          results[index] = { ok: false, error: new ErpcError('ERPC_ERR_INTERNAL') };
          continue;
        }
        // The key names one whole request: the same document type, id and payload, or a conflict.
        const differs = differingFields(prior, push);
        results[index] =
          differs.length === 0
            ? { ok: true, created: false, push: toPushView(prior) }
            : {
                ok: false,
                error: new ErpcError(
                  'ERPC_ERR_IDEMPOTENCY_CONFLICT',
                  { idempotencyKey: push.idempotencyKey, pushId: prior.id, fields: differs.join(', ') },
                  { details: { pushId: prior.id, differs } },
                ),
              };
      }
    }

    if (inserted.size > 0) {
      this.options.onAccepted?.(connection.connectorType, inserted.size);
      this.signal.wake();
    }
    return { orgId, results: results as AcceptManyItem[] };
  }

  /** The org's active connection, or the error that says why there is none. */
  async #connectionOf(orgId: string): Promise<{ id: string; connectorType: string }> {
    const connection = await this.storage.connections.activeBinding(orgId);
    if (connection !== undefined) return connection;
    if (!(await this.storage.organizations.exists(orgId))) throw new ErpcError('ERPC_ERR_ORG_NOT_FOUND', { id: orgId });
    throw new ErpcError('ERPC_ERR_NO_ACTIVE_CONNECTION', { orgId });
  }

  /** One push of `orgId`, with its payload. */
  async get(orgId: string, id: string): Promise<PushView> {
    const row = isUuid(id) ? await this.storage.pushes.findById(orgId, id) : undefined;
    if (row === undefined) throw new ErpcError('ERPC_ERR_PUSH_NOT_FOUND', { id });
    return toPushView(row, true);
  }

  /** A keyset page of `orgId`'s pushes, newest first; `nextCursor` when there is more. */
  async list(orgId: string, options: PushListOptions = {}): Promise<{ items: PushView[]; nextCursor?: string }> {
    const limit = options.limit ?? DEFAULT_LIMIT;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
      throw new ErpcError('ERPC_ERR_PUSH_INVALID', { reason: `limit must be an integer from 1 to ${MAX_LIMIT}.` });
    }
    if (options.status !== undefined && !(PUSH_STATUSES as readonly string[]).includes(options.status)) {
      throw new ErpcError('ERPC_ERR_PUSH_INVALID', { reason: `status must be one of ${PUSH_STATUSES.join(', ')}.` });
    }
    const after = options.cursor === undefined ? undefined : decodeCursor(options.cursor);
    const rows = await this.storage.pushes.list(orgId, {
      limit,
      ...(options.status !== undefined ? { status: options.status as PushStatus } : {}),
      ...(options.documentType !== undefined ? { documentType: options.documentType } : {}),
      ...(after !== undefined ? { after } : {}),
    });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      items: page.map((r) => toPushView(r)),
      ...(rows.length > limit && last !== undefined ? { nextCursor: encodeCursor(last) } : {}),
    };
  }

  /** Puts a DEAD or REJECTED push back to PENDING (attempts reset, due now). */
  async retry(orgId: string, id: string): Promise<PushView> {
    if (!isUuid(id)) throw new ErpcError('ERPC_ERR_PUSH_NOT_FOUND', { id });
    const now = this.clock.now();
    const row = await this.storage.transaction(async (tx) => {
      const updated = await tx.pushes.retry(orgId, id, now);
      if (updated !== undefined) {
        if (this.options.databaseKind === 'postgres') await tx.pushes.notify();
        return updated;
      }
      const existing = await tx.pushes.findById(orgId, id);
      if (existing === undefined) throw new ErpcError('ERPC_ERR_PUSH_NOT_FOUND', { id });
      throw new ErpcError('ERPC_ERR_PUSH_NOT_RETRYABLE', { id, status: existing.status }, { details: { status: existing.status } });
    });
    this.signal.wake();
    return toPushView(row);
  }

  /**
   * Bulk recovery: every DEAD push of `orgId` matching `filter` back to PENDING (attempts reset,
   * due now), in batches of one transaction each. Idempotent: a push is requeued at most once
   * per run, and a second run finds nothing left to requeue. `dryRun` only counts.
   */
  async retryDead(orgId: string, filter: BulkRetryFilter = {}, options: { dryRun?: boolean } = {}): Promise<BulkRetryResult> {
    if (!isUuid(orgId) || !(await this.storage.organizations.exists(orgId))) throw new ErpcError('ERPC_ERR_ORG_NOT_FOUND', { id: orgId });
    const f = deadLetterFilter(filter);
    const matched = await this.storage.pushes.countDead(orgId, f);
    if (options.dryRun === true || matched === 0) return { requeued: 0, matched, dryRun: options.dryRun === true };
    const runStartedAt = this.clock.now();
    let requeued = 0;
    for (;;) {
      const now = new Date(Math.max(this.clock.now().getTime(), runStartedAt.getTime()));
      const ids = await this.storage.transaction(async (tx) => {
        const batch = await tx.pushes.retryDeadBatch(orgId, f, runStartedAt, now, PUSH_LIMITS.bulkRetryBatch);
        if (batch.length > 0 && this.options.databaseKind === 'postgres') await tx.pushes.notify();
        return batch;
      });
      requeued += ids.length;
      if (ids.length > 0) this.signal.wake();
      if (ids.length < PUSH_LIMITS.bulkRetryBatch) break;
    }
    return { requeued, matched, dryRun: false };
  }

  /** Counts of `orgId`'s pushes by status (every status present). */
  async stats(orgId: string): Promise<{ counts: Record<PushStatus, number>; total: number }> {
    const counts = await this.storage.pushes.countByStatus(orgId);
    return { counts, total: Object.values(counts).reduce((a, b) => a + b, 0) };
  }

  /**
   * The loaded connector types that accept only some document types, with those types: the
   * accept statement inserts nothing else for them (the same rule as {@link #acceptedTypes}).
   */
  #restrictedTypes(): Record<string, readonly string[]> {
    const out: Record<string, readonly string[]> = {};
    for (const type of this.registry.types()) {
      const accepted = this.#acceptedTypes(type);
      if (accepted !== undefined) out[type] = accepted;
    }
    return out;
  }

  #acceptedTypes(connectorType: string): readonly string[] | undefined {
    // A connector whose plugin is not loaded here still accepts: a worker elsewhere may have it,
    // and the worker turns "unavailable" into a visible retry/dead letter rather than losing it.
    if (!this.registry.has(connectorType)) return undefined;
    const types = this.registry.plugin(connectorType).documentTypes;
    return types === undefined || types.length === 0 ? undefined : types;
  }
}

/** The fields of the request `push` that differ from the stored `prior` (names only, never values). */
function differingFields(prior: PushRow, push: NewPush): ('documentType' | 'documentId' | 'payload')[] {
  const out: ('documentType' | 'documentId' | 'payload')[] = [];
  if (prior.documentType !== push.documentType) out.push('documentType');
  if (prior.documentId !== push.documentId) out.push('documentId');
  if (prior.payloadSha256 !== push.payloadSha256) out.push('payload');
  return out;
}

function deadLetterFilter(filter: BulkRetryFilter): DeadLetterFilter {
  const out: DeadLetterFilter = {};
  for (const [field, value] of Object.entries(filter)) {
    if (value === undefined) continue;
    if (typeof value !== 'string' || value.length === 0 || value.length > 256 || stringProblem(value) !== undefined) {
      throw invalid(`${field} must be a non-empty string of at most 256 characters.`);
    }
  }
  if (filter.code !== undefined) out.code = filter.code;
  if (filter.documentType !== undefined) out.documentType = filter.documentType;
  if (filter.connectionId !== undefined) {
    if (!isUuid(filter.connectionId)) throw invalid('connectionId must be a UUID.');
    out.connectionId = filter.connectionId;
  }
  for (const field of ['deadAfter', 'deadBefore'] as const) {
    const raw = filter[field];
    if (raw === undefined) continue;
    const d = new Date(raw);
    if (Number.isNaN(d.getTime()) || !/^\d{4}-\d{2}-\d{2}/.test(raw)) throw invalid(`${field} must be an ISO-8601 date-time.`);
    out[field] = d;
  }
  return out;
}

/**
 * The view of a push just inserted, as {@link toPushView} shows its row: built directly, with the
 * accept time's ISO text computed once per batch (a batch accept builds 500 of these).
 */
function newPushView(id: string, connection: { id: string; connectorType: string }, input: ValidInput, nowIso: string): PushView {
  return {
    id, status: 'PENDING', connectionId: connection.id, connectorType: connection.connectorType, documentType: input.documentType,
    documentId: input.documentId, idempotencyKey: input.idempotencyKey, payloadSha256: input.sha, attempts: 0, nextAttemptAt: nowIso,
    lastError: null, lastFailure: null, externalRef: null, receiptDetails: null, ackDetails: null, ackDeadline: null,
    createdAt: nowIso, updatedAt: nowIso, lastAttemptAt: null, deliveredAt: null, acknowledgedAt: null, rejectedAt: null, deadAt: null,
    manualRetries: 0, retriedAt: null,
  };
}

const invalid = (reason: string) => new ErpcError('ERPC_ERR_PUSH_INVALID', { reason });

/**
 * Checks one input; the library call and the CLI get the same rules as the HTTP schema, and the
 * same refusals at the door (NUL or unpaired surrogates anywhere, nesting deeper than `maxDepth`,
 * values JSON cannot carry): 422 ERPC_ERR_INPUT_REFUSED naming the JSON Pointer, never the value.
 */
function validate(raw: PushInput, maxDepth: number): ValidInput {
  if (typeof raw !== 'object' || raw === null) throw invalid('expected an object {documentType, documentId, idempotencyKey?, payload}.');
  const { documentType, documentId, idempotencyKey, payload } = raw as unknown as Record<string, unknown>;
  if (typeof documentType !== 'string' || !DOCUMENT_TYPE_PATTERN.test(documentType)) {
    throw invalid('documentType must be 1-64 characters: a letter, then letters, digits, "_", "." or "-".');
  }
  if (typeof documentId !== 'string' || documentId.length === 0 || documentId.length > MAX_DOCUMENT_ID) {
    throw invalid(`documentId must be a non-empty string of at most ${MAX_DOCUMENT_ID} characters.`);
  }
  if (idempotencyKey !== undefined && (typeof idempotencyKey !== 'string' || idempotencyKey.length === 0 || idempotencyKey.length > MAX_KEY)) {
    throw invalid(`idempotencyKey must be a non-empty string of at most ${MAX_KEY} characters.`);
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw invalid('payload must be a JSON object.');
  }
  for (const [field, value] of [['documentId', documentId], ['idempotencyKey', idempotencyKey]] as const) {
    const reason = typeof value === 'string' ? stringProblem(value) : undefined;
    if (reason !== undefined) throw inputRefused({ path: `/${field}`, reason: `the string ${reason}` });
  }
  const problem = findJsonProblem(payload, maxDepth, '/payload');
  if (problem !== undefined) throw inputRefused(problem);
  // Exact numbers are raw JSON values (ADR 0027): this is the payload's text as sent.
  const payloadText = JSON.stringify(payload);
  const bytes = Buffer.byteLength(payloadText);
  if (bytes > MAX_PAYLOAD_BYTES) throw invalid(`payload is ${bytes} bytes; the limit is ${MAX_PAYLOAD_BYTES} (1 MiB).`);
  return {
    documentType,
    documentId,
    idempotencyKey: (idempotencyKey as string | undefined) ?? `${documentType}:${documentId}`,
    payload: payload as Record<string, unknown>,
    payloadText,
    sha: payloadSha256(payload),
  };
}
