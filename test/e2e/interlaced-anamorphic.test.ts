/**
 * Broadcast and DV sources on a real fleet (Redis, S3 server, two worker processes, ffmpeg): a
 * PAL widescreen clip stored as 720x576 interlaced fields with non-square pixels (shown 16:9,
 * 1024x576). A ladder (in chunks) and previews of it must come out as the picture is shown:
 * square pixels at 16:9, and deinterlaced. Deinterlacing is proven on the pictures: the source
 * is made by weaving two progressive 50 fps frames into each frame, so a deinterlaced picture
 * matches the frame its top field came from far better than the woven fields do.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DEINTERLACE_FILTER, type QualityRecord } from '@ffleet/core';
import type { JobView } from '@ffleet/gateway';
import HLS from 'hls-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finished, startFleet, type TestFleet } from '../support/fleet.ts';
import { renditionFile } from '../support/hls.ts';
import { analyseFile, ffmpeg, psnr } from '../support/media.ts';

const POOL = 'intel';
const run = promisify(execFile);
const SECONDS = 8;
/** 50 progressive frames a second, woven two by two into 25 interlaced frames (top field first). */
const PROGRESSIVE = 'testsrc2=size=720x576:rate=50';
/** Pictures are compared in full colour, both sides from their first frame. */
const FULL_COLOUR = { distorted: 'format=yuv444p', reference: 'format=yuv444p' };

let fleet: TestFleet;
let source: string;
/** The frames the top fields came from, at 25 fps: what a deinterlaced picture should show. */
let topFields: string;

