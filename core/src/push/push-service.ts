import { randomUUID } from 'node:crypto';
import type { Clock } from '@erpc/sdk';
import { ErpcError } from '../errors/index.js';
import { currentRequestId } from '../logging/request-context.js';
import type { ConnectorRegistry } from '../plugins/connector-registry.js';
import { payloadSha256 } from './canonical-json.js';
import type { NewPush, PushStorage } from './ports.js';
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
}

/** Input limits of a push: the service checks them, the HTTP route schema is built from them. */
export const PUSH_LIMITS = {
  maxPayloadBytes: 1024 * 1024,
  documentTypePattern: /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/,
  maxDocumentId: 256,
  maxIdempotencyKey: 512,
  defaultPageSize: 50,
  maxPageSize: 500,
} as const;
const { maxPayloadBytes: MAX_PAYLOAD_BYTES, documentTypePattern: DOCUMENT_TYPE_PATTERN, maxDocumentId: MAX_DOCUMENT_ID, maxIdempotencyKey: MAX_KEY } = PUSH_LIMITS;
const { defaultPageSize: DEFAULT_LIMIT, maxPageSize: MAX_LIMIT } = PUSH_LIMITS;

interface ValidInput {
  documentType: string;
  documentId: string;
  idempotencyKey: string;
  payload: Record<string, unknown>;
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
   * Accepts one document in one transaction: resolve the org's ACTIVE connection, check the
   * document type, insert. The same idempotency key with the same payload returns the existing
   * push (`created: false`); with another payload, ERPC_ERR_IDEMPOTENCY_CONFLICT.
   */
  async accept(orgId: string, input: PushInput): Promise<AcceptResult> {
    const item = (await this.acceptMany(orgId, [input]))[0]!;
    if (!item.ok) throw item.error;
    return { push: item.push, created: item.created };
  }

