import { realpathSync } from 'node:fs';
import path from 'node:path';
import type { PluginCapabilities } from '@erpc/sdk';
import { ErpcError } from '../../errors/index.js';
import type { HostConfig, PluginGrant } from '../../settings/index.js';

/** The org placeholder of a granted root. */
const ORG = '{orgId}';

/** What one connection of a plugin may do in its sandbox. */
export interface EffectiveGrant {
  readonly network: boolean;
  /** Absolute roots it may write below, `{orgId}` already replaced. */
  readonly writeRoots: readonly string[];
}

/**
 * The operator's grants (ERPC_PLUGIN_GRANTS) applied to what each plugin declares in its manifest
 * (`capabilities`): a plugin gets the intersection. On the embedded database, a plugin that
 * declares `fsWrite` and has no grant of its own may write below `<ERPC_DATA_DIR>/drops/{orgId}`,
 * so the quick start can drop files without configuration; on PostgreSQL nothing is granted by
 * default. (docs/adr/0029-plugin-capabilities-and-grants.md)
 */
export class GrantPolicy {
  readonly #grants: Readonly<Record<string, PluginGrant>>;
  readonly #defaultRoot: string | undefined;

  constructor(config: Pick<HostConfig, 'databaseUrl' | 'dataDir'> & { sandbox: Pick<HostConfig['sandbox'], 'grants'> }) {
    this.#grants = config.sandbox.grants;
    this.#defaultRoot = config.databaseUrl === undefined ? path.join(config.dataDir, 'drops', ORG) : undefined;
  }

  /** The folder below which the embedded database's default roots lie (`<data dir>/drops`), if any. */
  get defaultBase(): string | undefined {
    return this.#defaultRoot === undefined ? undefined : path.dirname(this.#defaultRoot);
  }

  /** What the operator granted a connector type (the default on the embedded database included). */
  granted(connectorType: string, declared: PluginCapabilities | undefined): PluginGrant {
    const explicit = this.#grants[connectorType];
    if (explicit !== undefined) return explicit;
    if (this.#defaultRoot !== undefined && (declared?.fsWrite?.length ?? 0) > 0) return { fsWrite: [this.#defaultRoot] };
    return {};
  }

  /** What a connection of `orgId` gets: only what the plugin declared and the operator granted. */
  effective(connectorType: string, declared: PluginCapabilities | undefined, orgId: string): EffectiveGrant {
    const grant = this.granted(connectorType, declared);
    const wantsFiles = (declared?.fsWrite?.length ?? 0) > 0;
    return {
      network: declared?.network === true && grant.network === true,
      writeRoots: wantsFiles ? (grant.fsWrite ?? []).map((root) => rootFor(root, orgId)) : [],
    };
  }

  /**
   * Refuses (422 ERPC_ERR_CONFIG_PATH_NOT_GRANTED naming the field) a config whose declared path
   * fields (`capabilities.fsWrite` pointers) do not lie inside a root granted to this connection,
   * after resolving symlinks of the part that exists.
   */
  checkConfig(connectorType: string, declared: PluginCapabilities | undefined, orgId: string, config: unknown): void {
    const pointers = declared?.fsWrite ?? [];
    if (pointers.length === 0) return;
    const roots = this.effective(connectorType, declared, orgId).writeRoots.map(realOrLexical);
    for (const pointer of pointers) {
      const value = valueAt(config, pointer);
      if (value === undefined) continue; // an optional path field left out: the schema decides
      const target = typeof value === 'string' && path.isAbsolute(value) ? realOrLexical(value) : undefined;
      if (target === undefined || !roots.some((root) => target === root || target.startsWith(`${root}${path.sep}`))) {
        throw new ErpcError(
          'ERPC_ERR_CONFIG_PATH_NOT_GRANTED',
          { field: pointer, type: connectorType, roots: roots.length === 0 ? '(none)' : roots.join(', ') },
          { details: [{ path: pointer, message: roots.length === 0 ? 'no folder is granted to this connector type' : `must lie inside ${roots.join(' or ')}` }] },
        );
      }
    }
  }
}

/** A granted root with `{orgId}` replaced; an org id is a UUID, so it cannot climb out of the root. */
function rootFor(template: string, orgId: string): string {
  return path.resolve(template.split(ORG).join(orgId));
}

/** The real path of `p`, resolving symlinks of its longest existing prefix (the rest as written). */
export function realOrLexical(p: string): string {
  const resolved = path.resolve(p);
  const rest: string[] = [];
  for (let dir = resolved; ; dir = path.dirname(dir)) {
    try {
      return path.join(realpathSync(dir), ...rest.reverse());
    } catch {
      if (path.dirname(dir) === dir) return resolved;
      rest.push(path.basename(dir));
    }
  }
}

/** The value at a JSON Pointer (RFC 6901), or undefined. */
export function valueAt(doc: unknown, pointer: string): unknown {
  let node = doc;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (typeof node !== 'object' || node === null || !Object.prototype.hasOwnProperty.call(node, key)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}
