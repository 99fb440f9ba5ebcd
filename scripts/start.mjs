#!/usr/bin/env node
// `pnpm start`: build what is stale, then run `erpc serve` (which checks the keys, runs the
// migrations and loads the plugins before it listens). Without DATABASE_URL it uses the embedded
// database in ERPC_DATA_DIR (default ./.erpc/data) and a local key kept there.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Newest modification time of the files under `dir` (0 when it does not exist). */
function newest(dir, filter = () => true) {
  if (!existsSync(dir)) return 0;
  let max = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules') continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) max = Math.max(max, newest(full, filter));
    else if (filter(entry.name)) max = Math.max(max, statSync(full).mtimeMs);
  }
  return max;
}

/** Every workspace package that compiles src/ to dist/. */
function buildablePackages() {
  const dirs = [path.join(root, 'core')];
  for (const group of ['packages', 'plugins']) {
    const base = path.join(root, group);
    if (!existsSync(base)) continue;
    for (const name of readdirSync(base)) dirs.push(path.join(base, name));
  }
  return dirs.filter((d) => existsSync(path.join(d, 'src')) && existsSync(path.join(d, 'tsconfig.json')));
}

// Stale: no dist, or a source (or the package's tsconfig/package.json) newer than everything in dist.
const stale = buildablePackages().filter((dir) => {
  const built = newest(path.join(dir, 'dist'));
  if (built === 0) return true;
  const sources = Math.max(newest(path.join(dir, 'src')), statSync(path.join(dir, 'tsconfig.json')).mtimeMs, statSync(path.join(dir, 'package.json')).mtimeMs);
  return sources > built;
});
if (stale.length > 0) {
  process.stderr.write(`building (${stale.map((d) => path.relative(root, d)).join(', ')} changed)…\n`);
  const build = spawnSync('pnpm', ['-r', 'run', 'build'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
}

const args = [path.join(root, 'core/dist/cli/main.js'), 'serve', ...process.argv.slice(2)];
const child = spawn(process.execPath, args, { cwd: root, stdio: 'inherit', env: process.env });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
