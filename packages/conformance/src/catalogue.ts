/** A check the kit runs: its stable id and what it verifies (the same text as docs/conformance.md). */
export interface CheckInfo {
  /** Stable id; the part before the dot is the group. */
  id: string;
  /** One line on what the check verifies. */
  title: string;
}

/** Every check, in the order the kit runs and reports them. Ids are stable: docs/conformance.md describes each. */
export const CHECKS: readonly CheckInfo[] = Object.freeze([
  { id: 'manifest.package-json', title: 'package.json is readable JSON with a name and a version' },
  { id: 'manifest.schema', title: 'the "erpc" field is valid against the SDK manifest schema' },
  { id: 'manifest.paths', title: 'entry and configSchema exist and resolve (after symlinks) inside the plugin folder' },
  { id: 'manifest.sdk', title: 'the sdk range is satisfied by this SDK version' },
  { id: 'config-schema.compiles', title: 'the config schema compiles with Ajv (draft 2020-12, strict, formats)' },
  { id: 'config-schema.valid-config', title: 'the valid config passes the schema' },
  { id: 'config-schema.invalid-configs', title: 'every invalid config fails the schema' },
  { id: 'config-schema.defaults', title: 'every default validates against its own subschema' },
  { id: 'config-schema.secrets-write-only', title: 'every property whose name looks secret is writeOnly' },
  { id: 'definition.export', title: 'the entry imports in time and its default export is a tagged connector definition' },
  { id: 'definition.api-version', title: 'apiVersion is supported' },
  { id: 'definition.type', title: "connectorType equals the manifest's" },
  { id: 'definition.create-no-io', title: 'create() does no I/O (files, network, processes, fetch)' },
  { id: 'definition.port', title: 'create() returns a port with push and testConnection' },
  { id: 'test-connection.ok', title: 'the valid config gives ok: true and a numeric latencyMs' },
  { id: 'test-connection.unreachable', title: 'the unreachable config gives ok: false with a message, not a throw, within the timeout' },
  { id: 'test-connection.aborted', title: 'an already-aborted signal settles within 1 s' },
  { id: 'push.receipts', title: 'every sample document gives a receipt with a string externalRef' },
  { id: 'push.idempotent', title: 'the same idempotency key twice gives the same externalRef' },
  { id: 'push.concurrent', title: '20 concurrent pushes all succeed, with distinct externalRefs' },
  { id: 'push.errors', title: 'a failing push throws a ConnectorError (name, string code, boolean retryable; operatorFixable, when set, boolean and with retryable)' },
  { id: 'secret-hygiene.logs', title: 'no canary in the context logger, console, stdout or stderr' },
  { id: 'secret-hygiene.errors', title: 'no canary in any error message, stack, cause or details' },
  { id: 'secret-hygiene.results', title: 'no canary in any receipt, test result or delivery status' },
  { id: 'purity.frozen', title: 'the plugin works with a deep-frozen config' },
  { id: 'purity.unchanged', title: 'the plugin does not change the config it is handed' },
  { id: 'delivery-check.states', title: 'checkDelivery (when implemented) returns only the documented states' },
]);

/** The check groups, in order: the part of an id before the dot. */
export const CHECK_GROUPS: readonly string[] = Object.freeze([...new Set(CHECKS.map((c) => c.id.split('.')[0]!))]);
