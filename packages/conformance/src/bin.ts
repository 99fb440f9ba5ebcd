#!/usr/bin/env node
import { runConformanceCli } from './cli.js';

const code = await runConformanceCli(process.argv.slice(2));
// A plugin may leave timers or sockets behind; the report is written, so end here.
process.exit(code);
