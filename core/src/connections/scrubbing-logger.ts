// The scrubbing logger lives with the other logging code; connections and push import it from here.
export { REDACTED, scrubValue, createScrubbingLogger } from '../logging/scrubbing.js';
