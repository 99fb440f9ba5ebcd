import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { renderConfigurationDoc, renderEnvExample, SETTINGS } from '../../src/settings/index.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const regenerate = 'run `pnpm docs:config` and commit the result';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? sourceFiles(full) : /\.(ts|cts|mts|js|cjs|mjs)$/.test(e.name) ? [full] : [];
  });
}

describe('docs/configuration.md and .env.example', () => {
  it('are what the settings schema renders', () => {
    expect(readFileSync(path.join(root, 'docs/configuration.md'), 'utf8'), regenerate).toBe(renderConfigurationDoc());
    expect(readFileSync(path.join(root, '.env.example'), 'utf8'), regenerate).toBe(renderEnvExample());
  });

  it('list every setting, and UV_THREADPOOL_SIZE as read by Node', () => {
    const doc = renderConfigurationDoc();
    const example = renderEnvExample();
    for (const { name } of SETTINGS) {
      expect(doc, name).toContain(`| \`${name}\` |`);
      expect(example, name).toMatch(new RegExp(`^# ${name}=`, 'm'));
    }
    expect(doc).toMatch(/Read by Node, not by erpc[\s\S]*UV_THREADPOOL_SIZE/);
  });

  it('never put a value in a secret line of .env.example', () => {
    for (const { name } of SETTINGS.filter((s) => s.secret)) expect(renderEnvExample(), name).toMatch(new RegExp(`^# ${name}=$`, 'm'));
  });

  it('give each setting a one-line meaning', () => {
    for (const spec of SETTINGS) {
      expect(spec.description.trim(), spec.name).not.toBe('');
      expect(spec.description, spec.name).not.toContain('\n');
    }
  });
});

describe('every environment variable named in core/src', () => {
  it('is a documented setting', () => {
    const names = new Set(SETTINGS.map((s) => s.name));
    const found = new Map<string, string>();
    for (const file of sourceFiles(path.join(root, 'core/src'))) {
      for (const [token] of readFileSync(file, 'utf8').matchAll(/\b(ERPC_[A-Z0-9_]+|DATABASE_URL|ENCRYPTION_[A-Z_]+)\b/g)) {
        if (!token.startsWith('ERPC_ERR_')) found.set(token, path.relative(root, file));
      }
    }
    expect(found.size).toBeGreaterThan(10);
    for (const [token, file] of found) {
      // `ERPC_PUSH_RETRY_*` in a comment names a family of settings: some setting must start with it.
      const known = token.endsWith('_') ? [...names].some((n) => n.startsWith(token)) : names.has(token);
      expect(known, `${token} (in ${file}) is not in core/src/settings/definitions.ts`).toBe(true);
    }
  });
});
