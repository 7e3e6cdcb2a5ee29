import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore, type ObjectStore, parseStorageUrl, type StorageUrl } from '@ffleet/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JobContext } from '../src/pipeline/context.ts';
import { type LocalFile, publishGroups, publishing, publishRank } from '../src/pipeline/publish.ts';

const MASTER = '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000\nhls/720p/index.m3u8\n';
const MEDIA = '#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6.0,\nseg0.m4s\n#EXT-X-ENDLIST\n';
const IFRAMES = '#EXTM3U\n#EXT-X-I-FRAMES-ONLY\n#EXTINF:6.0,\n#EXT-X-BYTERANGE:100@0\nseg0.m4s\n';
const MASTER_WITH_IFRAMES_ONLY = '#EXTM3U\n#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=1,URI="i.m3u8"\n';

describe('publishRank', () => {
  it('puts media first, media playlists next, master playlists and MPDs last', () => {
    expect(publishRank('hls/720p/seg0.m4s')).toBe(0);
    expect(publishRank('hls/720p/init.mp4')).toBe(0);
    expect(publishRank('frame-00001.jpg')).toBe(0);
    expect(publishRank('hls/720p/index.m3u8', MEDIA)).toBe(1);
    expect(publishRank('hls/720p/iframes.m3u8', IFRAMES)).toBe(1);
    expect(publishRank('master.m3u8', MASTER)).toBe(2);
    expect(publishRank('any-name.m3u8', MASTER_WITH_IFRAMES_ONLY)).toBe(2);
    expect(publishRank('manifest.mpd')).toBe(2);
    expect(publishRank('dash/manifest.mpd')).toBe(2);
  });
});

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ffleet-publish-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function localFiles(files: Record<string, string>): Promise<LocalFile[]> {
  const out = join(dir, 'out');
  const made: LocalFile[] = [];
  for (const [relativePath, text] of Object.entries(files)) {
    const path = join(out, relativePath);
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, text);
    made.push({ path, relativePath });
  }
  return made;
}

describe('publishGroups', () => {
  it('reads each playlist to tell a master from a media playlist', async () => {
    const files = await localFiles({
      'stream.m3u8': MASTER,
      'stream_0.m3u8': MEDIA,
      'stream_00.ts': 'x',
      'stream_01.ts': 'x',
    });
    const groups = await publishGroups(files);
    expect(groups.map((g) => g.map((f) => f.relativePath))).toEqual([
      ['stream_00.ts', 'stream_01.ts'],
      ['stream_0.m3u8'],
      ['stream.m3u8'],
    ]);
  });
});

/** A file:// store under `dir/root`, recording the order of finished uploads. */
function context(written: string[]): { ctx: JobContext; root: string } {
  const root = join(dir, 'root');
  const files = new FileStore(root);
  const storage: ObjectStore = {
    download: (url, destination) => files.download(url, destination),
    upload: async (source, url) => {
      const bytes = await files.upload(source, url);
      written.push((url as Extract<StorageUrl, { scheme: 'file' }>).path);
      return bytes;
    },
    remove: (url) => files.remove(url),
  };
  const warnings: string[] = [];
  const ctx = {
    deps: { storage, config: { urlPolicy: { allowFile: true } } },
    signal: new AbortController().signal,
    throwIfAborted: () => {},
    log: { warn: (_: unknown, message: string) => warnings.push(message) },
  } as unknown as JobContext;
  return { ctx, root };
}

describe('publishing a folder', () => {
  it('writes every playlist after what it names', async () => {
    const written: string[] = [];
    const { ctx, root } = context(written);
    await mkdir(root);
    const segments = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`v/seg${i}.ts`, 'x']));
    const files = await localFiles({ 'master.m3u8': MASTER, 'v/index.m3u8': MEDIA, ...segments });
    const uploaded = await publishing(ctx, (p) =>
      p.folder(parseStorageUrl('file:///out/', { allowFile: true }), files),
    );
    expect(uploaded).toHaveLength(22);
    expect(written.slice(-2)).toEqual(['out/v/index.m3u8', 'out/master.m3u8']);
  });

  it('that fails removes every object it wrote, and only those', async () => {
    const written: string[] = [];
    const { ctx, root } = context(written);
    await mkdir(join(root, 'out', 'seg9.ts'), { recursive: true });
    await writeFile(join(root, 'out', 'theirs.txt'), 'not the job’s');
    const segments = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`seg${i}.ts`, 'x']));
    const files = await localFiles({ 'index.m3u8': MEDIA, ...segments });
    // A directory where seg9.ts goes: that upload fails (EISDIR), the others of its batch land.
    const failure = await publishing(ctx, (p) =>
      p.folder(parseStorageUrl('file:///out/', { allowFile: true }), files),
    ).catch((e) => e);
    expect(failure).toBeInstanceOf(Error);
    expect(written.length).toBeGreaterThan(0);
    expect(written).not.toContain('out/index.m3u8');
    expect((await readdir(join(root, 'out'))).sort()).toEqual(['seg9.ts', 'theirs.txt']);
  });
});
