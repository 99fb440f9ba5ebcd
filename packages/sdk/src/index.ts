export * from './types.js';
export * from './define-connector.js';
export * from './connector-error.js';
export * from './manifest-schema.js';
export * from './version.js';
export * from './exact-json.js';
