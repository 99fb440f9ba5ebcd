import type { ErrorSpec } from '../error-spec.js';

/** Plugin discovery, validation, import and registration (core/src/plugins). */
export const pluginErrors = {
  ERPC_ERR_PLUGIN_PACKAGE_JSON_INVALID: {
    status: 500,
    message: 'package.json of the plugin in {dir} is not valid JSON: {reason}',
  },
  ERPC_ERR_MANIFEST_INVALID: {
    status: 500,
    message: 'The "erpc" manifest of the plugin in {dir} is invalid: {reason}',
  },
  ERPC_ERR_PLUGIN_PATH_ESCAPE: {
    status: 500,
    message: 'The manifest field "{field}" of the plugin in {dir} points outside the plugin directory.',
  },
  ERPC_ERR_PLUGIN_SDK_MISMATCH: {
    status: 500,
    message: 'The plugin in {dir} needs @erpc/sdk {range}, but this host provides {version}.',
  },
  ERPC_ERR_CONFIG_SCHEMA_MISSING: {
    status: 500,
    message: 'The config schema {path} of the plugin in {dir} does not exist.',
  },
  ERPC_ERR_CONFIG_SCHEMA_NOT_JSON: {
    status: 500,
    message: 'The config schema {path} of the plugin in {dir} is not valid JSON: {reason}',
  },
  ERPC_ERR_CONFIG_SCHEMA_INVALID: {
    status: 500,
    message: 'The config schema of the plugin in {dir} is rejected by Ajv (draft 2020-12, strict mode): {reason}',
  },
  ERPC_ERR_PLUGIN_ENTRY_MISSING: {
    status: 500,
    message: 'The entry module {path} of the plugin in {dir} does not exist. Build the plugin first?',
  },
  ERPC_ERR_PLUGIN_IMPORT_FAILED: {
    status: 500,
    message: 'Importing the entry module of the plugin in {dir} failed: {reason}',
  },
  ERPC_ERR_PLUGIN_SYNTAX_ERROR: {
    status: 500,
    message: 'The entry module of the plugin in {dir} (or a module it imports) is not valid JavaScript: {reason}',
  },
  ERPC_ERR_PLUGIN_IMPORT_TIMEOUT: {
    status: 500,
    message: 'Importing the entry module of the plugin in {dir} did not finish within {timeoutMs} ms.',
  },
  ERPC_ERR_PLUGIN_NO_DEFAULT_EXPORT: {
    status: 500,
    message: 'The entry module of the plugin in {dir} has no default export; export the connector definition as default.',
  },
  ERPC_ERR_PLUGIN_NOT_A_DEFINITION: {
    status: 500,
    message: 'The default export of the plugin in {dir} is not a connector definition (missing $$type "erpc.connector" or create()).',
  },
  ERPC_ERR_PLUGIN_API_VERSION_UNSUPPORTED: {
    status: 500,
    message: 'The connector definition of the plugin in {dir} has apiVersion {apiVersion}; this host supports {supported}.',
  },
  ERPC_ERR_PLUGIN_TYPE_MISMATCH: {
    status: 500,
    message: 'The plugin in {dir} declares connectorType {manifestType} in its manifest but {definitionType} in its definition.',
  },
  ERPC_ERR_PLUGIN_CREATE_FAILED: {
    status: 500,
    message: 'create() of the plugin in {dir} threw: {reason}',
  },
  ERPC_ERR_PLUGIN_PORT_INVALID: {
    status: 500,
    message: 'create() of the plugin in {dir} returned an object without {missing}; a connector must implement push and testConnection.',
  },
  ERPC_ERR_PLUGIN_DUPLICATE_TYPE: {
    status: 500,
    message: 'The plugin in {dir} provides connector type {type}, already provided by the plugin in {firstDir}; the first one stays registered.',
  },
  ERPC_ERR_PLUGIN_DIR_UNREADABLE: {
    status: 500,
    message: 'The plugin folder {dir} cannot be read: {reason}',
  },
  ERPC_ERR_CONNECTOR_UNKNOWN: {
    status: 400,
    message: 'Unknown connector type "{type}". Known types: {known}.',
  },
  ERPC_ERR_PLUGIN_IMPORT_CRASHED: {
    status: 500,
    message: 'Importing the entry module of the plugin in {dir} ended its sandbox process ({reason}); the other plugins were loaded without it.',
  },
  ERPC_ERR_CONFIG_PATH_NOT_GRANTED: {
    status: 422,
    message: 'The config field {field} of connector type {type} names a path outside the folders granted to it ({roots}). Use a folder inside a granted root, or ask the operator to grant one (ERPC_PLUGIN_GRANTS).',
  },
  ERPC_ERR_PLUGIN_CAPABILITY_NOT_GRANTED: {
    status: 500,
    message: 'The plugin of connector type {type} needs {capability}, which the operator has not granted it (ERPC_PLUGIN_GRANTS).',
  },
  ERPC_ERR_SANDBOX_START_FAILED: {
    status: 503,
    message: 'The sandbox process of connector type {type} could not be started: {reason}',
  },
} as const satisfies Record<string, ErrorSpec>;
