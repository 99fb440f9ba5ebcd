import type { Command } from 'commander';
import { action, type CliCommand, commandGroup, EXIT } from '../command.js';
import { commandSettings, runAdmin } from '../host.js';
import { listWebhookDeliveries, replayWebhookEvent } from '../operator-queries.js';

function webhooksGroup(program: Command): Command {
  return commandGroup(program, 'webhooks', 'webhook deliveries to the applications: inspect and replay (operator commands, no API key)');
}

interface Delivery {
  id: string;
  eventId: string;
  eventType: string;
  orgId: string;
  url: string;
  status: string;
  attempts: number;
  lastStatusCode: number | null;
  nextAttemptAt: string | null;
  lastError: string | null;
}

/** `erpc webhooks list [--org ORG] [--status S] [--limit N] [--json]` */
export const webhooksListCommand: CliCommand = {
  register(program) {
    webhooksGroup(program)
      .command('list')
      .description('list webhook deliveries, newest first (every organisation unless --org; never a secret)')
      .option('--org <id>', 'only this organisation')
      .option('--status <s>', 'only this status (PENDING, PROCESSING, DELIVERED, FAILED)')
      .option('--limit <n>', 'at most this many (1–100, default 50)')
      .option('--json', 'print {"items":[delivery…]}')
      .addHelpText('after', '\nExamples:\n  erpc webhooks list --status FAILED\n  erpc webhooks list --org 6f1c… --json\n')
      .action(
        action(async (opts: { org?: string; status?: string; limit?: string; json?: boolean }) => {
          const args = Object.fromEntries(Object.entries({ org: opts.org, status: opts.status, limit: opts.limit }).filter(([, v]) => v !== undefined)) as Record<string, string>;
          const result = (await runAdmin(commandSettings(), 'webhooks.list', args, (host) => listWebhookDeliveries(host, args))) as { items: Delivery[] };
          if (opts.json === true) process.stdout.write(`${JSON.stringify(result)}\n`);
          else if (result.items.length === 0) process.stdout.write('No webhook deliveries.\n');
          else {
            const line = (d: Delivery) =>
              `${d.eventId}  ${d.status.padEnd(10)}  ${d.eventType.padEnd(22)}  attempts ${d.attempts}  ${d.lastStatusCode ?? '-'}  ${d.url}${d.nextAttemptAt !== null ? `  next ${d.nextAttemptAt}` : ''}${d.lastError !== null && d.status !== 'DELIVERED' ? `  (${d.lastError})` : ''}`;
            process.stdout.write(`${result.items.map(line).join('\n')}\n`);
          }
          return EXIT.OK;
        }),
      );
  },
};

/** `erpc webhooks replay EVENT_ID [--json]` */
export const webhooksReplayCommand: CliCommand = {
  register(program) {
    webhooksGroup(program)
      .command('replay')
      .description('send a webhook event again to its endpoints, with the same webhook-id (any organisation)')
      .argument('<eventId>', 'the event (eventId in `erpc webhooks list`; the webhook-id header)')
      .option('--json', 'print {"eventId", "deliveries":[…]}')
      .action(
        action(async (eventId: string, opts: { json?: boolean }) => {
          const result = (await runAdmin(commandSettings(), 'webhooks.replay', { eventId }, (host) => replayWebhookEvent(host, { eventId }))) as { eventId: string; deliveries: unknown[] };
          if (opts.json === true) process.stdout.write(`${JSON.stringify(result)}\n`);
          else process.stdout.write(`event ${result.eventId} queued again for ${result.deliveries.length} endpoint(s)\n`);
          return EXIT.OK;
        }),
      );
  },
};
