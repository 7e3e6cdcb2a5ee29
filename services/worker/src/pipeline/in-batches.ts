/**
 * Runs `task` on every item, `size` at a time, batch after batch, and returns the results in
 * the items' order. Every task of a batch settles before a failure goes on, so nothing of the
 * batch is still running (or lands later) when the caller cleans up. `afterBatch` runs once a
 * batch has all succeeded, with its items and results, before the next batch starts.
 */
export async function inBatches<T, R>(
  items: readonly T[],
  size: number,
  task: (item: T) => Promise<R>,
  afterBatch?: (items: readonly T[], results: readonly R[]) => Promise<void> | void,
): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += size) {
    const batch = items.slice(i, i + size);
    const settled = await Promise.allSettled(batch.map(task));
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    const values = settled.map((r) => (r as PromiseFulfilledResult<R>).value);
    results.push(...values);
    await afterBatch?.(batch, values);
  }
  return results;
}
