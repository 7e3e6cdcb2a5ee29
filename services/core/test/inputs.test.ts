import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  aviWithEmbeddedPlaylist,
  concatList,
  dashManifest,
  hlsMasterPlaylist,
  hlsPlaylist,
  opaqueMedia,
  sdpFile,
} from '../../../test/security/hostile-media.ts';
import { type CommandPlan, planCommand, type WorkLayout, workLayout } from '../src/ffmpeg/command.ts';
import { checkInputFiles, sniffInput } from '../src/ffmpeg/inputs.ts';
import type { JobInput } from '../src/jobs/spec.ts';

let dir: string;
let layout: WorkLayout;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ffleet-inputs-'));
  layout = workLayout(dir);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Plans a job with these inputs and writes each one's bytes where the worker would. */
async function download(inputs: [JobInput, Uint8Array][]): Promise<CommandPlan> {
  const plan = planCommand({
    name: 't',
    compute: 'intel',
    inputs: inputs.map(([input]) => input),
    outputs: [{ url: 's3://media/out/o.mp4', options: '-map 0' }],
  });
  for (const [i, [, bytes]] of inputs.entries()) {
    await mkdir(layout.inputDir(i), { recursive: true });
    await writeFile(join(layout.inputDir(i), plan.inputs[i]!.localName), bytes);
  }
  return plan;
}

describe('sniffInput', () => {
  it('recognizes list and manifest formats by content, whatever the name', () => {
    const t = (s: string) => new TextEncoder().encode(s);
    expect(sniffInput(hlsPlaylist(['a.ts']))).toBe('hls');
    expect(sniffInput(t('\ufeff\n  #EXTM3U\n'))).toBe('hls');
    expect(sniffInput(concatList(['a.mp4']))).toBe('concat');
    expect(sniffInput(dashManifest('http://x/'))).toBe('xml');
    expect(sniffInput(sdpFile(5004))).toBe('sdp');
    expect(sniffInput(opaqueMedia('x'))).toBe('media');
    expect(sniffInput(concatList(['a.mp4'], { header: false }))).toBe('media');
  });
});

