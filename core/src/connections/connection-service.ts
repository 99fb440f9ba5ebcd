import { randomUUID } from 'node:crypto';
import { inject, injectable } from '../di.js';
import type { ErrorObject } from 'ajv';
import type { Clock } from '@erpc/sdk';
import type { HostConfig } from '../settings/index.js';
import { ConfigCipher, omitWriteOnly, secretPointers, secretValuesOf } from '../crypto/index.js';
import { ErpcError, isErpcError } from '../errors/index.js';
import type { Logger } from '../logging/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { ConnectorRegistry } from '../plugins/connector-registry.js';
import type { LoadedPlugin } from '../plugins/types.js';
import type { ConnectionRow, ConnectionStore } from './ports.js';
import type { ConnectionTestRecorder } from '../webhooks/connection-test-events.js';
import { TOKENS } from '../tokens.js';
import { isUuid } from '../uuid.js';
import { mergeConfigPatch } from './config-merge.js';
import { decryptStoredConfig, type StoredConnectionConfig } from '../crypto/stored-config.js';
import { ConnectorCaller } from '../plugins/connector-call.js';
import type { GrantPolicy } from '../plugins/sandbox/grants.js';
import { scrubList, scrubMessage } from '../logging/scrubbing.js';
import type { ConnectionView } from './connection-view.js';
import { decodeCursor, encodeCursor } from '../keyset-cursor.js';
import { findJsonProblem, inputRefused } from '../input/json-input.js';

const MAX_MESSAGE_LENGTH = 1000;

/** Input limits of connections: the service checks them, the HTTP route schemas are built from them. */
export const CONNECTION_LIMITS = {
  maxName: 200,
  maxConnectorType: 200,
  defaultPageSize: 50,
  maxPageSize: 200,
} as const;

export type ConnectionStatus = 'ACTIVE' | 'DISABLED';

export type { ConnectionView, ConnectionTestSummary } from './connection-view.js';

/** One problem of a config, by JSON pointer. Messages never carry the submitted value. */
export interface ConfigIssue {
  path: string;
  message: string;
}

export interface CreateConnectionInput {
  connectorType: string;
  name: string;
  config: Record<string, unknown>;
  activate?: boolean;
}

export interface UpdateConnectionInput {
  name?: string;
  /** A JSON Merge Patch of the config: omitted fields (secrets included) keep their stored values. */
  config?: Record<string, unknown>;
  /**
   * `config` is the whole new config: nothing of the stored one is kept (nor read). The only way
   * to re-enter a config that no longer decrypts; a plain patch of such a row is refused.
   */
  replaceConfig?: boolean;
}

export interface ConnectionPage {
  items: ConnectionView[];
  nextCursor?: string;
}

export interface TestOutcome {
  ok: boolean;
  latencyMs: number;
  message?: string;
}

/**
 * Connections of organisations: validated against their connector's config schema, encrypted
 * bound to their row, one ACTIVE per organisation, tested with a time limit. Every method takes
 * the caller's orgId: a connection of another organisation is "not found".
 */
@injectable()
export class ConnectionService {
  readonly #testTimeoutMs: number;
  readonly #maxDepth: number;

  constructor(
    @inject(TOKENS.ConnectionStore) private readonly connections: ConnectionStore,
    @inject(TOKENS.ConnectorRegistry) private readonly registry: ConnectorRegistry,
    @inject(TOKENS.ConfigCipher) private readonly cipher: ConfigCipher,
    @inject(TOKENS.Logger) private readonly logger: Logger,
    @inject(TOKENS.Metrics) private readonly metrics: Metrics,
    @inject(TOKENS.Clock) private readonly clock: Clock,
    @inject(TOKENS.HostConfig) config: HostConfig,
    // Without a config cache: a test decrypts for itself, so plaintext does not linger in the API process.
    @inject(TOKENS.ConnectorCaller) private readonly caller: ConnectorCaller,
    @inject(TOKENS.GrantPolicy) private readonly grants: GrantPolicy,
    // The test's outcome with its webhook event (connection.test_failed) in one transaction.
    @inject(TOKENS.ConnectionTestRecorder) private readonly tests: ConnectionTestRecorder,
  ) {
    this.#testTimeoutMs = config.connectionTestTimeoutMs;
    this.#maxDepth = config.payloadMaxDepth;
  }

  /** Checks a config against the connector's schema without storing anything. */
  validateConfig(connectorType: string, config: unknown, orgId?: string): { valid: boolean; errors: ConfigIssue[] } {
    const plugin = this.registry.plugin(connectorType);
    this.#assertCarriable(config);
    const errors = this.#issues(plugin, config);
    if (errors.length === 0 && orgId !== undefined) this.#assertGranted(plugin, orgId, config);
    return { valid: errors.length === 0, errors };
  }

