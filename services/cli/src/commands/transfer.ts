import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { Readable } from 'node:stream';
import { parseStorageUrl, type S3Settings, S3Store } from '@ffleet/core';
import type { GatewayClient } from '../client.ts';

/** Whether an input names an object (`s3://…`, `file://…`) rather than a local file. */
const isUrl = (input: string) => /^[a-z][a-z0-9+.-]*:\/\//i.test(input);

/**
 * Inputs as job URLs: URLs as they are, local files uploaded first through the gateway's
 * presigned uploads (no S3 credentials needed) into one new folder under `uploadTo`, keeping
 * their names so `{stem}` in an output pattern still means the file's name.
 */
export async function inputUrls(
  client: GatewayClient,
  inputs: readonly string[],
  uploadTo: string | undefined,
  log: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Promise<string[]> {
  const local = inputs.filter((input) => !isUrl(input));
  if (local.length === 0) return [...inputs];
  if (!uploadTo)
    throw new Error('local files need --upload-to s3://bucket/folder/ (or FFLEET_BUCKET for a default)');
  const folder = `${uploadTo.replace(/\/?$/, '/')}${randomUUID().slice(0, 8)}/`;
  const used = new Set<string>();
  const urls = new Map<string, string>();
  for (const file of local) {
    if (urls.has(file)) continue;
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) throw new Error(`${file}: not a URL and not a local file`);
    const url = `${folder}${uniqueName(basename(file), used)}`;
    await upload(client, file, info.size, url);
    log(`uploaded ${file} -> ${url}`);
    urls.set(file, url);
  }
  return inputs.map((input) => urls.get(input) ?? input);
}

/** `clip.mov`, then `clip-2.mov` for a second file of the same name. */
function uniqueName(name: string, used: Set<string>): string {
  const ext = extname(name);
  let candidate = name;
  for (let n = 2; used.has(candidate); n++)
    candidate = `${name.slice(0, name.length - ext.length)}-${n}${ext}`;
  used.add(candidate);
  return candidate;
}

async function upload(client: GatewayClient, file: string, size: number, url: string): Promise<void> {
  const presigned = await client.request<{ url: string }>('POST', '/v1/uploads', { url });
  const response = await fetch(presigned.url, {
    method: 'PUT',
    headers: { 'content-length': String(size) },
    body: Readable.toWeb(createReadStream(file)) as ReadableStream,
    duplex: 'half',
  } as RequestInit);
  if (!response.ok)
    throw new Error(`upload of ${file} failed: HTTP ${response.status} ${await response.text()}`);
}

/** Downloads objects into `dir` by their file names; returns the local paths. */
export async function downloadAll(urls: readonly string[], dir: string, s3: S3Settings): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const store = new S3Store(s3);
  const used = new Set<string>();
  try {
    const paths: string[] = [];
    for (const url of urls) {
      const target = parseStorageUrl(url);
      const path = join(dir, uniqueName(basename(target.scheme === 's3' ? target.key : target.path), used));
      await store.download(target, path);
      paths.push(path);
    }
    return paths;
  } finally {
    store.client.destroy();
  }
}
