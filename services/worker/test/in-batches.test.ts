import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { inBatches } from '../src/pipeline/in-batches.ts';

describe('inBatches', () => {
  it('runs a batch at a time and returns the results in the order of the items', async () => {
    const running = new Set<number>();
    let most = 0;
    const seen: number[][] = [];
    const results = await inBatches(
      [5, 1, 4, 2, 3],
      2,
      async (n) => {
        running.add(n);
        most = Math.max(most, running.size);
        await sleep(n * 3);
        running.delete(n);
        return n * 10;
      },
      (items, values) => {
        // Every task of the batch has ended when it is told.
        expect(running.size).toBe(0);
        seen.push([...items], [...values]);
      },
    );
    expect(results).toEqual([50, 10, 40, 20, 30]);
    expect(most).toBe(2);
    expect(seen).toEqual([[5, 1], [50, 10], [4, 2], [40, 20], [3], [30]]);
  });

  it('lets every task of a failed batch end, then throws its failure and starts nothing more', async () => {
    const ended: number[] = [];
    const started: number[] = [];
    const run = inBatches([1, 2, 3, 4], 2, async (n) => {
      started.push(n);
      if (n === 1) throw new Error('piece 1 failed');
      await sleep(20);
      ended.push(n);
      return n;
    });
    await expect(run).rejects.toThrow('piece 1 failed');
    expect(ended).toEqual([2]);
    expect(started).toEqual([1, 2]);
  });
});