  /** Creates a connection (DISABLED, or ACTIVE with `activate: true`, replacing the org's active one). */
  async create(orgId: string, input: CreateConnectionInput): Promise<ConnectionView> {
    checkName(input.name);
    const plugin = this.registry.plugin(input.connectorType);
    this.#assertValid(plugin, input.config);
    this.#assertGranted(plugin, orgId, input.config);
    // The id exists before the ciphertext: the ciphertext is bound to (orgId, id).
    const id = randomUUID();
    const { blob, keyId } = this.cipher.encrypt(input.config, { orgId, connectionId: id });
    const now = this.clock.now();
    const row = await this.#conflictAware(() =>
      this.connections.create({
        id,
        orgId,
        connectorType: input.connectorType,
        name: input.name,
        configEncrypted: blob,
        configKeyId: keyId,
        activate: input.activate === true,
        now,
      }),
    );
    return this.#view(row, plugin, input.config);
  }

  /**
   * One connection of the organisation. A stored config that does not decrypt answers
   * ERPC_ERR_CONFIG_DECRYPT_FAILED ("Configuration error"), as ARCHITECTURE.md says; in a listing
   * (and after a disable or rename, which did happen) the row is shown marked instead (ADR 0020).
   */
  async get(orgId: string, id: string): Promise<ConnectionView> {
    const row = await this.#find(orgId, id);
    const view = this.#view(row, this.#pluginOrUndefined(row.connectorType));
    if (view.configError !== undefined) throw new ErpcError('ERPC_ERR_CONFIG_DECRYPT_FAILED');
    return view;
  }

  /** A page of the organisation's connections, oldest first. */
  async list(orgId: string, options: { limit?: number; cursor?: string } = {}): Promise<ConnectionPage> {
    const limit = Math.min(Math.max(options.limit ?? CONNECTION_LIMITS.defaultPageSize, 1), CONNECTION_LIMITS.maxPageSize);
    const after = options.cursor === undefined ? undefined : decodeCursor(options.cursor);
    const rows = await this.connections.listByOrg(orgId, { limit: limit + 1, after });
    const page = rows.slice(0, limit);
    const items = page.map((row) => this.#view(row, this.#pluginOrUndefined(row.connectorType)));
    const last = page[page.length - 1];
    return rows.length > limit && last !== undefined ? { items, nextCursor: encodeCursor(last) } : { items };
  }

  /** Renames and/or patches the config (merge patch; omitted secrets are kept), re-validated and re-encrypted. */
  async update(orgId: string, id: string, input: UpdateConnectionInput): Promise<ConnectionView> {
    if (input.name !== undefined) checkName(input.name);
    const row = await this.#find(orgId, id);
    const now = this.clock.now();
    if (input.config === undefined) {
      const updated = await this.connections.update(orgId, id, { name: input.name, now });
      if (updated === undefined) throw notFound(id);
      return this.#view(updated, this.#pluginOrUndefined(updated.connectorType));
    }
    const plugin = this.registry.plugin(row.connectorType);
    // Before the copy and the merge, which recurse: a config nested 3,000 levels overflowed the stack there.
    this.#assertCarriable(input.config);
    // A replacement reads nothing of the stored config, so it also re-enters one that does not
    // decrypt (ADR 0020); a patch of such a row fails like every other read of it (500), and the
    // stored bytes stay as they are (a missing key may still be found and loaded).
    const merged = input.replaceConfig === true
      ? structuredClone(input.config)
      : (mergeConfigPatch(decryptStoredConfig(this.cipher, storedConfigOf(row), this.logger), input.config) as Record<string, unknown>);
    this.#assertValid(plugin, merged);
    this.#assertGranted(plugin, orgId, merged);
    const { blob, keyId } = this.cipher.encrypt(merged, { orgId, connectionId: id });
    const updated = await this.connections.update(orgId, id, { name: input.name, configEncrypted: blob, configKeyId: keyId, now });
    if (updated === undefined) throw notFound(id);
    return this.#view(updated, plugin, merged);
  }

  /** Makes this the organisation's one ACTIVE connection; the previous one becomes DISABLED. */
  async activate(orgId: string, id: string): Promise<ConnectionView> {
    // Never switch an organisation to a connection whose config cannot be read: every push
    // would end DEAD "Configuration error", and the working connection would be disabled.
    const row = await this.#find(orgId, id);
    const plugin = this.#pluginOrUndefined(row.connectorType);
    const plain = plugin === undefined ? undefined : decryptStoredConfig(this.cipher, storedConfigOf(row), this.logger);
    const updated = await this.#conflictAware(() => this.connections.activate(orgId, id, this.clock.now()));
    if (updated === undefined) throw notFound(id);
    return this.#view(updated, plugin, plain);
  }

  /** Sets the connection DISABLED (the row stays, as history). */
  async disable(orgId: string, id: string): Promise<ConnectionView> {
    if (!isUuid(id)) throw notFound(id);
    const updated = await this.connections.disable(orgId, id, this.clock.now());
    if (updated === undefined) throw notFound(id);
    return this.#view(updated, this.#pluginOrUndefined(updated.connectorType));
  }

  /**
   * Runs the connector's testConnection with a time limit. A failing, throwing or timed-out
   * connector is `ok: false` with a message (secret values scrubbed); the outcome is stored on the row.
   */
  async test(orgId: string, id: string): Promise<TestOutcome> {
    const row = await this.#find(orgId, id);
    // Unknown types answer ERPC_ERR_CONNECTOR_UNKNOWN (naming the loaded ones), as before the call.
    this.registry.plugin(row.connectorType);
    const timeoutMs = this.#testTimeoutMs;
    const result = await this.caller.call({ operation: 'testConnection', connection: storedConfigOf(row), timeoutMs });
    if (result.kind === 'config-error') throw new ErpcError('ERPC_ERR_CONFIG_DECRYPT_FAILED');
    const ok = result.kind === 'value' && result.value.ok;
    // Every text from the connector arrives scrubbed of this connection's secrets and bounded.
    let message: string | undefined;
    switch (result.kind) {
      case 'value':
        message = result.value.message ?? (ok ? undefined : 'The connector reported a failed test without a message.');
        break;
      case 'timeout':
        message = `The connection test did not finish within ${timeoutMs} ms and was aborted.`;
        break;
      case 'connector-error':
        message = `${result.code}: ${result.message}`;
        break;
      case 'crashed':
      case 'invalid':
        message = `The connector failed: ${result.message}`;
        break;
      case 'aborted':
        message = 'The connection test was aborted.';
        break;
      case 'unavailable':
        message = `No plugin for connector type ${row.connectorType} is loaded.`;
        break;
      case 'sandbox-crashed':
        message = `The connector's sandbox process ended during the test: ${result.reason}`;
        break;
      case 'sandbox-unavailable':
        message = `The connector's sandbox keeps crashing; it is restarted in ${result.retryAfterMs} ms. Try again then.`;
        break;
    }
    const latencyMs = Math.round(result.durationMs);
    this.logger.info({ connectionId: row.id, orgId: row.orgId, connectorType: row.connectorType, ok, latencyMs }, 'connection test');
    this.metrics.observeConnectionTest(row.connectorType, ok, latencyMs);
    await this.tests.record(row, { at: this.clock.now(), ok, latencyMs, message: message ?? null });
    return message === undefined ? { ok, latencyMs } : { ok, latencyMs, message };
  }

  async #find(orgId: string, id: string): Promise<ConnectionRow> {
    // A malformed id cannot exist; answering 404 keeps the database from ever seeing it.
    if (!isUuid(id)) throw notFound(id);
    const row = await this.connections.findById(orgId, id);
    if (row === undefined) throw notFound(id);
    return row;
  }

  #pluginOrUndefined(connectorType: string): LoadedPlugin | undefined {
    return this.registry.has(connectorType) ? this.registry.plugin(connectorType) : undefined;
  }

  /** Maps the one-ACTIVE-per-org unique violation (23505 on both backends) to 409. */
  async #conflictAware<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (isUniqueViolation(err)) throw new ErpcError('ERPC_ERR_CONNECTION_CONFLICT', {}, { cause: err });
      throw err;
    }
  }

  #issues(plugin: LoadedPlugin, config: unknown): ConfigIssue[] {
    if (typeof config !== 'object' || config === null || Array.isArray(config)) {
      return [{ path: '', message: 'must be object' }];
    }
    if (plugin.validateConfig(config)) return [];
    const secrets = secretValuesOf(config, plugin.configSchema);
    return (plugin.validateConfig.errors ?? []).map((e) => toIssue(e, secrets));
  }

  /** A sandboxed plugin's declared path fields must lie inside the roots granted to this organisation (422 naming the field). */
  #assertGranted(plugin: LoadedPlugin, orgId: string, config: unknown): void {
    if (plugin.isolation === 'process') this.grants.checkConfig(plugin.connectorType, plugin.manifest.capabilities, orgId, config);
  }

  /**
   * The refusals at the door of issue I for a config from any caller (the HTTP body parser applies
   * them to request bodies; a library or CLI caller reaches here directly): nesting deeper than
   * ERPC_PAYLOAD_MAX_DEPTH, NUL or an unpaired surrogate in a string or key, values JSON cannot
   * carry. 422 ERPC_ERR_INPUT_REFUSED naming the JSON Pointer under /config, never the value.
   */
  #assertCarriable(config: unknown): void {
    if (typeof config !== 'object' || config === null) return; // the schema check says what is wrong with it
    const problem = findJsonProblem(config, this.#maxDepth, '/config');
    if (problem !== undefined) throw inputRefused(problem);
  }

  #assertValid(plugin: LoadedPlugin, config: unknown): void {
    this.#assertCarriable(config);
    const errors = this.#issues(plugin, config);
    if (errors.length > 0) {
      throw new ErpcError('ERPC_ERR_CONFIG_INVALID', { type: plugin.connectorType }, { details: errors });
    }
  }

  /**
   * The API view. `config` is decrypted only to drop its writeOnly parts; when the plugin is not
   * loaded (its schema unknown) no config is shown at all, since nothing tells which parts are secret.
   */
  #view(row: ConnectionRow, plugin: LoadedPlugin | undefined, plainConfig?: Record<string, unknown>): ConnectionView {
    let config: Record<string, unknown> = {};
    let secretFields: string[] = [];
    let configError: ConnectionView['configError'];
    if (plugin !== undefined) {
      let full: Record<string, unknown> | undefined = plainConfig;
      try {
        full ??= decryptStoredConfig(this.cipher, storedConfigOf(row), this.logger);
      } catch (err) {
        // One broken row must not hide the others in a listing, nor turn a disable or rename that
        // happened into an error: it is shown without its config, marked (ADR 0020);
        // decryptStoredConfig logged the reason.
        if (!isErpcError(err) || err.code !== 'ERPC_ERR_CONFIG_DECRYPT_FAILED') throw err;
        configError = { code: 'ERPC_ERR_CONFIG_DECRYPT_FAILED', message: 'Configuration error' };
      }
      if (full !== undefined) {
        config = omitWriteOnly(full, plugin.configSchema);
        secretFields = secretPointers(full, plugin.configSchema);
      }
    }
    return {
      id: row.id,
      connectorType: row.connectorType,
      name: row.name,
      status: row.status,
      config,
      secretFields,
      createdAt: iso(row.createdAt),
      updatedAt: iso(row.updatedAt),
      lastTest:
        row.lastTestAt === null || row.lastTestAt === undefined
          ? null
          : {
              at: iso(row.lastTestAt),
              ok: row.lastTestOk === true,
              latencyMs: row.lastTestLatencyMs ?? 0,
              ...(row.lastTestMessage ? { message: row.lastTestMessage } : {}),
            },
      ...(configError !== undefined ? { configError } : {}),
    };
  }
}

