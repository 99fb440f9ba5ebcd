import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import type { ConnectorDefinition, ERPConnectorPort, PushDocument } from '@erpc/sdk';
import { createAjv, readPluginFiles, type AjvLike, type PluginFiles, type ValidateFn } from './plugin-files.js';
import { cloneJson, hostServices, operationContext, withCapturedOutput, withTimeout, type Captured } from './harness.js';
import { defaultSampleDocuments } from './samples.js';
import type { CheckResult, ConfigSource, ConformanceOptions } from './types.js';

type Config = Record<string, unknown>;

/** State shared by the checks of one run. Internal. */
export interface Session {
  options: ConformanceOptions;
  files: PluginFiles;
  ajv: AjvLike;
  validate?: ValidateFn;
  /** The imported default export, when it is a tagged definition. */
  definition?: ConnectorDefinition<Config>;
  /** Set when operations cannot run, with the reason (a failed earlier check). */
  blocked?: string;
  timeouts: { importMs: number; operationMs: number; abortMs: number };
  results: CheckResult[];
}

export async function openSession(options: ConformanceOptions): Promise<Session> {
  return {
    options,
    files: await readPluginFiles(options.pluginDir),
    ajv: createAjv(),
    timeouts: {
      importMs: options.timeouts?.importMs ?? 10_000,
      operationMs: options.timeouts?.operationMs ?? 10_000,
      abortMs: options.timeouts?.abortMs ?? 1_000,
    },
    results: [],
  };
}

async function resolveConfig(source: ConfigSource): Promise<Config> {
  // A deep copy even from a factory: the kit must be able to compare before and after.
  return cloneJson(typeof source === 'function' ? await source() : source);
}

/** A fresh valid config. */
export function validConfig(s: Session): Promise<Config> {
  return resolveConfig(s.options.validConfig);
}

/** A fresh unreachable config, or undefined when the options have none. */
export async function unreachableConfig(s: Session): Promise<Config | undefined> {
  return s.options.unreachableConfig === undefined ? undefined : resolveConfig(s.options.unreachableConfig);
}

/** Imports the plugin's entry with the import timeout and returns its default export. */
export async function importEntry(s: Session, entryPath: string): Promise<unknown> {
  const mod = (await withTimeout(import(pathToFileURL(entryPath).href), s.timeouts.importMs, 'importing the entry module')) as {
    default?: unknown;
  };
  return mod.default;
}

/** The connector type operations run under. */
export function connectorType(s: Session): string {
  return s.files.manifest?.connectorType ?? s.definition?.connectorType ?? 'UNKNOWN';
}

/** A new port from the definition, with output captured. */
export async function newPort(s: Session, sink: Captured): Promise<ERPConnectorPort<Config>> {
  if (s.options.ports !== undefined) return s.options.ports();
  const def = s.definition!;
  return withCapturedOutput(sink, async () => def.create(hostServices(sink)));
}

/** Releases a port, ignoring failures (dispose is not under test). */
export async function disposePort(s: Session, port: ERPConnectorPort<Config>, sink: Captured): Promise<void> {
  if (typeof port.dispose !== 'function') return;
  try {
    await withCapturedOutput(sink, () => withTimeout(Promise.resolve(port.dispose!()), s.timeouts.operationMs, 'dispose()'));
  } catch {
    // not a conformance concern
  }
}

/** Runs one plugin operation with output captured and the operation timeout. */
export function operate<T>(s: Session, sink: Captured, what: string, fn: () => Promise<T>, ms = s.timeouts.operationMs): Promise<T> {
  return withCapturedOutput(sink, () => withTimeout(Promise.resolve().then(fn), ms, what));
}

/** The sample documents, with ids filled in; fresh ids (and so fresh idempotency keys) on every call. */
export function sampleDocuments(s: Session): PushDocument[] {
  const samples = s.options.sampleDocuments ?? defaultSampleDocuments(s.files.manifest?.documentTypes);
  return samples.map((d) => freshDocument(d.documentType, d.documentId, d.payload, d));
}

/** A push document with fresh ids unless given. */
export function freshDocument(
  documentType: string,
  documentId: string,
  payload: unknown,
  given: Partial<Pick<PushDocument, 'pushId' | 'idempotencyKey' | 'createdAt'>> = {},
): PushDocument {
  const pushId = given.pushId ?? randomUUID();
  return {
    pushId,
    documentType,
    documentId,
    idempotencyKey: given.idempotencyKey ?? `conformance-${pushId}`,
    payload: cloneJson(payload),
    createdAt: given.createdAt ?? new Date().toISOString(),
  };
}

/** Context factory re-exported for the checks. */
export { operationContext };
export type { Config };
