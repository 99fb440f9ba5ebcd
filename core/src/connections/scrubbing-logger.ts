// The scrubbing code lives with the other logging code (logging/scrubbing.ts); the connection service imports REDACTED from here.
export { REDACTED, scrubValue, createScrubbingLogger } from '../logging/scrubbing.js';
