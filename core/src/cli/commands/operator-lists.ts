import type { Command } from 'commander';
import { action, type CliCommand, commandGroup, EXIT } from '../command.js';
import { commandSettings, runAdmin } from '../host.js';
import { listConnections, listPushes, listWorkerHeartbeats, showPush } from '../operator-queries.js';
import { connectionsGroup } from './connections-import.js';

/** The `pushes` group, found or created (issue I's `pushes retry` adds itself to the same one). */
export function pushesGroup(program: Command): Command {
  return commandGroup(program, 'pushes', 'the push outbox: inspect pushes and retry dead letters (operator commands, no API key)');
}

function workersGroup(program: Command): Command {
  return commandGroup(program, 'workers', 'the push workers sharing this database');
}

const print = (json: boolean | undefined, value: unknown, text: () => string) =>
  process.stdout.write(json === true ? `${JSON.stringify(value)}\n` : text());

interface ListOptions {
  org?: string;
  status?: string;
  limit?: string;
  json?: boolean;
}

const args = (o: ListOptions): Record<string, string> =>
  Object.fromEntries(Object.entries({ org: o.org, status: o.status, limit: o.limit }).filter(([, v]) => v !== undefined)) as Record<string, string>;

/** `erpc connections list [--org ORG] [--json]` */
export const connectionsListCommand: CliCommand = {
  register(program) {
    connectionsGroup(program)
      .command('list')
      .description('list connections (no API key; every organisation unless --org; secrets never shown)')
      .option('--org <id>', 'only this organisation')
      .option('--json', 'print {"items":[connection…]}')
      .addHelpText('after', '\nExamples:\n  erpc connections list\n  erpc connections list --org 6f1c… --json\n')
      .action(
        action(async (opts: ListOptions) => {
          const result = (await runAdmin(commandSettings(), 'connections.list', args(opts), (host) => listConnections(host, args(opts)))) as {
            items: { id: string; orgId: string; connectorType: string; status: string; name: string }[];
          };
          print(opts.json, result, () =>
            result.items.length === 0 ? 'No connections.\n' : `${result.items.map((c) => `${c.id}  ${c.orgId}  ${c.status.padEnd(8)}  ${c.connectorType}  ${c.name}`).join('\n')}\n`,
          );
          return EXIT.OK;
        }),
      );
  },
};

/** `erpc pushes list [--org ORG] [--status S] [--limit N] [--json]` */
export const pushesListCommand: CliCommand = {
  register(program) {
    pushesGroup(program)
      .command('list')
      .description('list pushes, newest first (no API key; every organisation unless --org)')
      .option('--org <id>', 'only this organisation')
      .option('--status <s>', 'only this status (PENDING, PROCESSING, DELIVERED, ACKNOWLEDGED, REJECTED, DEAD)')
      .option('--limit <n>', 'at most this many (1–100, default 50)')
      .option('--json', 'print {"items":[push…]}')
      .addHelpText('after', '\nExamples:\n  erpc pushes list --status DEAD\n  erpc pushes list --org 6f1c… --json\n')
      .action(
        action(async (opts: ListOptions) => {
          const result = (await runAdmin(commandSettings(), 'pushes.list', args(opts), (host) => listPushes(host, args(opts)))) as {
            items: { id: string; orgId: string; status: string; documentType: string; documentId: string; createdAt: string }[];
          };
          print(opts.json, result, () =>
            result.items.length === 0
              ? 'No pushes.\n'
              : `${result.items.map((p) => `${p.id}  ${p.createdAt}  ${p.status.padEnd(12)}  ${p.documentType} ${p.documentId}`).join('\n')}\n`,
          );
          return EXIT.OK;
        }),
      );
  },
};

/** `erpc pushes show ID [--org ORG] [--json]` */
export const pushesShowCommand: CliCommand = {
  register(program) {
    pushesGroup(program)
      .command('show')
      .description('show one push with its payload and last error (no API key)')
      .argument('<id>', 'the push id')
      .option('--org <id>', 'the organisation (default: look in every one)')
      .option('--json', 'print the push as JSON')
      .addHelpText('after', '\nExample:\n  erpc pushes show 0b7e… --json\n')
      .action(
        action(async (id: string, opts: ListOptions) => {
          const a = { ...args(opts), id };
          const push = await runAdmin(commandSettings(), 'pushes.show', a, (host) => showPush(host, a));
          print(opts.json, push, () => `${JSON.stringify(push, null, 2)}\n`);
          return EXIT.OK;
        }),
      );
  },
};

/** `erpc workers list [--json]` */
export const workersListCommand: CliCommand = {
  register(program) {
    workersGroup(program)
      .command('list')
      .description('list the workers that wrote a heartbeat: live, or stale after 3 missed heartbeats (killed, frozen, cut off)')
      .option('--json', 'print {"workers":[{"id","host","pid","startedAt","lastSeenAt","inFlight","status":"live"|"stale"}]}')
      .addHelpText('after', '\nExamples:\n  erpc workers list\n  erpc workers list --json\n')
      .action(
        action(async (opts: { json?: boolean }) => {
          const result = (await runAdmin(commandSettings(), 'workers.list', {}, (host) => listWorkerHeartbeats(host))) as {
            workers: { id: string; host: string; pid: number; lastSeenAt: string; inFlight: number; status: string }[];
          };
          print(opts.json, result, () =>
            result.workers.length === 0
              ? 'No workers have a heartbeat.\n'
              : `${result.workers.map((w) => `${w.status.padEnd(5)}  ${w.id}  pid ${w.pid}  in flight ${w.inFlight}  last seen ${w.lastSeenAt}`).join('\n')}\n`,
          );
          return EXIT.OK;
        }),
      );
  },
};
