export * from './error-spec.js';
export * from './registry.js';
export * from './erpc-error.js';
