import type { Command } from 'commander';
import type { KeyStatus } from '../../keys/index.js';
import { EXIT, action, type CliCommand } from '../command.js';
import { keysGroup } from './keys-group.js';
import { commandLogger, commandSettings, refuseWhileServing } from '../host.js';

interface Options {
  json?: boolean;
}

/**
 * `erpc keys status [--json]`: the active key id, the loaded key ids, and the connection rows per
 * key id (legacy rows apart). Exits 1 (FAILURE) when rows are under a key that is not loaded (or
 * legacy rows no loaded key decrypts): those rows cannot be read, which a script must notice.
 */
export const keysStatusCommand: CliCommand = {
  register(program: Command) {
    keysGroup(program)
      .command('status')
      .description('show the active and loaded key ids and how many connection rows each key id holds; exit 1 when a key is missing')
      .option('--json', 'print one JSON document: {activeKeyId, loadedKeyIds, keys:[{keyId,rows,loaded,active}], legacy:{rows,decryptable}, missing:[{keyId,rows}], rowsToRotate}')
      .action(
        action(async (opts: Options) => {
          const config = commandSettings();
          await refuseWhileServing(config);
          const { openHost } = await import('../../container.js');
          const host = await openHost(config, { logger: commandLogger(config), plugins: 'none' });
          try {
            const status = await host.services.keyStatus();
            process.stdout.write(opts.json ? `${JSON.stringify(status)}\n` : formatStatus(status));
            return status.missing.length > 0 ? EXIT.FAILURE : EXIT.OK;
          } finally {
            await host.close();
          }
        }),
      );
  },
};

/** Human form of the status. */
export function formatStatus(s: KeyStatus): string {
  const lines: string[] = [];
  lines.push(`Active key:  ${s.activeKeyId}`);
  lines.push(`Loaded keys: ${s.loadedKeyIds.map((id) => (id === s.activeKeyId ? `${id} (active)` : `${id} (previous)`)).join(', ')}`);
  lines.push('');
  const rows: string[][] = [['KEY ID', 'ROWS', 'STATE']];
  for (const k of s.keys) {
    rows.push([k.keyId, String(k.rows), k.active ? 'active' : k.loaded ? 'previous key, to rotate' : 'NOT LOADED: these rows cannot be decrypted']);
  }
  if (s.legacy.rows > 0) {
    const state =
      s.legacy.decryptable === false
        ? 'NOT LOADED: no loaded key decrypts the legacy rows'
        : 'original system format, to rotate';
    rows.push(['legacy', String(s.legacy.rows), state]);
  }
  if (rows.length === 1) lines.push('No encrypted rows (connection configs, webhook signing secrets).');
  else {
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows) lines.push(r.map((cell, i) => (i === 1 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd());
  }
  lines.push('');
  if (s.missing.length > 0) {
    lines.push(
      `${s.missing.reduce((n, m) => n + m.rows, 0)} row(s) are under keys that are not loaded. Add the missing key to ENCRYPTION_PREVIOUS_KEYS (or fix ENCRYPTION_MASTER_KEY).`,
    );
  } else if (s.rowsToRotate > 0) {
    lines.push(`${s.rowsToRotate} row(s) are not under the active key: run \`pnpm erpc keys rotate\`.`);
  } else {
    lines.push('Every row is under the active key. Previous keys can be removed from ENCRYPTION_PREVIOUS_KEYS.');
  }
  return `${lines.join('\n')}\n`;
}
