export type { Env, HostConfig, LogLevel, PluginGrant, SettingOverrides, SettingSource, SettingSpec } from './types.js';
export { LOG_LEVELS, SETTINGS } from './definitions.js';
export { loadHostConfig, type LoadHostConfigOptions } from './load-host-config.js';
export { unknownSettings, warnUnknownSettings } from './unknown-settings.js';
export { describeSettings, type DescribedSetting } from './describe-settings.js';
export { renderConfigurationDoc, renderEnvExample } from './render-docs.js';
