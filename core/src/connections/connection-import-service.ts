import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { ConfigCipher, isConfigDecryptError, LEGACY_KEY_ID } from '../crypto/index.js';
import { ErpcError } from '../errors/index.js';
import { toIssue } from './connection-service.js';
import type { ConnectorRegistry } from '../plugins/connector-registry.js';
import type { ConnectionImportStore, ImportedConnection } from './ports.js';
import { isUuid } from '../uuid.js';

/** Why a line of the import file was refused. `skippable` problems may be skipped with `skipInvalid`. */
export type ImportProblemKind =
  /** Not a JSON object, or a field missing / of the wrong type. Never skippable. */
  | 'ROW_INVALID'
  /** No loaded plugin provides `connector_type`. */
  | 'CONNECTOR_UNKNOWN'
  /** `config_encrypted` does not decrypt with any loaded key (ConfigDecryptError code in `reason`). */
  | 'CONFIG_DECRYPT_FAILED'
  /** The decrypted config does not match the connector's config schema (`details`: JSON pointers). */
  | 'CONFIG_INVALID';

/** One refused line: line number, org id when known, what is wrong. Never a config value or ciphertext. */
export interface ImportProblem {
  line: number;
  orgId?: string;
  kind: ImportProblemKind;
  message: string;
  details?: { path: string; message: string }[];
}

/** Options of {@link ConnectionImportService.importFile}. */
export interface ImportOptions {
  /** Import the valid rows and report the others, instead of importing nothing. */
  skipInvalid?: boolean;
  onProgress?: (progress: { phase: 'validate' | 'insert'; done: number; total: number | null }) => void;
}

/** The outcome of an import. */
export interface ImportReport {
  /** Non-empty lines read. */
  rows: number;
  imported: number;
  organizationsCreated: number;
  /** Rows left out (only with skipInvalid). */
  skipped: ImportProblem[];
  /**
   * Rows imported before (by an earlier run, or earlier in this file): same organisation,
   * connector type and ciphertext. Left as they are, with the connection they became.
   */
  alreadyImported: { line: number; orgId: string; connectionId: string }[];
  /** Ids given to the imported connections, in file order. */
  connectionIds: string[];
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const NAME_MAX = 200;
const SKIPPABLE = new Set<ImportProblemKind>(['CONNECTOR_UNKNOWN', 'CONFIG_DECRYPT_FAILED', 'CONFIG_INVALID']);
const PROGRESS_EVERY = 1_000;
/** Largest line accepted: a config is small; a huge line is a wrong file, not a row. */
const MAX_LINE_CHARS = 1_048_576;

interface ParsedRow {
  line: number;
  orgId: string;
  connectorType: string;
  name: string;
  status: 'ACTIVE' | 'DISABLED';
  blob: Buffer;
  source: string;
  /** `${orgId} ${source}`: the same exported row for the same organisation. */
  key: string;
}

/**
 * Imports connection rows exported from the original system (one JSON object per line:
 * `{org_id, connector_type, name?, status, config_encrypted}`, config_encrypted = base64 of the
 * Python format) as legacy rows: the ciphertext is stored untouched under `config_key_id = 'legacy'`
 * and `erpc keys rotate` rewrites it later. All-or-nothing: every row is checked first (shape,
 * connector type, decryption, config schema, one ACTIVE per organisation), then everything is
 * inserted in one transaction. Rows imported before (same organisation, connector type and
 * ciphertext, even since rotated) are recognised and skipped, so a re-run is safe (ADR 0022).
 */
export class ConnectionImportService {
  constructor(
    private readonly store: ConnectionImportStore,
    private readonly cipher: ConfigCipher,
    private readonly registry: ConnectorRegistry,
  ) {}

  /** Reads and imports a JSONL file. */
  async importFile(path: string, options: ImportOptions = {}): Promise<ImportReport> {
    let lines: string[];
    try {
      lines = await readLines(path);
    } catch (err) {
      if (err instanceof ErpcError) throw err;
      const reason = (err as NodeJS.ErrnoException).code ?? 'read error';
      throw new ErpcError('ERPC_ERR_IMPORT_FILE_UNREADABLE', { path, reason }, { cause: err });
    }
    return this.importLines(lines, options);
  }

