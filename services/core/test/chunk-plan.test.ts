import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyseMedia, chunkKeyframeTimes, displaySize, longestFirst, planChunks } from '@ffleet/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyseFile, ffmpeg } from '../../../test/support/media.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ffleet-chunk-plan-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A lavfi clip: `seconds` long at `rate` fps with a keyframe every `gop` frames, H.264 in MP4. */
async function clip(name: string, seconds: number, gop: number, extra: string[] = []): Promise<string> {
  const file = join(dir, name);
  await ffmpeg([
    ...['-f', 'lavfi', '-i', `testsrc2=size=320x180:rate=25:duration=${seconds}`],
    ...['-c:v', 'libx264', '-preset', 'ultrafast', '-g', String(gop), '-keyint_min', String(gop)],
    ...['-sc_threshold', '0', '-pix_fmt', 'yuv420p', ...extra, file],
  ]);
  return file;
}

describe('media analysis (real ffprobe)', () => {
  it('reads frames, keyframes, duration and rate of a constant-rate clip', async () => {
    const media = await analyseFile(await clip('cfr.mp4', 12, 50));
    const video = media.video!;
    expect(video.frameTimes).toHaveLength(300);
    expect(video.keyframes).toEqual([0, 2, 4, 6, 8, 10]);
    expect(video.frameRate).toBe(25);
    expect(video.variableFrameRate).toBe(false);
    expect(video.startSeconds).toBe(0);
    expect(video.endSeconds).toBeCloseTo(12, 6);
    expect(media.audio).toEqual([]);
  });

  it('sees a variable frame rate', async () => {
    const file = join(dir, 'vfr.mkv');
    // Keep 7 of every 10 frames with their timestamps: gaps of 40 and 120 ms.
    await ffmpeg([
      ...['-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25:duration=8'],
      ...['-vf', "select='lt(mod(n,10),7)'", '-fps_mode', 'vfr', '-c:v', 'libx264', '-preset', 'ultrafast'],
      file,
    ]);
    const video = (await analyseFile(file)).video!;
    expect(video.variableFrameRate).toBe(true);
    expect(video.frameTimes).toHaveLength(140);
  });

  it('reads the pixel shape and interlacing: a PAL widescreen source, and square progressive pixels', async () => {
    const file = join(dir, 'pal-wide.mp4');
    await ffmpeg([
      ...['-f', 'lavfi', '-i', 'testsrc2=size=720x576:rate=50:duration=1'],
      ...['-vf', 'tinterlace=mode=interleave_top,setsar=64/45', '-c:v', 'libx264', '-preset', 'ultrafast'],
      ...['-flags', '+ildct+ilme', '-x264-params', 'tff=1', file],
    ]);
    const video = (await analyseFile(file)).video!;
    expect(video).toMatchObject({ width: 720, height: 576, interlaced: true });
    expect(video.sampleAspectRatio).toBeCloseTo(64 / 45, 9);
    expect(displaySize(video)).toEqual({ width: 1024, height: 576 });

    const progressive = join(dir, 'square.mp4');
    await ffmpeg([
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=320x180:rate=25:duration=1',
      '-c:v',
      'libx264',
      progressive,
    ]);
    const square = (await analyseFile(progressive)).video!;
    expect(square).toMatchObject({ sampleAspectRatio: 1, interlaced: false });
    expect(displaySize(square)).toEqual({ width: 320, height: 180 });
  });

  it('takes a pixel shape no camera or tape stores (a broken file) as square', () => {
    const shapeOf = (sar: string) =>
      analyseMedia(
        JSON.stringify({
          streams: [{ index: 0, codec_type: 'video', width: 720, height: 576, sample_aspect_ratio: sar }],
        }),
        '0.000000,0.040000,K_\n',
      ).video!.sampleAspectRatio;
    expect(shapeOf('16:15')).toBeCloseTo(16 / 15, 9);
    expect(shapeOf('2:1')).toBe(2);
    expect([shapeOf('1:100'), shapeOf('100:1'), shapeOf('0:1'), shapeOf('N/A')]).toEqual([1, 1, 1, 1]);
  });

  it('shows an anamorphic picture turned upright as its square-pixel size, turned', () => {
    expect(displaySize({ width: 1440, height: 1080, rotation: 0, sampleAspectRatio: 4 / 3 })).toEqual({
      width: 1920,
      height: 1080,
    });
    expect(displaySize({ width: 1440, height: 1080, rotation: 270, sampleAspectRatio: 4 / 3 })).toEqual({
      width: 1080,
      height: 1920,
    });
    expect(displaySize({ width: 640, height: 360, rotation: 90 })).toEqual({ width: 360, height: 640 });
  });

  it('reads rotation, colour tags and audio tracks', async () => {
    const encoded = join(dir, 'tagged-encode.mp4');
    const file = join(dir, 'tagged.mp4');
    await ffmpeg([
      ...['-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25:duration=2'],
      ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=2'],
      ...['-vf', 'setparams=color_primaries=bt2020:color_trc=smpte2084:colorspace=bt2020nc'],
      ...['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p10le'],
      ...['-color_primaries', 'bt2020', '-color_trc', 'smpte2084', '-colorspace', 'bt2020nc'],
      ...['-c:a', 'aac', encoded],
    ]);
    // The rotate tag becomes a display matrix on a stream copy.
    await ffmpeg(['-i', encoded, '-c', 'copy', '-metadata:s:v:0', 'rotate=90', file]);
    const media = await analyseFile(file);
    expect(media.video!.rotation).toBe(90);
    expect(media.video!.colour).toMatchObject({
      primaries: 'bt2020',
      transfer: 'smpte2084',
      space: 'bt2020nc',
    });
    expect(media.audio).toHaveLength(1);
    expect(media.audio[0]).toMatchObject({ codec: 'aac', channels: 1, sampleRate: 48000 });
  });

  it("reads an HDR10 source's metadata from the container's side data, when it has any", () => {
    const hdr10Of = (sideData: object[]) =>
      analyseMedia(
        JSON.stringify({
          streams: [{ index: 0, codec_type: 'video', color_transfer: 'smpte2084', side_data_list: sideData }],
        }),
        '0.000000,0.040000,K_\n',
      ).video!.hdr10;
    // As ffprobe lists Matroska's MaxCLL (or MP4's clli box).
    const light = { side_data_type: 'Content light level metadata', max_content: 1200, max_average: 300 };
    expect(hdr10Of([light, { side_data_type: 'Display Matrix', rotation: 90 }])).toEqual({
      maxCll: 1200,
      maxFall: 300,
    });
    expect(hdr10Of([{ side_data_type: 'Display Matrix', rotation: 90 }])).toBeUndefined();
  });

  it("reads each audio stream's role from its disposition: a commentary, an audio description, or neither", () => {
    const audio = (disposition?: object) => ({
      index: 1,
      codec_type: 'audio',
      codec_name: 'aac',
      disposition,
    });
    const media = analyseMedia(
      JSON.stringify({
        streams: [
          { index: 0, codec_type: 'video' },
          audio({ default: 1, comment: 0, visual_impaired: 0, descriptions: 0 }),
          audio({ default: 0, comment: 1 }),
          // Matroska marks a description visually impaired; MP4's kind box also says descriptions.
          audio({ default: 0, visual_impaired: 1 }),
          audio({ default: 0, visual_impaired: 1, descriptions: 1 }),
          audio({ default: 0, hearing_impaired: 1 }),
          audio(),
        ],
      }),
      '0.000000,0.040000,K_\n',
    );
    expect(media.audio.map((a) => a.role)).toEqual([
      undefined,
      'commentary',
      'description',
      'description',
      undefined,
      undefined,
    ]);
  });

  it('keeps only clean keyframes: a keyframe followed by pictures shown before it opens its GOP', () => {
    // Decode order: I0 P3 B1 B2 | I6 (open) B4 B5 P9 B7 B8 | I12 P15 B13 B14, at 25 fps.
    const csv = [
      [0, 'K_'],
      [3, '__'],
      [1, '__'],
      [2, '__'],
      [6, 'K_'],
      [4, '__'],
      [5, '__'],
      [9, '__'],
      [7, '__'],
      [8, '__'],
      [12, 'K_'],
      [15, '__'],
      [13, '__'],
      [14, '__'],
    ]
      .map(([frame, flags]) => `${(frame as number) * 0.04},0.040000,${flags}`)
      .join('\n');
    const streams = JSON.stringify({ streams: [{ index: 0, codec_type: 'video', r_frame_rate: '25/1' }] });
    const video = analyseMedia(streams, csv).video!;
    expect(video.keyframes).toEqual([0, 0.48]);
    expect(video.frameTimes).toHaveLength(14);
  });
});

