#!/usr/bin/env node
// `pnpm docs:config`: writes docs/configuration.md and .env.example from the settings schema
// (core/src/settings/definitions.ts, through the built dist). core/test/settings keeps them in step.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderConfigurationDoc, renderEnvExample } from '../dist/settings/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
writeFileSync(path.join(root, 'docs/configuration.md'), renderConfigurationDoc());
writeFileSync(path.join(root, '.env.example'), renderEnvExample());
process.stdout.write('wrote docs/configuration.md and .env.example\n');
