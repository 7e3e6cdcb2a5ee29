/**
 * An S3 that takes connections and never answers (a stuck proxy, a half-dead endpoint): each
 * request is given up after the request timeout and retried, then the transfer fails as
 * `storage_unavailable` instead of holding the job forever. A real TCP server on loopback.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseStorageUrl, S3Store } from '../src/index.ts';

let server: Server;
let dir: string;
let store: S3Store;
const connections: Socket[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ffleet-s3-hang-'));
  // Reads whatever is sent and never says a word.
  server = createServer((socket) => {
    connections.push(socket);
    socket.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  store = new S3Store({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    forcePathStyle: true,
    accessKeyId: 'silent',
    secretAccessKey: 'silent-secret',
    partSize: 5 * 1024 * 1024,
    requestTimeoutMs: 300,
  });
});

afterAll(async () => {
  for (const socket of connections) socket.destroy();
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

describe('an S3 that never answers', () => {
  it('fails a download as storage_unavailable after the request timeout, each try on a new connection', {
    timeout: 30_000,
  }, async () => {
    const before = connections.length;
    await expect(
      store.download(parseStorageUrl('s3://media/in/clip.mp4'), join(dir, 'clip.mp4')),
    ).rejects.toMatchObject({ code: 'storage_unavailable' });
    // The SDK's three tries, each given up by the timeout.
    expect(connections.length - before).toBe(3);
  });

  it('fails an upload the same way', { timeout: 30_000 }, async () => {
    const file = join(dir, 'out.bin');
    await writeFile(file, Buffer.alloc(1024, 1));
    await expect(store.upload(file, parseStorageUrl('s3://media/out/out.bin'))).rejects.toMatchObject({
      code: 'storage_unavailable',
    });
  });
});