  /**
   * Accepts many documents of one organisation in one transaction (one INSERT), each with its
   * own outcome: invalid items and idempotency conflicts are refused, the rest are accepted.
   * Throws (for the whole batch) only when the org has no active connection.
   */
  async acceptMany(orgId: string, inputs: readonly PushInput[]): Promise<AcceptManyItem[]> {
    const results: (AcceptManyItem | undefined)[] = new Array(inputs.length);
    const valid: { index: number; input: ValidInput }[] = [];
    inputs.forEach((raw, index) => {
      try {
        valid.push({ index, input: validate(raw) });
      } catch (err) {
        results[index] = { ok: false, error: err as ErpcError };
      }
    });
    const now = this.clock.now();
    let connectorType = '';
    let createdCount = 0;

    await this.storage.transaction(async (tx) => {
      const connection = await tx.connections.activeBinding(orgId);
      if (connection === undefined) throw new ErpcError('ERPC_ERR_NO_ACTIVE_CONNECTION', { orgId });
      connectorType = connection.connectorType;
      const accepted = this.#acceptedTypes(connection.connectorType);
      const rows: { index: number; push: NewPush }[] = [];
      for (const { index, input } of valid) {
        if (accepted !== undefined && !accepted.includes(input.documentType)) {
          results[index] = {
            ok: false,
            error: new ErpcError('ERPC_ERR_DOCUMENT_TYPE_UNSUPPORTED', {
              connectorType: connection.connectorType,
              documentType: input.documentType,
              accepted: accepted.join(', '),
            }),
          };
          continue;
        }
        rows.push({
          index,
          push: {
            id: randomUUID(),
            orgId,
            connectionId: connection.id,
            connectorType: connection.connectorType,
            documentType: input.documentType,
            documentId: input.documentId,
            idempotencyKey: input.idempotencyKey,
            payload: input.payload,
            payloadSha256: input.sha,
            requestId: currentRequestId() ?? null,
            now,
          },
        });
      }
      if (rows.length === 0) return;

      // ON CONFLICT DO NOTHING instead of catching 23505: a unique violation would abort the
      // whole transaction on PostgreSQL. A concurrent duplicate waits for the first insert to
      // commit, then skips; the re-read below (a new statement, so a new snapshot under READ
      // COMMITTED) sees the winner.
      const inserted = await tx.pushes.insertManyIfAbsent(rows.map((r) => r.push));
      createdCount = inserted.size;
      const replays = rows.filter((r) => !inserted.has(r.push.id));
      const existing = new Map(
        (await tx.pushes.findByKeys(orgId, replays.map((r) => r.push.idempotencyKey))).map((p) => [p.idempotencyKey, p]),
      );
      for (const { index, push } of rows) {
        if (inserted.has(push.id)) {
          results[index] = { ok: true, created: true, push: toPushView(newRowView(push)) };
          continue;
        }
        const prior = existing.get(push.idempotencyKey);
        if (prior === undefined) {
          // Only possible if the winner was deleted in between; report it rather than guess.
          results[index] = { ok: false, error: new ErpcError('ERPC_ERR_INTERNAL') };
        } else if (prior.payloadSha256 === push.payloadSha256) {
          results[index] = { ok: true, created: false, push: toPushView(prior) };
        } else {
          results[index] = {
            ok: false,
            error: new ErpcError('ERPC_ERR_IDEMPOTENCY_CONFLICT', { idempotencyKey: push.idempotencyKey, pushId: prior.id }, { details: { pushId: prior.id } }),
          };
        }
      }
      if (createdCount > 0 && this.options.databaseKind === 'postgres') await tx.pushes.notify();
    });

    if (createdCount > 0) {
      this.options.onAccepted?.(connectorType, createdCount);
      this.signal.wake();
    }
    return results as AcceptManyItem[];
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

  /** Counts of `orgId`'s pushes by status (every status present). */
  async stats(orgId: string): Promise<{ counts: Record<PushStatus, number>; total: number }> {
    const counts = await this.storage.pushes.countByStatus(orgId);
    return { counts, total: Object.values(counts).reduce((a, b) => a + b, 0) };
  }

  #acceptedTypes(connectorType: string): readonly string[] | undefined {
    // A connector whose plugin is not loaded here still accepts: a worker elsewhere may have it,
    // and the worker turns "unavailable" into a visible retry/dead letter rather than losing it.
    if (!this.registry.has(connectorType)) return undefined;
    const types = this.registry.plugin(connectorType).documentTypes;
    return types === undefined || types.length === 0 ? undefined : types;
  }
}

function newRowView(p: NewPush): PushRow {
  return {
    id: p.id, orgId: p.orgId, connectionId: p.connectionId, connectorType: p.connectorType, documentType: p.documentType,
    documentId: p.documentId, idempotencyKey: p.idempotencyKey, payload: p.payload, payloadSha256: p.payloadSha256,
    status: 'PENDING', attempts: 0, nextAttemptAt: p.now, lockedBy: null, lockedUntil: null, lastErrorCode: null,
    lastErrorMessage: null, externalRef: null, receiptDetails: null, ackDetails: null, ackDeadline: null,
    nextAckCheckAt: null, ackChecks: 0, manualRetries: 0, retriedAt: null, createdAt: p.now, updatedAt: p.now,
    lastAttemptAt: null, deliveredAt: null, acknowledgedAt: null, rejectedAt: null, deadAt: null, requestId: p.requestId,
  };
}

const invalid = (reason: string) => new ErpcError('ERPC_ERR_PUSH_INVALID', { reason });

/** Checks one input; the library call and the CLI get the same rules as the HTTP schema. */
function validate(raw: PushInput): ValidInput {
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
  const bytes = Buffer.byteLength(JSON.stringify(payload));
  if (bytes > MAX_PAYLOAD_BYTES) throw invalid(`payload is ${bytes} bytes; the limit is ${MAX_PAYLOAD_BYTES} (1 MiB).`);
  return {
    documentType,
    documentId,
    idempotencyKey: (idempotencyKey as string | undefined) ?? `${documentType}:${documentId}`,
    payload: payload as Record<string, unknown>,
    sha: payloadSha256(payload),
  };
}
