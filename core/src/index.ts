export * from './errors/index.js';
export * from './settings/index.js';
export * from './clock.js';
export * from './logging/logger.js';
export * from './plugins/index.js';
export * from './container.js';
