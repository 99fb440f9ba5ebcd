import { inspect } from 'node:util';
import { redactWriteOnly, secretValuesOf } from './secret-fields.js';

type ConfigObject = Record<string, unknown>;
type Schema = Record<string, unknown>;

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

const PLACEHOLDER = '[SecretConfig]';

/**
 * A decrypted config held past the call that decrypted it. `reveal()` gives the config (a
 * deep-frozen copy); `JSON.stringify`, `util.inspect`, `String()` and template literals print
 * `[SecretConfig]`, or, when built with the connector's config schema, the config with every
 * writeOnly value replaced by "[redacted]".
 */
export class SecretConfig {
  readonly #config: Readonly<ConfigObject>;
  readonly #schema: Schema | undefined;

  constructor(config: ConfigObject, schema?: Schema) {
    this.#config = deepFreeze(structuredClone(config));
    this.#schema = schema;
    Object.freeze(this);
  }

  /** The config itself, deep-frozen. Hand it to the connector; never log it. */
  reveal(): Readonly<ConfigObject> {
    return this.#config;
  }

  /** The non-empty string values of writeOnly fields (needs the schema; else empty), for log scrubbing. */
  secretValues(): string[] {
    return this.#schema === undefined ? [] : secretValuesOf(this.#config, this.#schema);
  }

  /** The config with writeOnly values redacted, or "[SecretConfig]" without a schema. */
  toJSON(): unknown {
    return this.#schema === undefined ? PLACEHOLDER : redactWriteOnly(this.#config, this.#schema);
  }

  toString(): string {
    return PLACEHOLDER;
  }

  [Symbol.toPrimitive](): string {
    return PLACEHOLDER;
  }

  [inspect.custom](depth: number, options: Parameters<typeof inspect>[1]): string {
    if (this.#schema === undefined) return PLACEHOLDER;
    return `SecretConfig ${inspect(this.toJSON(), { ...options, depth: options?.depth == null ? null : Math.max(0, options.depth - 1) })}`;
  }
}
