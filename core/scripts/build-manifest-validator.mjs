// Build step: ships validators precompiled, so a start-up does not compile them (ADR 0016, 0056):
// Ajv's standalone code for @erpc/sdk's manifest schema as dist/plugins/manifest-validator.cjs, and
// for erpc's settings schema as dist/settings/settings-validator.cjs. Each file carries the key of
// what it was compiled from; the module using it ignores it when the key differs.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const { shippedValidatorModule } = await import('../dist/shipped-validator.js');
const ajv = await import('../dist/plugins/ajv.js');
const settings = await import('../dist/settings/load-host-config.js');
const ship = (file, what, key, code) => writeFileSync(fileURLToPath(new URL(file, import.meta.url)), shippedValidatorModule(what, key, code));
ship('../dist/plugins/manifest-validator.cjs', "@erpc/sdk's manifest schema", ajv.manifestValidatorKey(), ajv.manifestValidatorSource());
ship('../dist/settings/settings-validator.cjs', "erpc's settings schema", settings.settingsValidatorKey(), settings.settingsValidatorSource());