  /** Imports rows given as the lines of a JSONL file (line numbers are 1-based positions in `lines`). */
  async importLines(lines: readonly string[], options: ImportOptions = {}): Promise<ImportReport> {
    const problems: ImportProblem[] = [];
    const valid: ParsedRow[] = [];
    let rows = 0;
    const total = lines.length;
    for (let i = 0; i < lines.length; i += 1) {
      const text = lines[i]!.trim();
      if (text !== '') {
        rows += 1;
        const parsed = this.#check(text, i + 1);
        if ('kind' in parsed) problems.push(parsed);
        else valid.push(parsed);
      }
      if ((i + 1) % PROGRESS_EVERY === 0 || i + 1 === total) options.onProgress?.({ phase: 'validate', done: i + 1, total });
    }

    const fatal = problems.filter((p) => !SKIPPABLE.has(p.kind) || options.skipInvalid !== true);
    if (fatal.length > 0) {
      throw new ErpcError('ERPC_ERR_IMPORT_INVALID', { count: fatal.length }, { details: { problems: fatal } });
    }
    // The same exported row twice in the file: the first one counts, the others are repeats.
    const firstOfKey = new Map<string, ParsedRow>();
    const repeats: ParsedRow[] = [];
    for (const r of valid) {
      if (firstOfKey.has(r.key)) repeats.push(r);
      else firstOfKey.set(r.key, r);
    }
    const distinct = [...firstOfKey.values()];
    const conflictsInFile = activeConflictsInFile(distinct);
    if (conflictsInFile.length > 0) throw activeConflictError(conflictsInFile);

    const { organizationsCreated, fresh, alreadyImported } = await this.store.transaction(async (tx) => {
      // Rows an earlier run imported (ADR 0022): recognised by their fingerprint, left alone.
      const before = await tx.connections.importedSources(distinct.map((r) => r.source));
      const toInsert = distinct.filter((r) => !before.has(r.key));
      const activeOrgs = [...new Set(toInsert.filter((r) => r.status === 'ACTIVE').map((r) => r.orgId))];
      const existing = await tx.connections.activeOfOrgs(activeOrgs);
      if (existing.length > 0) {
        throw activeConflictError(
          existing.map((e) => ({
            orgId: e.orgId,
            lines: toInsert.filter((r) => r.orgId === e.orgId && r.status === 'ACTIVE').map((r) => r.line),
            existingConnectionId: e.id,
          })),
        );
      }
      const created = await tx.organizations.createMissing([...new Set(toInsert.map((r) => r.orgId))]);
      const connectionIds = new Map(before);
      const connections: ImportedConnection[] = toInsert.map((r) => {
        const id = randomUUID();
        connectionIds.set(r.key, id);
        return { id, orgId: r.orgId, connectorType: r.connectorType, name: r.name, status: r.status, blob: r.blob, keyId: LEGACY_KEY_ID, source: r.source };
      });
      try {
        await tx.connections.insertImported(connections, (done) =>
          options.onProgress?.({ phase: 'insert', done, total: connections.length }),
        );
      } catch (err) {
        // A unique index fired: another import committed the same rows meanwhile, or an ACTIVE
        // connection was created meanwhile. Either way the transaction rolls back everything.
        if ((err as { code?: unknown }).code === '23505') {
          if (String((err as { constraint?: unknown }).constraint ?? (err as Error).message).includes('import_source')) {
            throw new ErpcError('ERPC_ERR_IMPORT_CONCURRENT', {}, { cause: err });
          }
          throw new ErpcError('ERPC_ERR_IMPORT_ACTIVE_CONFLICT', { conflicts: 'an ACTIVE connection was created while importing' }, { cause: err });
        }
        throw err;
      }
      const again = [...distinct.filter((r) => before.has(r.key)), ...repeats]
        .sort((a, b) => a.line - b.line)
        .map((r) => ({ line: r.line, orgId: r.orgId, connectionId: connectionIds.get(r.key)! }));
      return { organizationsCreated: created, fresh: connections, alreadyImported: again };
    });
    return {
      rows,
      imported: fresh.length,
      organizationsCreated,
      skipped: problems,
      alreadyImported,
      connectionIds: fresh.map((c) => c.id),
    };
  }

