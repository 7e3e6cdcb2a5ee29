/**
 * The object store against the local S3 server (versitygw): objects larger than one part go up
 * in a multipart upload, come back byte for byte, and can be removed; files up to the parts in
 * flight at once are read whole, larger ones streamed, with the same result either side; each
 * object carries the Content-Type its name says.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { parseStorageUrl, S3Store, s3SettingsFromEnv } from '@ffleet/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from '../../scripts/lib/stack.ts';

let stack: Stack;
let dir: string;
let store: S3Store;

beforeAll(async () => {
  stack = await startStack();
  dir = await mkdtemp(join(tmpdir(), 'ffleet-storage-'));
  store = new S3Store(s3SettingsFromEnv({ ...process.env, ...stack.env }));
});

afterAll(async () => {
  store?.client.destroy();
  await stack?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the S3 store', () => {
  it('uploads a file of several parts, downloads it unchanged and removes it', async () => {
    const file = join(dir, 'big.bin');
    const bytes = randomBytes(11 * 1024 * 1024 + 17);
    await writeFile(file, bytes);
    const url = parseStorageUrl(`s3://${stack.bucket}/storage/big.bin`, {});

    expect(await store.upload(file, url)).toBe(bytes.length);
    const back = join(dir, 'back.bin');
    expect(await store.download(url, back)).toBe(bytes.length);
    expect((await readFile(back)).equals(bytes)).toBe(true);

    await store.remove(url);
    await expect(store.download(url, join(dir, 'gone.bin'))).rejects.toMatchObject({ code: 'input_missing' });
  });

  it('sends a file read whole and a file streamed as the same parts, each unchanged', async () => {
    const part = 5 * 1024 * 1024;
    const small = new S3Store({ ...s3SettingsFromEnv({ ...process.env, ...stack.env }), partSize: part });
    try {
      // 1 KiB: one PUT; four parts exactly: read whole; one byte more: streamed.
      for (const [name, size, parts] of [
        ['one.bin', 1024, 1],
        ['whole.bin', 4 * part, 4],
        ['streamed.bin', 4 * part + 1, 5],
      ] as const) {
        const file = join(dir, name);
        const bytes = randomBytes(size);
        await writeFile(file, bytes);
        const url = parseStorageUrl(`s3://${stack.bucket}/storage/${name}`, {});
        expect(await small.upload(file, url)).toBe(size);
        const head = await small.client.send(
          new HeadObjectCommand({ Bucket: stack.bucket, Key: `storage/${name}` }),
        );
        // A multipart object's ETag ends in its number of parts.
        expect(head.ETag?.match(/-(\d+)"?$/)?.[1] ?? '1').toBe(String(parts));
        const back = join(dir, `back-${name}`);
        expect(await small.download(url, back)).toBe(size);
        expect((await readFile(back)).equals(bytes)).toBe(true);
      }
    } finally {
      small.client.destroy();
    }
  });

  it('stores each object with the Content-Type its name says, whole or in parts', async () => {
    const part = 5 * 1024 * 1024;
    const small = new S3Store({ ...s3SettingsFromEnv({ ...process.env, ...stack.env }), partSize: part });
    try {
      for (const [name, size, type] of [
        ['ladder/master.m3u8', 64, 'application/vnd.apple.mpegurl'],
        ['ladder/manifest.mpd', 64, 'application/dash+xml'],
        ['ladder/hls/720p/seg-00000.m4s', 64, 'video/mp4'],
        ['ladder/hls/subtitles/segment-00000.vtt', 64, 'text/vtt'],
        ['previews/sprite-000.JPG', 64, 'image/jpeg'],
        ['out/film.mp4', 2 * part + 1, 'video/mp4'],
        ['out/notes.unknown', 64, undefined],
      ] as const) {
        const file = join(dir, 'typed.bin');
        await writeFile(file, randomBytes(size));
        await small.upload(file, parseStorageUrl(`s3://${stack.bucket}/typed/${name}`, {}));
        const head = await small.client.send(
          new HeadObjectCommand({ Bucket: stack.bucket, Key: `typed/${name}` }),
        );
        // An unknown name keeps the server's default (AWS: binary/octet-stream, versitygw: application/…).
        if (type) expect(head.ContentType, name).toBe(type);
        else expect(head.ContentType, name).toMatch(/^(binary|application)\/octet-stream$/);
      }
    } finally {
      small.client.destroy();
    }
  });
});
