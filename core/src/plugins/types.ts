import type { ValidateFunction } from 'ajv';
import type { ERPConnectorPort, PluginManifest } from '@erpc/sdk';

/** A plugin that loaded: its manifest, its compiled config validator and its port instance. */
export interface LoadedPlugin {
  /** The plugin's directory as discovered (absolute). */
  readonly dir: string;
  /** package.json `name`. */
  readonly name: string;
  /** package.json `version`. */
  readonly version: string;
  readonly manifest: Readonly<PluginManifest>;
  readonly connectorType: string;
  /** manifest.displayName, else the package name. */
  readonly displayName: string;
  /** manifest.documentTypes; undefined when the plugin accepts any type. */
  readonly documentTypes: readonly string[] | undefined;
  /** The parsed config JSON Schema (draft 2020-12). */
  readonly configSchema: Readonly<Record<string, unknown>>;
  /** The config schema compiled by Ajv (strict, allErrors, formats): validate connection configs with it. */
  readonly validateConfig: ValidateFunction;
  /**
   * The connector instance create(deps) returned, when the plugin runs in the host process
   * (trusted, or ERPC_PLUGIN_ISOLATION=in-process). Undefined for a sandboxed plugin: its port
   * lives in its sandbox processes and is reached through the one connector call.
   */
  readonly port?: ERPConnectorPort<unknown>;
  /** Where the plugin's code runs (default in-process). */
  readonly isolation?: 'in-process' | 'process';
  /** The entry module (absolute): what a sandbox imports. */
  readonly entryPath?: string;
  /** The optional operations the port implements (checked where it was created). */
  readonly operations?: { readonly checkDelivery: boolean; readonly dispose: boolean };
}

/** A plugin (or a plugin folder) that did not load, with the reason. */
export interface FailedPlugin {
  readonly dir: string;
  readonly name?: string;
  readonly version?: string;
  readonly connectorType?: string;
  readonly error: { readonly code: string; readonly message: string };
}

/** The outcome of loading every plugin folder. Both lists are in discovery order (folder, then path). */
export interface PluginLoadReport {
  readonly loaded: readonly LoadedPlugin[];
  readonly failed: readonly FailedPlugin[];
}
