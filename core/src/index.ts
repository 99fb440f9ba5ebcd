export * from './errors/index.js';
export * from './config.js';
export * from './clock.js';
export * from './tokens.js';
export * from './logging/logger.js';
export * from './plugins/index.js';
export * from './container.js';
