export * from './types.js';
export * from './catalogue.js';
export * from './run.js';
export * from './samples.js';
export * from './secret-names.js';
export * from './scaffold.js';
export { runConformanceCli, runConformanceCommand, formatReport, CLI_EXIT, type CliIo, type ConformanceCommandOptions } from './cli.js';
