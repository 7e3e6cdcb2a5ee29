/**
 * The object store against the local S3 server (versitygw): objects larger than one part go up
 * in a multipart upload, come back byte for byte, and can be removed.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
});
