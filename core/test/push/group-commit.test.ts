import { describe, expect, it } from 'vitest';
import { GroupCommit } from '../../src/group-commit.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function recorder(lingerMs?: number, maxBatch?: number) {
  const batches: number[][] = [];
  const gc = new GroupCommit<number>({
    write: async (batch) => {
      batches.push(batch);
      await sleep(5);
    },
    failed: () => {},
    stopRetrying: () => true,
    ...(lingerMs !== undefined ? { lingerMs } : {}),
    ...(maxBatch !== undefined ? { maxBatch } : {}),
  });
  return { gc, batches };
}

describe('GroupCommit', () => {
  it('without linger writes the first item at once and what came meanwhile together', async () => {
    const { gc, batches } = recorder();
    gc.add(1);
    await sleep(1);
    gc.add(2);
    gc.add(3);
    await gc.flush();
    expect(batches).toEqual([[1], [2, 3]]);
  });

  it('with linger, items added within the window are written as one batch, not before the window ends', async () => {
    const { gc, batches } = recorder(40);
    gc.add(1);
    await sleep(10);
    gc.add(2);
    expect(batches).toEqual([]);
    await sleep(60);
    expect(batches).toEqual([[1, 2]]);
  });

  it('flush does not wait for the linger, and a full batch goes at once', async () => {
    const { gc, batches } = recorder(10_000, 3);
    gc.add(1);
    const t0 = performance.now();
    await gc.flush();
    expect(performance.now() - t0).toBeLessThan(1_000);
    expect(batches).toEqual([[1]]);
    gc.add(2, 3);
    await sleep(5);
    expect(batches).toHaveLength(1);
    gc.add(4);
    await sleep(20);
    expect(batches).toEqual([[1], [2, 3, 4]]);
  });
});
