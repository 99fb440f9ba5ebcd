import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logging/logger.js';
import { sandboxCodeReads, sandboxExecArgv } from '../../src/plugins/sandbox/permissions.js';
import { HoldUntilOpen } from '../../src/plugins/sandbox/protocol.js';
import { SandboxProcess } from '../../src/plugins/sandbox/sandbox-process.js';

const spy = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/sandbox/spy');

/**
 * The host sends a sandbox its load at once, before the sandbox has said hello (ADR 0052, protocol
 * version 4). The sandbox holds what arrives before its hello, so plugin code never runs before
 * its environment is cleared and the host never reads an answer where it expects hello.
 */
describe('sandbox load sent before hello', () => {
  it('what arrives before open() waits and comes out in order; afterwards it passes at once', () => {
    const out: number[] = [];
    const gate = new HoldUntilOpen<number>((n) => out.push(n));
    gate.push(1);
    gate.push(2);
    expect(out).toEqual([]);
    gate.open();
    expect(out).toEqual([1, 2]);
    gate.push(3);
    expect(out).toEqual([1, 2, 3]);
    gate.open();
    expect(out).toEqual([1, 2, 3]);
  });

  it('a sandbox started with a thread-pool size (its hello waits for the pool) loads a plugin sent to it at spawn, every time', { timeout: 60_000 }, async () => {
    // Without the hold, about one start in ten answered the load before hello here and the
    // host killed it ("speaks another protocol").
    const startOne = async (): Promise<unknown> => {
      const sandbox = new SandboxProcess({
        label: 'early load',
        execArgv: sandboxExecArgv({ read: [...sandboxCodeReads(), spy], write: [], network: false, memoryMb: 64 }),
        identity: undefined,
        threadPoolSize: 8,
        logger: createLogger({ level: 'silent' }),
        scrub: (text) => text,
        onSync: () => Promise.reject(new Error('no files')),
        onLog: () => undefined,
        onExit: () => undefined,
      });
      try {
        return (await sandbox.load([{ key: 0, connectorType: 'HOSTILE_SPY_V1', entryPath: path.join(spy, 'index.js'), root: spy }], false)).get(0);
      } finally {
        sandbox.kill();
      }
    };
    for (let round = 0; round < 6; round++) {
      const outcomes = await Promise.all(Array.from({ length: 4 }, startOne));
      for (const outcome of outcomes) expect(outcome).toEqual({ ok: true, ops: { checkDelivery: false, dispose: false } });
    }
  });
});