describe('chunk planning', () => {
  it('cuts at the keyframes on each multiple of the segment length', async () => {
    const video = (await analyseFile(await clip('even.mp4', 60, 50))).video!;
    const chunks = planChunks(video, 10);
    expect(chunks.map((c) => c.startSeconds)).toEqual([0, 10, 20, 30, 40, 50]);
    expect(chunks.map((c) => c.frames)).toEqual([250, 250, 250, 250, 250, 250]);
    expect(chunks.at(-1)!.endSeconds).toBeCloseTo(60, 6);
  });

  it('takes the nearest keyframe when keyframes are sparse, and every frame lands in one chunk', async () => {
    const video = (await analyseFile(await clip('sparse.mp4', 60, 175))).video!;
    expect(video.keyframes).toEqual([0, 7, 14, 21, 28, 35, 42, 49, 56]);
    const chunks = planChunks(video, 10);
    expect(chunks.map((c) => c.startSeconds)).toEqual([0, 7, 21, 28, 42, 49]);
    for (const chunk of chunks) expect(video.keyframes).toContain(chunk.startSeconds);
    expect(chunks.reduce((sum, c) => sum + c.frames, 0)).toBe(1500);
    for (let i = 1; i < chunks.length; i++) expect(chunks[i]!.startSeconds).toBe(chunks[i - 1]!.endSeconds);
  });

  it('never leaves a chunk shorter than half a segment', async () => {
    const video = (await analyseFile(await clip('tail.mp4', 23, 25))).video!;
    const chunks = planChunks(video, 10);
    expect(chunks.map((c) => [c.startSeconds, Math.round(c.endSeconds)])).toEqual([
      [0, 10],
      [10, 23],
    ]);
  });

  it('gives one chunk when there is no keyframe to cut at', async () => {
    const video = (await analyseFile(await clip('one-gop.mp4', 20, 1000))).video!;
    expect(planChunks(video, 5)).toEqual([{ index: 0, startSeconds: 0, endSeconds: 20, frames: 500 }]);
  });

  it('queues the longest chunks first', () => {
    const chunks = [
      { index: 0, startSeconds: 0, endSeconds: 7, frames: 175 },
      { index: 1, startSeconds: 7, endSeconds: 21, frames: 350 },
      { index: 2, startSeconds: 21, endSeconds: 28, frames: 175 },
    ];
    expect(longestFirst(chunks).map((c) => c.index)).toEqual([1, 0, 2]);
  });

  it('places keyframes on the source timeline every GOP inside a chunk', () => {
    const chunk = { index: 1, startSeconds: 9.96, endSeconds: 16.04, frames: 152 };
    expect(chunkKeyframeTimes(chunk, 2, 0)).toEqual([0, 0.04, 2.04, 4.04, 6.04]);
    expect(chunkKeyframeTimes({ ...chunk, startSeconds: 10, endSeconds: 14 }, 2, 0)).toEqual([0, 2]);
  });
});
