import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BudgetRetryStrategy, retryDelays } from '../src/storage/retry-budget.ts';
import { S3Store } from '../src/storage/s3.ts';
import { parseStorageUrl } from '../src/storage/url.ts';

describe('retryDelays', () => {
  it('doubles from 1 s up to 15 s and adds up to the budget exactly', () => {
    expect(retryDelays(0)).toEqual([]);
    expect(retryDelays(3)).toEqual([1000, 2000]);
    expect(retryDelays(10)).toEqual([1000, 2000, 4000, 3000]);
    const minute = retryDelays(60);
    expect(minute).toEqual([1000, 2000, 4000, 8000, 15_000, 15_000, 15_000]);
    for (const budget of [1, 7, 60, 61, 600, 3600]) {
      const delays = retryDelays(budget);
      expect(delays.reduce((a, b) => a + b, 0)).toBe(budget * 1000);
      expect(Math.max(...delays)).toBeLessThanOrEqual(15_000);
    }
  });
});

describe('BudgetRetryStrategy', () => {
  const transient = { errorType: 'TRANSIENT' } as const;

  it('retries transient and throttling errors with the waits, then gives up', async () => {
    const strategy = new BudgetRetryStrategy(10);
    let token = await strategy.acquireInitialRetryToken();
    const waits: number[] = [];
    for (;;) {
      try {
        token = await strategy.refreshRetryTokenForRetry(
          token,
          waits.length % 2 ? { errorType: 'THROTTLING' } : transient,
        );
      } catch {
        break;
      }
      waits.push(token.getRetryDelay());
      expect(token.getRetryCount()).toBe(waits.length);
    }
    expect(waits).toEqual([1000, 2000, 4000, 3000]);
  });

  it('does not retry what retrying cannot fix', async () => {
    const strategy = new BudgetRetryStrategy(60);
    const token = await strategy.acquireInitialRetryToken();
    await expect(strategy.refreshRetryTokenForRetry(token, { errorType: 'CLIENT_ERROR' })).rejects.toThrow();
    await expect(strategy.refreshRetryTokenForRetry(token, { errorType: 'SERVER_ERROR' })).rejects.toThrow();
  });

  it('gives every request its whole budget, however many failed before (no shared quota)', async () => {
    const strategy = new BudgetRetryStrategy(3);
    for (let request = 0; request < 200; request++) {
      let token = await strategy.acquireInitialRetryToken();
      token = await strategy.refreshRetryTokenForRetry(token, transient);
      token = await strategy.refreshRetryTokenForRetry(token, transient);
      expect(token.getRetryDelay()).toBe(2000);
    }
  });
});

/** A loopback port nothing listens on. */
async function deadPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

describe('an upload to an S3 that does not answer', () => {
  it('retries for the write budget, then fails as storage_unavailable naming the URL and the tries', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ffleet-retry-'));
    try {
      const file = join(dir, 'small.bin');
      await writeFile(file, Buffer.alloc(1024, 1));
      const store = new S3Store({
        endpoint: `http://127.0.0.1:${await deadPort()}`,
        region: 'us-east-1',
        forcePathStyle: true,
        accessKeyId: 'k',
        secretAccessKey: 's',
        partSize: 5 * 1024 * 1024,
        writeRetrySeconds: 3,
      });
      const failure = await store.upload(file, parseStorageUrl('s3://media/out/a.mp4')).catch((e) => e);
      expect(failure).toMatchObject({ code: 'storage_unavailable', permanent: false });
      expect(failure.message).toContain('s3://media/out/a.mp4');
      expect(failure.message).toMatch(/ECONNREFUSED.*\(3 tries over 3 s\)/);
      // Reads keep their few quick tries.
      const read = await store
        .download(parseStorageUrl('s3://media/in.mp4'), join(dir, 'in.mp4'))
        .catch((e) => e);
      expect(read).toMatchObject({ code: 'storage_unavailable' });
      expect(read.message).toMatch(/\(3 tries over 0 s\)/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
