/**
 * `ffleet play`'s server against a real S3 server: a viewer who leaves in the middle of a segment
 * must not leave a half-read storage response behind that later blows up the process.
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { get } from 'node:http';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, stackS3Client, startStack } from '../../scripts/lib/stack.ts';
import { startPlayServer } from '../../services/cli/src/play/server.ts';

let stack: Stack | undefined;
let s3: S3Client;

beforeAll(async () => {
  stack = await startStack();
  s3 = stackS3Client(stack);
}, 60_000);

afterAll(async () => {
  s3?.destroy();
  await stack?.stop();
});

/** Reads the first bytes of `url`, then hangs up. */
function readFirstBytes(url: string): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const request = get(url, (response) => {
      response.once('data', (chunk: Buffer) => {
        request.destroy();
        resolve({ status: response.statusCode ?? 0, bytes: chunk.length });
      });
    });
    request.on('error', (error) => {
      if (!request.destroyed) reject(error);
    });
  });
}

describe('ffleet play server', () => {
  it('lets go of the storage response when the viewer leaves mid-segment, and keeps serving', async () => {
    const live = stack!;
    // Far larger than the socket buffers, so the storage response is still arriving when the viewer leaves.
    const segment = join(live.dataDir, 'segment.m4s');
    await writeFile(segment, randomBytes(48 * 1024 * 1024));
    await live.putFile('out/v/720p/segment.m4s', segment);

    const uncaught: unknown[] = [];
    const record = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', record);
    const server = await startPlayServer({ s3, bucket: live.bucket, prefix: 'out/v/' });
    try {
      const first = await readFirstBytes(`${server.url}media/720p/segment.m4s`);
      expect(first.status).toBe(200);
      expect(first.bytes).toBeGreaterThan(0);

      // The page still loads after the viewer left.
      const page = await fetch(server.url);
      expect(page.status).toBe(200);

      // Storage goes away while a forgotten response would still be waiting on it.
      await live.stop();
      stack = undefined;
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(uncaught).toEqual([]);
    } finally {
      process.off('uncaughtException', record);
      await server.close();
    }
  }, 60_000);
});