beforeAll(async () => {
  fleet = await startFleet();
  source = join(fleet.dir, 'pal-wide.mp4');
  await ffmpeg([
    ...['-f', 'lavfi', '-i', PROGRESSIVE],
    ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'],
    ...['-t', String(SECONDS), '-vf', 'tinterlace=mode=interleave_top,setsar=64/45'],
    ...['-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '12', '-g', '50', '-pix_fmt', 'yuv420p'],
    ...['-flags', '+ildct+ilme', '-x264-params', 'tff=1', '-c:a', 'aac', '-shortest', source],
  ]);
  topFields = join(fleet.dir, 'top-fields.mkv');
  await ffmpeg([
    ...['-f', 'lavfi', '-i', PROGRESSIVE, '-t', String(SECONDS)],
    ...['-vf', "select='not(mod(n,2))',setpts=N/25/TB,setsar=64/45"],
    ...['-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0', topFields],
  ]);
  await fleet.put('inputs/pal-wide.mp4', source);
  for (let i = 0; i < 2; i++) await fleet.startWorker(POOL, { FFLEET_CONCURRENCY: '1' });
}, 180_000);

afterAll(async () => {
  await fleet?.stop();
});

/** Downloads an object to a local file. */
async function local(key: string): Promise<string> {
  const file = join(fleet.dir, key.replaceAll('/', '_'));
  await writeFile(file, await fleet.get(key));
  return file;
}

/** Width, height, pixel shape, field order and frames of a file's video, as ffprobe reads them. */
async function videoOf(file: string) {
  const { stdout } = await run('ffprobe', [
    ...['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-of', 'json'],
    ...['-show_entries', 'stream=width,height,sample_aspect_ratio,field_order,nb_read_frames', file],
  ]);
  const s = (JSON.parse(stdout) as { streams: Record<string, string | number>[] }).streams[0]!;
  return {
    width: s.width,
    height: s.height,
    sar: s.sample_aspect_ratio ?? '1:1',
    fieldOrder: s.field_order ?? 'unknown',
    frames: Number(s.nb_read_frames),
  };
}

/** `file` made by ffmpeg from `input` through `filters`, losslessly (a PNG for one picture). */
async function made(input: string, filters: string, name: string, inputOptions: string[] = []) {
  const out = join(fleet.dir, name);
  const still = name.endsWith('.png');
  await ffmpeg([
    ...inputOptions,
    ...['-i', input, '-vf', filters],
    ...(still ? ['-frames:v', '1'] : ['-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0']),
    out,
  ]);
  return out;
}

describe('the source', () => {
  it('is what a PAL widescreen tape gives: 720x576 fields, top first, pixels 64:45', async () => {
    const media = await analyseFile(source);
    expect(media.video).toMatchObject({ width: 720, height: 576, interlaced: true });
    expect(media.video!.sampleAspectRatio).toBeCloseTo(64 / 45, 6);
    expect(await videoOf(source)).toMatchObject({ fieldOrder: 'tt', frames: SECONDS * 25 });
  });
});

describe('a ladder of an interlaced anamorphic source, in chunks', () => {
  const base = 'out/pal-ladder/';
  const rungs = [
    { height: 360, bitrateKbps: 1100, width: 640 },
    { height: 180, bitrateKbps: 300, width: 320 },
  ];
  let job: JobView;
  let master: HLS.types.MasterPlaylist;
  /** Each rung's rendition as one local file, by height. */
  const files = new Map<number, string>();

  beforeAll(async () => {
    const id = await fleet.submit({
      name: 'pal-ladder',
      compute: POOL,
      inputs: [{ url: `s3://${fleet.bucket}/inputs/pal-wide.mp4` }],
      outputs: [{ url: `s3://${fleet.bucket}/${base}` }],
      quality: true,
      ladder: {
        preset: 'ultrafast',
        chunkSeconds: 4,
        rungs: rungs.map(({ height, bitrateKbps }) => ({ height, bitrateKbps })),
      },
    });
    job = await fleet.waitFor<JobView>(id, finished, 240_000);
    master = HLS.parse((await fleet.get(`${base}master.m3u8`)).toString('utf8')) as HLS.types.MasterPlaylist;
  }, 260_000);

  it('succeeds with rungs the shape the source is shown at (16:9), each encoded in chunks', () => {
    expect(job.state, JSON.stringify(job.error)).toBe('succeeded');
    expect(job.pipeline).toMatchObject({ kind: 'ladder', chunks: { total: 2 * rungs.length, done: 4 } });
    expect(
      master.variants.map((v) => v.resolution),
      'RESOLUTION is the size a player shows',
    ).toEqual(expect.arrayContaining(rungs.map(({ width, height }) => ({ width, height }))));
  });

  it('has square pixels, every frame, and no fields: each rung matches the top fields, not the woven frames', async () => {
    for (const rung of rungs) {
      const variant = master.variants.find((v) => v.resolution?.height === rung.height)!;
      const file = await renditionFile(fleet, base, variant.uri, `rung-${rung.height}.mp4`);

      expect(await videoOf(file)).toMatchObject({
        width: rung.width,
        height: rung.height,
        sar: '1:1',
        frames: SECONDS * 25,
      });
      const scale = `scale=${rung.width}:${rung.height},setsar=1`;
      const shown = await made(topFields, scale, `top-fields-${rung.height}.mkv`);
      const woven = await made(source, scale, `woven-${rung.height}.mkv`);
      const deinterlaced = await psnr(shown, file, FULL_COLOUR);
      const notDeinterlaced = await psnr(shown, woven, FULL_COLOUR);
      // The woven frames, even scaled losslessly, mix two moments; the rung shows one.
      expect(deinterlaced, `${rung.height}p`).toBeGreaterThan(notDeinterlaced + 3);
      files.set(rung.height, file);
    }
  });

  it("measures each rung against the source deinterlaced, as the rung's encode saw it, and records that", async () => {
    for (const { name, quality, metricsUrl } of job.rungQuality!) {
      expect(quality, name).toMatchObject({ status: 'measured' });
      const record = JSON.parse(
        (await fleet.get(metricsUrl!.replace(`s3://${fleet.bucket}/`, ''))).toString('utf8'),
      ) as QualityRecord;
      expect(record.ffleet.reference_deinterlaced).toBe(true);
      // ffmpeg's own PSNR of every frame of the rung, scaled to the stored size, against the
      // source deinterlaced; and against the woven fields, which no rung frame holds.
      const file = files.get(record.ffleet.rung!.height)!;
      const against = (filters: string) =>
        psnr(source, file, { distorted: `scale=720:576:flags=bicubic`, reference: filters });
      const full = await against(DEINTERLACE_FILTER);
      expect(Math.abs(quality.psnr! - full), name).toBeLessThan(1);
      expect(quality.psnr!, name).toBeGreaterThan((await against('null')) + 2);
    }
  });
});

describe('previews of an interlaced anamorphic source', () => {
  const base = 'out/pal-previews/';
  let job: JobView;

  beforeAll(async () => {
    const id = await fleet.submit({
      name: 'pal-previews',
      compute: POOL,
      inputs: [{ url: `s3://${fleet.bucket}/inputs/pal-wide.mp4` }],
      outputs: [{ url: `s3://${fleet.bucket}/${base}` }],
      previews: {
        thumbnails: { times: [2], width: 320 },
        poster: { time: 2 },
        sprite: { intervalSeconds: 2, width: 640, columns: 2, rows: 2 },
      },
    });
    job = await fleet.waitFor<JobView>(id, finished, 240_000);
  }, 260_000);

  it('succeeds with every picture 16:9 in square pixels; the poster is the size the video is shown at', async () => {
    expect(job.state, JSON.stringify(job.error)).toBe('succeeded');
    expect(await videoOf(await local(`${base}thumbnails/000.jpg`))).toMatchObject({
      width: 320,
      height: 180,
      sar: '1:1',
    });
    expect(await videoOf(await local(`${base}poster.jpg`))).toMatchObject({
      width: 1024,
      height: 576,
      sar: '1:1',
    });
    expect(await videoOf(await local(`${base}sprites/0000.jpg`))).toMatchObject({
      width: 1280,
      height: 720,
    });
  });

  it('deinterlaces the poster the parent makes and the sprite sheet a child makes from its piece', async () => {
    const poster = `scale=1024:576:flags=lanczos,setsar=1`;
    const seek = ['-ss', '2'];
    const shownPoster = await made(topFields, poster, 'shown-poster.png', seek);
    const wovenPoster = await made(source, poster, 'woven-poster.png', seek);
    const posterFile = await local(`${base}poster.jpg`);
    expect(await psnr(shownPoster, posterFile, FULL_COLOUR)).toBeGreaterThan(
      (await psnr(shownPoster, wovenPoster, FULL_COLOUR)) + 1.5,
    );

    const sheet = 'fps=1/2:round=up,scale=640:360:flags=lanczos,setsar=1,tile=2x2';
    const shownSheet = await made(topFields, sheet, 'shown-sheet.png');
    const wovenSheet = await made(source, sheet, 'woven-sheet.png');
    const sheetFile = await local(`${base}sprites/0000.jpg`);
    expect(await psnr(shownSheet, sheetFile, FULL_COLOUR)).toBeGreaterThan(
      (await psnr(shownSheet, wovenSheet, FULL_COLOUR)) + 1.5,
    );
  });
});