  #check(text: string, line: number): ParsedRow | ImportProblem {
    const invalid = (message: string, orgId?: string): ImportProblem => ({ line, ...(orgId === undefined ? {} : { orgId }), kind: 'ROW_INVALID', message });
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return invalid('the line is not valid JSON');
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return invalid('the line is not a JSON object');
    const row = value as Record<string, unknown>;
    if (typeof row.org_id !== 'string' || !isUuid(row.org_id)) return invalid('org_id must be a UUID');
    const orgId = row.org_id.toLowerCase();
    if (typeof row.connector_type !== 'string' || row.connector_type === '') return invalid('connector_type must be a non-empty string', orgId);
    if (row.name !== undefined && row.name !== null && (typeof row.name !== 'string' || row.name.trim() === '' || row.name.length > NAME_MAX)) {
      return invalid(`name, when given, must be a non-empty string of at most ${NAME_MAX} characters`, orgId);
    }
    if (row.status !== 'ACTIVE' && row.status !== 'DISABLED') return invalid('status must be "ACTIVE" or "DISABLED"', orgId);
    if (typeof row.config_encrypted !== 'string' || row.config_encrypted === '' || !BASE64.test(row.config_encrypted)) {
      return invalid('config_encrypted must be the base64 of the stored config', orgId);
    }
    const blob = Buffer.from(row.config_encrypted, 'base64');
    const connectorType = row.connector_type;
    if (!this.registry.has(connectorType)) {
      return { line, orgId, kind: 'CONNECTOR_UNKNOWN', message: `no loaded plugin provides connector type ${JSON.stringify(connectorType).slice(0, 80)}` };
    }
    let config: Record<string, unknown>;
    try {
      config = this.cipher.decryptLegacy(blob);
    } catch (err) {
      if (!isConfigDecryptError(err)) throw err;
      return { line, orgId, kind: 'CONFIG_DECRYPT_FAILED', message: `the config does not decrypt with any loaded key (${err.code})` };
    }
    const validate = this.registry.plugin(connectorType).validateConfig;
    // Validate a copy: Ajv may fill in defaults, and what is stored is the original ciphertext anyway.
    if (!validate(structuredClone(config))) {
      const details = (validate.errors ?? []).map((e) => {
        const issue = toIssue(e, []);
        return { path: issue.path === '' ? '/' : issue.path, message: issue.message };
      });
      return { line, orgId, kind: 'CONFIG_INVALID', message: `the config does not match the ${connectorType} config schema`, details };
    }
    const name = typeof row.name === 'string' ? row.name.trim() : `${connectorType} (imported)`;
    // What identifies the exported row: a random IV makes two exports of configs never equal.
    const source = createHash('sha256').update(connectorType).update('\0').update(blob).digest('hex');
    return { line, orgId, connectorType, name, status: row.status, blob, source, key: `${orgId} ${source}` };
  }
}

interface ActiveConflict {
  orgId: string;
  lines: number[];
  existingConnectionId?: string;
}

function activeConflictsInFile(rows: readonly ParsedRow[]): ActiveConflict[] {
  const byOrg = new Map<string, number[]>();
  for (const r of rows) {
    if (r.status !== 'ACTIVE') continue;
    const lines = byOrg.get(r.orgId) ?? [];
    lines.push(r.line);
    byOrg.set(r.orgId, lines);
  }
  return [...byOrg.entries()].filter(([, lines]) => lines.length > 1).map(([orgId, lines]) => ({ orgId, lines }));
}

function activeConflictError(conflicts: readonly ActiveConflict[]): ErpcError {
  const text = conflicts
    .map((c) =>
      c.existingConnectionId === undefined
        ? `organisation ${c.orgId} has ACTIVE rows on lines ${c.lines.join(', ')}`
        : `organisation ${c.orgId} already has ACTIVE connection ${c.existingConnectionId} and line ${c.lines.join(', ')} is ACTIVE`,
    )
    .join('; ');
  return new ErpcError('ERPC_ERR_IMPORT_ACTIVE_CONFLICT', { conflicts: text }, { details: { conflicts } });
}

async function readLines(path: string): Promise<string[]> {
  const lines: string[] = [];
  const input = createReadStream(path, { encoding: 'utf8' });
  const reader = createInterface({ input, crlfDelay: Infinity });
  for await (const line of reader) {
    if (line.length > MAX_LINE_CHARS) {
      throw new ErpcError('ERPC_ERR_IMPORT_FILE_UNREADABLE', { path, reason: `line ${lines.length + 1} is longer than ${MAX_LINE_CHARS} characters` });
    }
    lines.push(line);
  }
  return lines;
}