describe('checkInputFiles', () => {
  it('passes ordinary media', async () => {
    const plan = await download([[{ url: 's3://media/in/a.mp4' }, opaqueMedia('a')]]);
    await expect(checkInputFiles(plan, layout)).resolves.toBeUndefined();
  });

  it('rewrites a concat list of the job inputs to their local paths', async () => {
    const plan = await download([
      [
        { url: 's3://media/in/list.txt', options: '-f concat' },
        concatList(['a.mp4', 's3://media/other/b.mp4'], {
          header: false,
          extra: ['duration 5', '# comment'],
        }),
      ],
      [{ url: 's3://media/in/a.mp4' }, opaqueMedia('a')],
      [{ url: 's3://media/other/b.mp4' }, opaqueMedia('b')],
    ]);
    await checkInputFiles(plan, layout);
    expect(await readFile(join(layout.inputDir(0), 'list.txt'), 'utf8')).toBe(
      `ffconcat version 1.0\nfile '${dir}/in/1/a.mp4'\nfile '${dir}/in/2/b.mp4'\nduration 5\n`,
    );
  });

  it('rewrites an HLS media playlist of the job inputs', async () => {
    const plan = await download([
      [{ url: 's3://media/hls/index.m3u8', options: '-f hls' }, hlsPlaylist(['seg0.ts', 'seg1.ts'])],
      [{ url: 's3://media/hls/seg0.ts' }, opaqueMedia('0')],
      [{ url: 's3://media/hls/seg1.ts' }, opaqueMedia('1')],
    ]);
    await checkInputFiles(plan, layout);
    const text = await readFile(join(layout.inputDir(0), 'index.m3u8'), 'utf8');
    expect(text).toContain(`#EXTINF:10.0,\n${dir}/in/1/seg0.ts\n`);
    expect(text).toContain(`${dir}/in/2/seg1.ts\n#EXT-X-ENDLIST`);
  });

  it.each([
    [
      'concat: an absolute path',
      'concat',
      concatList(['/etc/passwd']),
      /file "\/etc\/passwd": it is not one of the job's inputs/,
    ],
    ['concat: a URL', 'concat', concatList(['http://127.0.0.1:9/a.mp4']), /not one of the job's inputs/],
    [
      'concat: subfile',
      'concat',
      concatList(['subfile,,start,0,end,0,,:/etc/passwd']),
      /not one of the job's inputs/,
    ],
    ['concat: traversal', 'concat', concatList(['../1/a.mp4']), /not one of the job's inputs/],
    [
      'concat: option directive',
      'concat',
      concatList(['a.mp4'], { extra: ['option protocol_whitelist file,http'] }),
      /directive "option" is not accepted/,
    ],
    ['concat: itself', 'concat', concatList(['list.txt']), /not one of the job's inputs/],
    ['concat: not text', 'concat', new Uint8Array([0xff, 0xfe, 0x00]), /is not UTF-8 text/],
    [
      'hls: /etc/passwd',
      'hls',
      hlsPlaylist(['/etc/passwd']),
      /"\/etc\/passwd": it is not one of the job's inputs/,
    ],
    ['hls: loopback', 'hls', hlsPlaylist(['http://127.0.0.1:9/x.ts']), /not one of the job's inputs/],
    [
      'hls: key',
      'hls',
      hlsPlaylist(['a.mp4'], ['#EXT-X-KEY:METHOD=AES-128,URI="file:///etc/passwd"']),
      /encrypted playlists/,
    ],
    [
      'hls: map outside',
      'hls',
      hlsPlaylist(['a.mp4'], ['#EXT-X-MAP:URI="/etc/passwd"']),
      /not one of the job's inputs/,
    ],
    [
      'hls: master',
      'hls',
      hlsMasterPlaylist(['http://127.0.0.1:9/v.m3u8']),
      /tag #EXT-X-STREAM-INF is not accepted/,
    ],
    ['hls: not a playlist', 'hls', concatList(['a.mp4']), /declared -f hls but is not an HLS playlist/],
  ])('refuses a declared list with %s', async (_, format, bytes, message) => {
    const plan = await download([
      [{ url: 's3://media/in/list.txt', options: `-f ${format}` }, bytes],
      [{ url: 's3://media/in/a.mp4' }, opaqueMedia('a')],
    ]);
    await expect(checkInputFiles(plan, layout)).rejects.toThrow(message);
    await expect(checkInputFiles(plan, layout)).rejects.toThrow(
      /^inputs\[0\] \(s3:\/\/media\/in\/list.txt\)/,
    );
  });

  it('refuses an entry that matches two inputs by name', async () => {
    const plan = await download([
      [{ url: 's3://media/in/list.txt', options: '-f concat' }, concatList(['a.mp4'])],
      [{ url: 's3://media/x/a.mp4' }, opaqueMedia('a')],
      [{ url: 's3://media/y/a.mp4' }, opaqueMedia('a')],
    ]);
    await expect(checkInputFiles(plan, layout)).rejects.toThrow(/several inputs have this name/);
  });

  it.each([
    ['an HLS playlist named .mp4', hlsPlaylist(['/etc/passwd']), /is an HLS playlist/],
    ['an HLS playlist named .avi', hlsPlaylist(['http://127.0.0.1:9/x.ts']), /is an HLS playlist/],
    ['an ffconcat script', concatList(['/etc/passwd']), /is an ffconcat script/],
    ['a DASH manifest', dashManifest('http://127.0.0.1:9/'), /is an XML manifest/],
    ['an SDP file', sdpFile(5004), /is an SDP session description/],
    [
      'an AVI with a GAB2 playlist',
      aviWithEmbeddedPlaylist(hlsPlaylist(['/etc/passwd'])),
      /embeds a playlist/,
    ],
  ])('refuses %s given as plain media', async (_, bytes, message) => {
    const plan = await download([[{ url: 's3://media/in/video.avi' }, bytes]]);
    await expect(checkInputFiles(plan, layout)).rejects.toThrow(message);
  });

  it('finds a playlist embedded deep inside a large AVI', async () => {
    const avi = aviWithEmbeddedPlaylist(hlsPlaylist(['/etc/passwd']));
    const big = new Uint8Array(3 * 1024 * 1024 + 5);
    big.set(avi.subarray(0, 12)); // RIFF....AVI header
    big.set(new TextEncoder().encode('#EXTM3U'), (1 << 20) - 3); // straddles a chunk boundary
    const plan = await download([[{ url: 's3://media/in/big.avi' }, big]]);
    await expect(checkInputFiles(plan, layout)).rejects.toThrow(/embeds a playlist/);
  });

  it('refuses a symlink where a downloaded file should be', async () => {
    const plan = planCommand({
      name: 't',
      compute: 'intel',
      inputs: [{ url: 's3://media/in/a.mp4' }],
      outputs: [{ url: 's3://media/o.mp4' }],
    });
    await mkdir(layout.inputDir(0), { recursive: true });
    await symlink('/etc/passwd', join(layout.inputDir(0), 'a.mp4'));
    await expect(checkInputFiles(plan, layout)).rejects.toThrow(/is a symlink, not a downloaded file/);
  });
});
