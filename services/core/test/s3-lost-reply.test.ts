/**
 * S3 creates a multipart upload but its reply never reaches the worker (S3 killed, or the
 * connection cut, in between): the SDK retries the create and the write goes on with a second
 * upload, the first one's id known to no one. The store finds it by listing its key and aborts it,
 * at once when the write completes, in the background once S3 answers when it fails. A real S3
 * server (versitygw, scripts/lib/stack.ts) behind a loopback proxy that loses that one reply.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AbortMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, stackS3Client, startStack } from '../../../scripts/lib/stack.ts';
import { parseStorageUrl, S3Store } from '../src/index.ts';

const SIZE = 11 * 1024 * 1024; // three parts of 5 MiB

let stack: Stack;
let s3: S3Client;
let dir: string;
let file: string;
let proxy: Server;
let store: S3Store;
const sockets = new Set<Socket>();
/** Loses the reply to the next CreateMultipartUpload, after S3 has created the upload. */
let loseCreateReply = false;
/** Each connection reset at once, as by an S3 that is away. */
let away = false;
/** Away from the moment that reply is lost. */
let awayAfterLoss = false;
/** The uploads whose create reply was lost. */
const lost: string[] = [];

beforeAll(async () => {
  stack = await startStack();
  s3 = stackS3Client(stack);
  dir = await mkdtemp(join(tmpdir(), 'ffleet-lost-reply-'));
  file = join(dir, 'big.bin');
  await writeFile(file, Buffer.alloc(SIZE, 7));
  const target = new URL(stack.s3Endpoint);
  proxy = createServer((client) => {
    if (away) return client.resetAndDestroy();
    const server = connect(Number(target.port), target.hostname);
    sockets.add(client);
    let losing = false;
    client.on('data', (chunk) => {
      // A request's first chunk starts with its request line (parts' bodies are 7s).
      if (loseCreateReply && /^POST \S*\?uploads/.test(chunk.toString('latin1', 0, 300))) {
        loseCreateReply = false;
        losing = true;
      }
      server.write(chunk);
    });
    server.on('data', (chunk) => {
      if (!losing) return void client.write(chunk);
      lost.push(/<UploadId>([^<]+)<\/UploadId>/.exec(chunk.toString())?.[1] ?? 'unparsed');
      client.resetAndDestroy();
      server.destroy();
      if (awayAfterLoss) {
        away = true;
        for (const socket of sockets) socket.resetAndDestroy();
      }
    });
    const close = () => {
      sockets.delete(client);
      client.destroy();
      server.destroy();
    };
    client.on('error', close).on('close', close);
    server.on('error', close).on('close', close);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const { port } = proxy.address() as { port: number };
  store = new S3Store({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    forcePathStyle: true,
    accessKeyId: stack.accessKeyId,
    secretAccessKey: stack.secretAccessKey,
    partSize: 5 * 1024 * 1024,
    // Retries after 1 s, gives up after 2 s; leftovers are tried again every 2 s.
    writeRetrySeconds: 2,
  });
}, 60_000);

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => proxy?.close(resolve));
  s3?.destroy();
  await stack?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function uploads(key: string): Promise<string[]> {
  const page = await s3.send(new ListMultipartUploadsCommand({ Bucket: stack.bucket, Prefix: key }));
  return (page.Uploads ?? []).filter((u) => u.Key === key).map((u) => u.UploadId!);
}

describe('the reply to CreateMultipartUpload lost', () => {
  it('S3 answering again: the upload completes, and the one S3 created first is aborted, no other key’s', async () => {
    const key = 'out/back.bin';
    // Other writers' uploads under the same prefix, under way: never this write's to abort.
    const others = await Promise.all(
      [`${key}.tmp`, 'out/other.bin'].map(async (Key) => {
        const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: stack.bucket, Key }));
        return { Key, UploadId: UploadId! };
      }),
    );
    loseCreateReply = true;
    lost.length = 0;

    expect(await store.upload(file, parseStorageUrl(`s3://${stack.bucket}/${key}`))).toBe(SIZE);

    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatch(/^[\w-]{8,}$/);
    const head = await s3.send(new HeadObjectCommand({ Bucket: stack.bucket, Key: key }));
    expect(head.ContentLength).toBe(SIZE);
    // Aborted before upload() returned: a finished job leaves none.
    expect(await uploads(key)).toEqual([]);
    for (const other of others) {
      expect(await uploads(other.Key)).toEqual([other.UploadId]);
      await s3.send(new AbortMultipartUploadCommand({ Bucket: stack.bucket, ...other }));
    }
  });

  it('S3 then away until the upload fails: the one S3 created is aborted once S3 answers', async () => {
    const key = 'out/gone.bin';
    loseCreateReply = true;
    awayAfterLoss = true;
    lost.length = 0;
    await expect(store.upload(file, parseStorageUrl(`s3://${stack.bucket}/${key}`))).rejects.toMatchObject({
      code: 'storage_unavailable',
    });
    expect(lost).toHaveLength(1);
    expect(away).toBe(true);
    expect(await uploads(key)).toEqual([lost[0]]);

    away = false;
    awayAfterLoss = false;
    const deadline = Date.now() + 15_000;
    while ((await uploads(key)).length > 0 && Date.now() < deadline) await sleep(200);
    expect(await uploads(key)).toEqual([]);
  });
});