function storedConfigOf(row: ConnectionRow): StoredConnectionConfig {
  return { id: row.id, orgId: row.orgId, connectorType: row.connectorType, configEncrypted: row.configEncrypted, configKeyId: row.configKeyId };
}

function notFound(id: string): ErpcError {
  // The id is echoed only when it looks like one of ours; anything else could be arbitrary input.
  return new ErpcError('ERPC_ERR_CONNECTION_NOT_FOUND', { id: isUuid(id) ? id : '(malformed id)' });
}

function iso(value: Date | string): string {
  return value instanceof Date ? value.toISOString() : new Date(value).toISOString();
}

function scrub(text: string, secrets: readonly string[]): string {
  return scrubMessage(text.length > MAX_MESSAGE_LENGTH ? `${text.slice(0, MAX_MESSAGE_LENGTH)}…` : text, scrubList(secrets));
}

/**
 * One Ajv error as `{path, message}`: the path names the missing or unexpected property; Ajv's message
 * names the rule (type, pattern, allowed values), never the data; scrubbed anyway. Also used by import.
 */
export function toIssue(e: ErrorObject, secrets: readonly string[]): ConfigIssue {
  let path = e.instancePath;
  const params = e.params as Record<string, unknown>;
  if (e.keyword === 'required' && typeof params.missingProperty === 'string') path += `/${escapePointer(params.missingProperty)}`;
  if (e.keyword === 'dependentRequired' && typeof params.missingProperty === 'string') path += `/${escapePointer(params.missingProperty)}`;
  if (e.keyword === 'additionalProperties' && typeof params.additionalProperty === 'string') path += `/${escapePointer(params.additionalProperty)}`;
  return { path: scrub(path, secrets), message: scrub(e.message ?? `fails the "${e.keyword}" rule`, secrets) };
}

function escapePointer(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '23505';
}

/** The library call gets the same rule as the HTTP schema (built from CONNECTION_LIMITS). */
function checkName(name: unknown): void {
  if (typeof name !== 'string' || name.length === 0 || name.length > CONNECTION_LIMITS.maxName) {
    throw new ErpcError('ERPC_ERR_USAGE', { reason: `A connection name is 1 to ${CONNECTION_LIMITS.maxName} characters.` });
  }
}
