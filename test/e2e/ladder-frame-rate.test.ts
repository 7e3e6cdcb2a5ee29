/**
 * A ladder of a source above 60 fps on a real fleet (Redis, S3 server, two worker processes,
 * ffmpeg): Apple's HLS authoring specification says frame rates above 60 shall not be used, so
 * every rung of a 120 fps source keeps one frame in two, encoded whole or in chunks, and the
 * master playlist says 60. Read back with hls-parser and ffprobe.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { JobView } from '@ffleet/gateway';
import HLS from 'hls-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finished, startFleet, type TestFleet } from '../support/fleet.ts';
import { ffmpeg, packets } from '../support/media.ts';

const POOL = 'intel';
const SECONDS = 6;
const RUNGS = [
  { height: 180, bitrateKbps: 400 },
  { height: 90, bitrateKbps: 150 },
];

let fleet: TestFleet;

beforeAll(async () => {
  fleet = await startFleet();
  const source = join(fleet.dir, 'fast.mp4');
  // 120 fps, a keyframe every 2 s, noise so the source's bitrate is above every rung's.
  await ffmpeg([
    ...['-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=120,noise=alls=12:allf=t'],
    ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'],
    ...['-t', String(SECONDS), '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '18', '-g', '240'],
    ...['-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', source],
  ]);
  await fleet.put('inputs/fast.mp4', source);
  for (let i = 0; i < 2; i++) await fleet.startWorker(POOL, { FFLEET_CONCURRENCY: '1' });
}, 180_000);

afterAll(async () => {
  await fleet?.stop();
});

/** The ladder of the 120 fps source into `out/<name>/`, until it ends. */
async function ladder(name: string, chunkSeconds: number): Promise<JobView> {
  const { status, body } = await fleet.api<{ id: string }>('POST', '/v1/jobs', {
    name,
    compute: POOL,
    inputs: [{ url: `s3://${fleet.bucket}/inputs/fast.mp4` }],
    outputs: [{ url: `s3://${fleet.bucket}/out/${name}/` }],
    ladder: { preset: 'ultrafast', chunkSeconds, rungs: RUNGS },
  });
  expect(status, JSON.stringify(body)).toBe(202);
  return fleet.waitFor<JobView>(body.id, finished, 240_000);
}

/** Each variant's declared frame rate, and its rendition (init and segments) as one local file. */
async function renditions(name: string) {
  const base = `out/${name}/`;
  const master = HLS.parse(
    (await fleet.get(`${base}master.m3u8`)).toString('utf8'),
  ) as HLS.types.MasterPlaylist;
  return Promise.all(
    master.variants
      .filter((variant) => !variant.isIFrameOnly)
      .map(async (variant) => {
        const playlist = HLS.parse(
          (await fleet.get(`${base}${variant.uri}`)).toString('utf8'),
        ) as HLS.types.MediaPlaylist;
        const folder = `${base}${variant.uri.slice(0, variant.uri.lastIndexOf('/') + 1)}`;
        const parts = [await fleet.get(`${folder}${playlist.segments[0]!.map!.uri}`)];
        for (const s of playlist.segments) parts.push(await fleet.get(`${folder}${s.uri}`));
        const file = join(fleet.dir, `${name}-${variant.resolution!.height}.mp4`);
        await writeFile(file, Buffer.concat(parts));
        return { frameRate: variant.frameRate, file };
      }),
  );
}

describe.each([
  { how: 'in chunks', name: 'fast-chunked', chunkSeconds: 2, chunks: 3 * RUNGS.length },
  { how: 'whole', name: 'fast-whole', chunkSeconds: 0, chunks: undefined },
])('a ladder of a 120 fps source, each rung encoded $how', ({ name, chunkSeconds, chunks }) => {
  let job: JobView;

  beforeAll(async () => {
    job = await ladder(name, chunkSeconds);
  }, 260_000);

  it('succeeds, its view counting the frames the rungs have', () => {
    expect(job.state, JSON.stringify(job.error)).toBe('succeeded');
    if (job.pipeline?.kind !== 'ladder') throw new Error('not a ladder');
    expect(job.pipeline.chunks?.total).toBe(chunks);
    const frames = SECONDS * 60 * RUNGS.length;
    expect(job.pipeline.frames).toEqual({ done: frames, total: frames });
  });

  it('has every rung at 60 fps: every other source frame, 2 s apart keyframes at the same times in every rung', async () => {
    const rungs = await renditions(name);
    expect(rungs).toHaveLength(RUNGS.length);
    const keyframes: number[][] = [];
    for (const { frameRate, file } of rungs) {
      expect(frameRate).toBe(60);
      const frames = await packets(file, 'v:0');
      expect(frames).toHaveLength(SECONDS * 60);
      // Evenly 1/60 s apart, from the source's first frame.
      const start = frames[0]!.pts;
      for (const [i, f] of frames.entries()) expect(f.pts - start).toBeCloseTo(i / 60, 3);
      keyframes.push(frames.filter((f) => f.key).map((f) => Math.round((f.pts - start) * 1000)));
    }
    expect(keyframes[0]).toEqual([0, 2000, 4000]);
    expect(keyframes[1]).toEqual(keyframes[0]);
  });
});
