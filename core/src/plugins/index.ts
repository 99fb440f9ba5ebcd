export * from './types.js';
export * from './connector-registry.js';
export * from './discover.js';
export * from './plugin-loader.js';
export * from './schema-cache.js';
