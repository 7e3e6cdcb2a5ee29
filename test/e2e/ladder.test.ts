/**
 * ABR ladders on a real fleet (Redis, S3 server, two worker processes, ffmpeg): a 720p source
 * becomes every rung of the default ladder that fits under it, packaged as HLS (fMP4) and
 * DASH. The outputs are read with real parsers (hls-parser, mpd-parser) and ffprobe.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DeleteObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import {
  isQualityRecord,
  type JobData,
  type LadderPlan,
  PoolRegistry,
  planLadderChunks,
  type QualityRecord,
} from '@ffleet/core';
import type { JobView } from '@ffleet/gateway';
import { Queue } from 'bullmq';
import HLS from 'hls-parser';
import { parse as parseMpd } from 'mpd-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  failingFfmpeg,
  ffmpegProcesses,
  finished,
  killWorker,
  startFleet,
  type TestFleet,
  timingRecords,
  type WorkerProcess,
} from '../support/fleet.ts';
import { renditionFile } from '../support/hls.ts';
import { analyseFile, ffmpeg, packets, probe, psnr } from '../support/media.ts';
import { checkPlayback } from '../support/playback.ts';

const POOL = 'intel';
const SECONDS = 14;
const RATE = 25;

let fleet: TestFleet;
let workers: WorkerProcess[] = [];
let sourceDuration: number;

beforeAll(async () => {
  fleet = await startFleet();
  const source = join(fleet.dir, 'source.mp4');
  // 720p with noise, so the rungs' bitrates are spent as on real footage and the source's is above every 720p rung.
  await ffmpeg([
    ...['-f', 'lavfi', '-i', `testsrc2=size=1280x720:rate=${RATE},noise=alls=12:allf=t`],
    ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'],
    ...['-t', String(SECONDS), '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '18', '-g', '50'],
    ...['-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '96k', '-shortest', source],
  ]);
  const frames = await packets(source, 'v:0');
  sourceDuration = frames.at(-1)!.pts + frames.at(-1)!.duration - frames[0]!.pts;
  await fleet.put('inputs/source.mp4', source);
}, 180_000);

afterAll(async () => {
  await fleet?.stop();
});

async function useWorkers(count: number, env: Record<string, string> = {}): Promise<void> {
  for (const w of workers) await killWorker(w);
  workers = [];
  for (let i = 0; i < count; i++)
    workers.push(await fleet.startWorker(POOL, { FFLEET_CONCURRENCY: '1', ...env }));
}

function ladderJob(name: string, ladder: Record<string, unknown> = {}, input = 'inputs/source.mp4') {
  return {
    name,
    compute: POOL,
    inputs: [{ url: `s3://${fleet.bucket}/${input}` }],
    outputs: [{ url: `s3://${fleet.bucket}/out/${name}/` }],
    ladder: { preset: 'ultrafast', ...ladder },
  };
}

async function keys(prefix: string): Promise<string[]> {
  const listed = await fleet.s3.send(new ListObjectsV2Command({ Bucket: fleet.bucket, Prefix: prefix }));
  return (listed.Contents ?? []).map((o) => o.Key!);
}

const scratchPrefix = () => fleet.env.FFLEET_SCRATCH_PREFIX ?? 'ffleet-scratch';
const text = async (key: string) => (await fleet.get(key)).toString('utf8');

/** A media playlist's segments with their sizes, and the playlist itself. */
async function mediaPlaylist(base: string, uri: string) {
  const folder = `${base}${uri.slice(0, uri.lastIndexOf('/') + 1)}`;
  const playlist = HLS.parse(await text(`${base}${uri}`)) as HLS.types.MediaPlaylist;
  const segments = await Promise.all(
    playlist.segments.map(async (s) => ({
      duration: s.duration,
      bytes: (await fleet.get(`${folder}${s.uri}`)).length,
      uri: s.uri,
    })),
  );
  return { playlist, folder, segments };
}

/** Keyframe times in milliseconds. */
const keyframesMs = (list: { pts: number; key: boolean }[]) =>
  list.filter((p) => p.key).map((p) => Math.round(p.pts * 1000));

function bandwidths(segments: { duration: number; bytes: number }[]) {
  const total = segments.reduce((s, x) => s + x.duration, 0);
  return {
    peak: Math.max(...segments.map((s) => (s.bytes * 8) / s.duration)),
    average: (segments.reduce((s, x) => s + x.bytes, 0) * 8) / total,
  };
}

describe('a ladder from a 720p source', () => {
  let id: string;
  let job: JobView;
  const base = 'out/ladder/';

  beforeAll(async () => {
    await useWorkers(2);
    id = await fleet.submit(ladderJob('ladder'));
    job = await fleet.waitFor<JobView>(id, finished, 600_000);
  }, 620_000);

  it('keeps every rung up to 720p and says why the 1080p ones went', () => {
    expect(job.state, JSON.stringify(job.error)).toBe('succeeded');
    const pipeline = job.pipeline!;
    expect(pipeline.kind).toBe('ladder');
    if (pipeline.kind !== 'ladder') return;
    expect(pipeline.rungs!.map((r) => `${r.width}x${r.height}@${r.bitrateKbps}`)).toEqual([
      '416x234@145',
      '640x360@365',
      '768x432@730',
      '768x432@1100',
      '960x540@2000',
      '1280x720@3000',
      '1280x720@4500',
    ]);
    expect(pipeline.rungs!.every((r) => r.state === 'done')).toBe(true);
    expect(pipeline.dropped).toEqual([
      { height: 1080, bitrateKbps: 6000, reason: 'taller than the source (720p)' },
      { height: 1080, bitrateKbps: 7800, reason: 'taller than the source (720p)' },
    ]);
    expect(pipeline.audio).toBe('done');
    // Quality was not asked for (the test fleet's default is off): no rung was measured.
    expect(job.rungQuality).toBeUndefined();
  });

  it('publishes an HLS master playlist whose variants declare what their segments measure', async () => {
    const master = HLS.parse(await text(`${base}master.m3u8`)) as HLS.types.MasterPlaylist;
    expect(master.isMasterPlaylist).toBe(true);
    const variants = master.variants.filter((v) => !v.isIFrameOnly);
    const iframes = master.variants.filter((v) => v.isIFrameOnly);
    expect(variants).toHaveLength(7);
    expect(iframes).toHaveLength(7);
    expect(variants.some((v) => v.resolution!.height >= 1080)).toBe(false);
    const audioRendition = variants[0]!.audio[0]!;
    const audio = await mediaPlaylist(base, audioRendition.uri!);
    const audioBandwidth = bandwidths(audio.segments);
    for (const v of variants) {
      // The source's aspect ratio, within the rounding to even widths.
      expect(Math.abs(v.resolution!.width / v.resolution!.height - 16 / 9)).toBeLessThan(
        2 / v.resolution!.height,
      );
      expect(v.codecs).toMatch(/^avc1\.[0-9a-f]{6},mp4a\.40\.2$/);
      expect(v.frameRate).toBe(RATE);
      const { playlist, segments } = await mediaPlaylist(base, v.uri);
      // Apple's rules: every segment at most the target + 0.5 s; EXTINF adds up to the duration within a frame.
      for (const s of segments) expect(s.duration).toBeLessThanOrEqual(playlist.targetDuration + 0.5);
      expect(playlist.targetDuration).toBe(6);
      const sum = segments.reduce((t, s) => t + s.duration, 0);
      expect(Math.abs(sum - sourceDuration)).toBeLessThanOrEqual(1 / RATE);
      const measured = bandwidths(segments);
      const peak = measured.peak + audioBandwidth.peak;
      const average = measured.average + audioBandwidth.average;
      expect(Math.abs(v.bandwidth - peak) / peak, `${v.uri} BANDWIDTH`).toBeLessThanOrEqual(0.1);
      expect(
        Math.abs(v.averageBandwidth! - average) / average,
        `${v.uri} AVERAGE-BANDWIDTH`,
      ).toBeLessThanOrEqual(0.1);
      // The rung's own bitrate is about what was asked (the encoder's rate control, not ours).
      const kbps = Number(/-(\d+)k\//.exec(v.uri)![1]);
      expect(measured.average / 1000 / kbps).toBeGreaterThan(0.7);
      expect(measured.average / 1000 / kbps).toBeLessThan(1.3);
    }
  });

  it('has keyframes at the same timestamps in every rung, every 2 s, and I-frame playlists that point at them', async () => {
    const master = HLS.parse(await text(`${base}master.m3u8`)) as HLS.types.MasterPlaylist;
    const lists: number[][] = [];
    for (const v of master.variants.filter((x) => !x.isIFrameOnly))
      lists.push(keyframesMs(await packets(await renditionFile(fleet, base, v.uri), 'v:0')));
    expect(lists[0]).toEqual(
      Array.from({ length: Math.ceil(SECONDS / 2) }, (_, k) => k * 2000 + lists[0]![0]!),
    );
    for (const list of lists) expect(list).toEqual(lists[0]);

    for (const v of master.variants.filter((x) => x.isIFrameOnly)) {
      const { playlist, folder } = await mediaPlaylist(base, v.uri);
      expect(playlist.isIFrame).toBe(true);
      for (const s of playlist.segments) {
        const { length, offset } = s.byterange!;
        const bytes = (await fleet.get(`${folder}${s.uri}`)).subarray(offset!, offset! + length);
        expect(bytes.toString('latin1', 4, 8)).toBe('moof');
      }
    }
  });

  it('publishes a DASH MPD of 2 s segments with segment alignment declared', async () => {
    const xml = await text(`${base}manifest.mpd`);
    const manifest = parseMpd(xml, { manifestUri: `http://127.0.0.1/${base}manifest.mpd` });
    expect(manifest.playlists).toHaveLength(7);
    for (const p of manifest.playlists) {
      const durations = p.segments.map((s) => s.duration);
      expect(durations.slice(0, -1).every((d) => Math.abs(d - 2) < 1e-6)).toBe(true);
      expect(durations.at(-1)).toBeLessThanOrEqual(2);
      for (const s of p.segments.slice(0, 2)) expect(await fleet.exists(`${base}${s.uri}`)).toBe(true);
    }
    const adaptationSets = xml.match(/<AdaptationSet [^>]*>/g)!;
    expect(adaptationSets).toHaveLength(2);
    for (const set of adaptationSets) expect(set).toContain('segmentAlignment="true"');
    expect(Object.keys(manifest.mediaGroups.AUDIO.audio ?? {}).length).toBeGreaterThan(0);
  });

  const PLAYERS = { hls: 'hls.js', dash: 'dash.js', shaka: 'Shaka Player' } as const;
  for (const player of ['hls', 'dash', 'shaka'] as const)
    it(`plays in Chromium with ${PLAYERS[player]}: starts, passes 10 s, switches rung, shows video`, {
      timeout: 180_000,
    }, async () => {
      await checkPlayback(fleet, { prefix: base, player, rungs: 7, seconds: 10 });
    });

  it('leaves no scratch behind', async () => {
    expect(await keys(`${scratchPrefix()}/${id}/`)).toEqual([]);
  });
});

describe('a rung that fails for good', () => {
  it('fails the ladder with its error and publishes nothing', { timeout: 300_000 }, async () => {
    // A worker whose ffmpeg fails the 360p rung (queued first, the biggest), like a broken encoder would.
    const wrapper = await failingFfmpeg(fleet.dir, 'ffmpeg-failing-rung', '*scale=640:360*');
    await useWorkers(1, { FFMPEG_PATH: wrapper });
    const rungs = [
      { height: 234, bitrateKbps: 145 },
      { height: 360, bitrateKbps: 365 },
    ];
    const id = await fleet.submit(ladderJob('failing', { rungs }));
    const job = await fleet.waitFor<JobView>(id, finished, 240_000);
    expect(job.state).toBe('failed');
    expect(job.error).toMatchObject({ code: 'ffmpeg_failed' });
    expect(job.error!.message).toMatch(new RegExp(`^${id}-360p-365k failed: ffmpeg exited with code 1`));
    expect(job.error!.stderr).toContain('simulated encoder fault');
    expect(await keys('out/failing/')).toEqual([]);
    expect(await keys(`${scratchPrefix()}/${id}/`)).toEqual([]);
  });
});

const LONG_SECONDS = 22;
const CHUNK_SECONDS = 6;
const SMALL_RUNGS = [
  { height: 90, bitrateKbps: 150 },
  { height: 180, bitrateKbps: 400 },
];
let longSource: string;

/**
 * A small source (320x180) put at `inputs/<name>.mp4`, made so its own keyframes (every 1.2 s)
 * sit on the ladder's 2 s grid only every 6 s: the rungs must be cut there, and keyframed on
 * the grid whatever the source's are.
 */
async function smallSource(name: string, seconds: number): Promise<string> {
  const file = join(fleet.dir, `${name}.mp4`);
  if (existsSync(file)) return file;
  await ffmpeg([
    ...['-f', 'lavfi', '-i', `testsrc2=size=320x180:rate=${RATE},noise=alls=12:allf=t`],
    ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'],
    ...['-t', String(seconds), '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '18'],
    ...['-g', '30', '-keyint_min', '30', '-sc_threshold', '0', '-pix_fmt', 'yuv420p'],
    ...['-c:a', 'aac', '-b:a', '96k', '-shortest', file],
  ]);
  await fleet.put(`inputs/${name}.mp4`, file);
  return file;
}

/** The plan a ladder's parent stored in BullMQ. */
async function storedPlan(id: string): Promise<LadderPlan> {
  const queue = new Queue<JobData>(`ffleet-${POOL}`, {
    connection: fleet.redis(),
    prefix: fleet.env.FFLEET_QUEUE_PREFIX,
  });
  try {
    const job = await queue.getJob(id);
    const pipeline = job!.data.pipeline!;
    if (pipeline.kind !== 'ladder' || !pipeline.plan) throw new Error(`${id} holds no ladder plan`);
    return pipeline.plan;
  } finally {
    await queue.close();
  }
}

/**
 * What every rendition of a finished ladder must be, read from its master playlist: EXTINF
 * adding up to the source's duration within a frame, no segment over the target + 0.5 s, every
 * frame of the source, keyframes every 2 s at the same times in every rendition. Returns each
 * rendition's video packets.
 */
async function checkRenditions(base: string, source: { seconds: number; duration: number; frames: number }) {
  const master = HLS.parse(await text(`${base}master.m3u8`)) as HLS.types.MasterPlaylist;
  const variants = master.variants.filter((v) => !v.isIFrameOnly);
  const renditions = [];
  for (const v of variants) {
    const { playlist, segments } = await mediaPlaylist(base, v.uri);
    for (const s of segments) expect(s.duration).toBeLessThanOrEqual(playlist.targetDuration + 0.5);
    const sum = segments.reduce((t, s) => t + s.duration, 0);
    expect(Math.abs(sum - source.duration), `${v.uri} EXTINF sum`).toBeLessThanOrEqual(1 / RATE);
    const file = await renditionFile(fleet, base, v.uri);
    const video = await packets(file, 'v:0');
    expect(video, `${v.uri} frames`).toHaveLength(source.frames);
    renditions.push({ variant: v, file, video });
  }
  const first = keyframesMs(renditions[0]!.video);
  expect(first).toEqual(
    Array.from({ length: Math.ceil(source.seconds / 2) }, (_, k) => k * 2000 + first[0]!),
  );
  for (const r of renditions) expect(keyframesMs(r.video), r.variant.uri).toEqual(first);
  return { master, renditions };
}

describe('a ladder over a longer source, encoded in chunks', () => {
  let id: string;
  let job: JobView;
  let mostRunning = 0;
  const base = 'out/chunked/';

  beforeAll(async () => {
    longSource = await smallSource('long', LONG_SECONDS);
    await useWorkers(2);
    id = await fleet.submit({
      ...ladderJob('chunked', { rungs: SMALL_RUNGS, chunkSeconds: CHUNK_SECONDS }, 'inputs/long.mp4'),
      quality: true,
    });
    job = await fleet.waitFor<JobView>(
      id,
      (j) => {
        if (j.pipeline?.kind === 'ladder')
          mostRunning = Math.max(mostRunning, j.pipeline.chunks?.running ?? 0);
        return finished(j);
      },
      300_000,
    );
  }, 400_000);

  it('encodes every rung as chunks cut on the 2 s grid, spread over the pool, and shows them in the job view', async () => {
    expect(job.state, JSON.stringify(job.error)).toBe('succeeded');
    const media = await analyseFile(longSource);
    const video = media.video!;
    // The source has keyframes off the grid (every 1.2 s); only those at 6, 12 and 18 s are on it.
    expect(video.keyframes.some((t) => Math.abs(t - video.startSeconds - 1.2) < 1e-3)).toBe(true);
    const expected = planLadderChunks(video, CHUNK_SECONDS, undefined).chunks!;
    expect(expected.map((c) => Math.round((c.startSeconds - video.startSeconds) * 1000))).toEqual([
      0, 6000, 12_000, 18_000,
    ]);
    const plan = await storedPlan(id);
    expect(plan.chunks).toEqual(expected);
    expect(plan.frames).toBe(video.frameTimes.length);

    const pipeline = job.pipeline!;
    if (pipeline.kind !== 'ladder') throw new Error('not a ladder');
    const frames = video.frameTimes.length * SMALL_RUNGS.length;
    expect(pipeline).toMatchObject({
      step: 'package',
      chunks: { total: 8, done: 8, running: 0, failed: 0 },
      frames: { done: frames, total: frames },
      audio: 'done',
    });
    for (const rung of pipeline.rungs!)
      expect(rung).toMatchObject({ state: 'done', percent: 100, chunks: { done: 4, total: 4 } });
    // Both workers encoded chunks at the same time.
    expect(mostRunning).toBe(2);
  });

  it('packages HLS as a whole encode would: EXTINF sums, keyframes on the grid in every rung, every chunk with its planned frames', async () => {
    const media = await analyseFile(longSource);
    const video = media.video!;
    const duration = video.endSeconds - video.startSeconds;
    const { master, renditions } = await checkRenditions(base, {
      seconds: LONG_SECONDS,
      duration,
      frames: video.frameTimes.length,
    });
    expect(renditions).toHaveLength(2);
    for (const v of master.variants.filter((x) => !x.isIFrameOnly))
      expect(v.codecs).toMatch(/^avc1\.[0-9a-f]{6},mp4a\.40\.2$/);
    const chunks = (await storedPlan(id)).chunks!;
    for (const { video: rendition, variant } of renditions) {
      const origin = rendition[0]!.pts;
      for (const chunk of chunks) {
        const from = chunk.startSeconds - video.startSeconds - 1e-3;
        const to = chunk.endSeconds - video.startSeconds - 1e-3;
        const inside = rendition.filter((p) => p.pts - origin >= from && p.pts - origin < to);
        expect(inside.length, `${variant.uri} chunk ${chunk.index}`).toBe(chunk.frames);
        expect(inside[0]!.key, `${variant.uri} chunk ${chunk.index} starts with a keyframe`).toBe(true);
      }
    }
    const xml = await text(`${base}manifest.mpd`);
    const manifest = parseMpd(xml, { manifestUri: `http://127.0.0.1/${base}manifest.mpd` });
    expect(manifest.playlists).toHaveLength(2);
    for (const p of manifest.playlists) {
      const durations = p.segments.map((x) => x.duration);
      expect(durations.slice(0, -1).every((d) => Math.abs(d - 2) < 1e-6)).toBe(true);
      expect(durations.at(-1)).toBeLessThanOrEqual(2);
    }
    for (const set of xml.match(/<AdaptationSet [^>]*>/g)!) expect(set).toContain('segmentAlignment="true"');
  });

  it('measures every rung, its chunks joined, against the source, and writes a quality record per rung', async () => {
    const rungs = job.rungQuality!;
    expect(rungs.map((r) => r.name)).toEqual(['90p-150k', '180p-400k']);
    for (const rung of rungs)
      expect(rung.quality, rung.name).toMatchObject({ status: 'measured', mode: 'sampled' });
    const [small, big] = rungs.map((r) => r.quality);
    // 90p upscaled to the 320x180 source loses detail 180p keeps.
    expect(big!.psnr! - small!.psnr!).toBeGreaterThan(2);
    expect(big!.ssim!).toBeGreaterThan(small!.ssim!);
    expect(job.timings!.quality).toBeGreaterThan(0);
    expect(job.quality).toBeNull();
    for (const rung of rungs) {
      const key = rung.metricsUrl!.replace(`s3://${fleet.bucket}/`, '');
      expect(key).toMatch(
        new RegExp(`^metrics/ffqm/year=\\d{4}/month=\\d{2}/day=\\d{2}/intel_${id}\\.${rung.name}\\.json$`),
      );
      const record = JSON.parse(await text(key)) as QualityRecord;
      expect(isQualityRecord(record)).toBe(true);
      expect(record.ffleet.rung).toEqual({
        name: rung.name,
        width: rung.width,
        height: rung.height,
        bitrate_kbps: rung.bitrateKbps,
      });
      expect(record.ffleet.job_id).toBe(id);
      expect(record.input_file_ref).toBe(`s3://${fleet.bucket}/inputs/long.mp4`);
      expect(record.input_file_dist).toBe(`s3://${fleet.bucket}/${base}hls/${rung.name}/index.m3u8`);
      expect(record.global.psnr.psnr_avg!.average).toBeCloseTo(rung.quality.psnr!, 6);
    }
  });

  it('leaves no scratch behind: pieces and chunks are gone', async () => {
    expect(await keys(`${scratchPrefix()}/${id}/`)).toEqual([]);
  });

  it('a worker killed mid-chunk costs only its chunk: the ladder completes, every other chunk encoded once', {
    timeout: 400_000,
  }, async () => {
    await useWorkers(2);
    // A slow preset on one thread, so a chunk is still encoding when the test acts.
    const ladder = { rungs: SMALL_RUNGS, chunkSeconds: CHUNK_SECONDS, preset: 'veryslow', threads: 1 };
    const killed = await fleet.submit(ladderJob('chunked-killed', ladder, 'inputs/long.mp4'));
    const chunks = (j: JobView) => (j.pipeline?.kind === 'ladder' ? j.pipeline.chunks : null);
    await fleet.waitFor<JobView>(
      killed,
      (j) => (chunks(j)?.done ?? 0) >= 1 && (chunks(j)?.running ?? 0) >= 1,
      240_000,
    );
    let victim: WorkerProcess | undefined;
    const deadline = Date.now() + 60_000;
    while (!victim && Date.now() < deadline) {
      for (const w of workers) if ((await ffmpegProcesses(w.workDir)).length > 0) victim = w;
      if (!victim) await new Promise((r) => setTimeout(r, 100));
    }
    expect(victim, 'a worker encoding a chunk').toBeDefined();
    await killWorker(victim!);
    workers = [
      ...workers.filter((w) => w !== victim),
      await fleet.startWorker(POOL, { FFLEET_CONCURRENCY: '1' }),
    ];

    const job = await fleet.waitFor<JobView>(killed, finished, 300_000);
    expect(job.state, JSON.stringify(job.error)).toBe('succeeded');
    const records = (await timingRecords(fleet)).filter((r) =>
      new RegExp(`^${killed}-\\d+p-\\d+k-c\\d+$`).test(r.job_id),
    );
    expect(records).toHaveLength(8);
    // A chunk's attempt counts its starts: the killed one started twice, every other one once.
    const attempts = records.map((r) => r.attempt).sort();
    expect(attempts.filter((a) => a === 1)).toHaveLength(7);
    expect(attempts.at(-1)).toBe(2);
    const video = (await analyseFile(longSource)).video!;
    await checkRenditions(`out/chunked-killed/`, {
      seconds: LONG_SECONDS,
      duration: video.endSeconds - video.startSeconds,
      frames: video.frameTimes.length,
    });
    expect(await keys(`${scratchPrefix()}/${killed}/`)).toEqual([]);
  });

  it('fails with the error of a chunk that fails for good, publishing nothing and removing the pieces and chunks', {
    timeout: 300_000,
  }, async () => {
    // A worker whose ffmpeg fails every chunk of the 180p rung (queued first, the biggest).
    const wrapper = await failingFfmpeg(fleet.dir, 'ffmpeg-failing-chunk', '*scale=320:180*');
    await useWorkers(1, { FFMPEG_PATH: wrapper });
    const failing = await fleet.submit(
      ladderJob('chunked-failing', { rungs: SMALL_RUNGS, chunkSeconds: CHUNK_SECONDS }, 'inputs/long.mp4'),
    );
    const job = await fleet.waitFor<JobView>(failing, finished, 240_000);
    expect(job.state).toBe('failed');
    expect(job.error!.message).toMatch(
      new RegExp(`^${failing}-180p-400k-c\\d failed: ffmpeg exited with code 1`),
    );
    expect(job.error!.stderr).toContain('simulated encoder fault');
    expect(await keys('out/chunked-failing/')).toEqual([]);
    expect(await keys(`${scratchPrefix()}/${failing}/`)).toEqual([]);
  });
});

describe('a ladder whose source is gone by the time its rungs are measured', () => {
  it('is published and succeeds; every rung says why it has no measurement', {
    timeout: 300_000,
  }, async () => {
    longSource = await smallSource('long', LONG_SECONDS);
    // No audio: the audio child would read the source itself.
    const silent = join(fleet.dir, 'vanishing.mp4');
    await ffmpeg(['-i', longSource, '-an', '-c', 'copy', silent]);
    await fleet.put('inputs/vanishing.mp4', silent);
    await useWorkers(2);
    const id = await fleet.submit({
      ...ladderJob('vanishing', { rungs: SMALL_RUNGS, chunkSeconds: CHUNK_SECONDS }, 'inputs/vanishing.mp4'),
      quality: true,
    });
    // Once the plan is stored, the chunks read their pieces from scratch, never the source.
    const planned = await fleet.waitFor<JobView>(
      id,
      (j) => (j.pipeline?.kind === 'ladder' && Boolean(j.pipeline.chunks)) || finished(j),
      120_000,
    );
    expect(planned.state).toBe('running');
    await fleet.s3.send(new DeleteObjectCommand({ Bucket: fleet.bucket, Key: 'inputs/vanishing.mp4' }));
    const job = await fleet.waitFor<JobView>(id, finished, 240_000);
    expect(job.state, JSON.stringify(job.error)).toBe('succeeded');
    expect(await keys('out/vanishing/master.m3u8')).toEqual(['out/vanishing/master.m3u8']);
    expect(job.rungQuality!.map((r) => [r.name, r.quality.status])).toEqual([
      ['90p-150k', 'failed'],
      ['180p-400k', 'failed'],
    ]);
    for (const r of job.rungQuality!) {
      expect(r.quality.reason).toMatch(/^the source could not be read again to measure the rungs: /);
      expect(r.metricsUrl).toBeUndefined();
    }
  });
});

describe('a rotated source (a phone video shot upright)', () => {
  const RUNG = { height: 240, bitrateKbps: 400 };
  let sourceFrames: number;
  /** The source as ffmpeg's own autorotation shows it, at the rung's size; and that upside down. */
  let reference: string;
  let upsideDown: string;

  beforeAll(async () => {
    longSource = await smallSource('long', LONG_SECONDS);
    // 320x180 coded, shown 180x320: the display matrix says turn it a quarter.
    const rotated = join(fleet.dir, 'rotated.mp4');
    await ffmpeg(['-i', longSource, '-c', 'copy', '-metadata:s:v:0', 'rotate=90', rotated]);
    const video = (await analyseFile(rotated)).video!;
    expect(video.rotation).toBe(90);
    sourceFrames = video.frameTimes.length;
    reference = join(fleet.dir, 'rotated-reference.mp4');
    await ffmpeg(['-i', rotated, '-vf', 'scale=134:240', '-c:v', 'libx264', '-qp', '0', '-an', reference]);
    upsideDown = join(fleet.dir, 'rotated-upside-down.mp4');
    await ffmpeg(['-i', reference, '-vf', 'hflip,vflip', '-c:v', 'libx264', '-qp', '0', upsideDown]);
    await fleet.put('inputs/rotated.mp4', rotated);
    await useWorkers(2);
  }, 120_000);

  for (const [label, chunkSeconds] of [
    ['in chunks', CHUNK_SECONDS],
    ['whole', 0],
  ] as const)
    it(`encoded ${label}: every rung upright and portrait, turned as ffmpeg turns it`, {
      timeout: 300_000,
    }, async () => {
      const base = `out/rotated-${chunkSeconds}/`;
      const id = await fleet.submit({
        ...ladderJob(`rotated-${chunkSeconds}`, { rungs: [RUNG], chunkSeconds }, 'inputs/rotated.mp4'),
        quality: { mode: 'full' },
      });
      const job = await fleet.waitFor<JobView>(id, finished, 240_000);
      expect(job.state, JSON.stringify(job.error)).toBe('succeeded');
      const plan = await storedPlan(id);
      expect(Boolean(plan.chunks), 'encoded in chunks').toBe(chunkSeconds > 0);
      // Sized as the source is shown: 240 high, the width from 180:320.
      const [rung] = plan.rungs.kept;
      expect(rung).toMatchObject({ height: 240, width: 134 });
      const master = HLS.parse(await text(`${base}master.m3u8`)) as HLS.types.MasterPlaylist;
      const variant = master.variants.find((v) => !v.isIFrameOnly)!;
      expect(variant.resolution).toEqual({ width: 134, height: 240 });
      const file = await renditionFile(fleet, base, variant.uri);
      const video = (await analyseFile(file)).video!;
      // Turned in the pixels, no matrix left for a player to apply (MSE players ignore one).
      expect([video.width, video.height, video.rotation]).toEqual([134, 240, 0]);
      expect(video.frameTimes).toHaveLength(sourceFrames);
      // Turned the way ffmpeg's own autorotation turns it, not the other way round.
      const [right, wrong] = await Promise.all([psnr(reference, file), psnr(upsideDown, file)]);
      expect(right).toBeGreaterThan(25);
      expect(right - wrong).toBeGreaterThan(8);
      // The rung's quality, measured against the source as it is shown: upright, every frame.
      const [measured] = job.rungQuality!;
      expect(measured!.quality, JSON.stringify(measured)).toMatchObject({
        status: 'measured',
        mode: 'full',
        frames: sourceFrames,
      });
      expect(measured!.quality.psnr).toBeGreaterThan(25);
    });
});

describe('HEVC and AV1 ladders', () => {
  for (const [codec, tag, preset] of [
    ['hevc', 'hvc1', 'ultrafast'],
    ['av1', 'av01', '12'],
  ] as const)
    it(`${codec}: CODECS ${tag}, segments ffprobe reads as ${codec}, keyframes aligned, chunks too`, {
      timeout: 400_000,
    }, async () => {
      // 10 s in chunks of 4 s: cut at 6 s, the only keyframe on the grid in reach.
      const source = await smallSource('short', 10);
      await useWorkers(2);
      const name = `ladder-${codec}`;
      const id = await fleet.submit(
        ladderJob(name, { codec, preset, rungs: SMALL_RUNGS, chunkSeconds: 4 }, 'inputs/short.mp4'),
      );
      const job = await fleet.waitFor<JobView>(id, finished, 360_000);
      expect(job.state, JSON.stringify(job.error)).toBe('succeeded');
      expect(job.pipeline).toMatchObject({ chunks: { total: 4, done: 4 } });
      const media = await analyseFile(source);
      const video = media.video!;
      const { master, renditions } = await checkRenditions(`out/${name}/`, {
        seconds: 10,
        duration: video.endSeconds - video.startSeconds,
        frames: video.frameTimes.length,
      });
      for (const v of master.variants) expect(v.codecs!.startsWith(`${tag}.`), v.codecs).toBe(true);
      for (const { file, variant } of renditions) {
        const streams = (await probe(file)).streams.filter((s) => s.codec_type === 'video');
        expect(streams.map((s) => [s.codec_name, s.height])).toEqual([[codec, variant.resolution!.height]]);
      }
      // Every segment on its own (after the init segment) is readable media too.
      const { playlist, folder } = await mediaPlaylist(`out/${name}/`, renditions[0]!.variant.uri);
      const init = await fleet.get(`${folder}${playlist.segments[0]!.map!.uri}`);
      for (const segment of playlist.segments) {
        const file = join(fleet.dir, `${name}-segment.mp4`);
        await writeFile(file, Buffer.concat([init, await fleet.get(`${folder}${segment.uri}`)]));
        const frames = await packets(file, 'v:0');
        expect(frames.length).toBeGreaterThan(0);
        expect(frames[0]!.key).toBe(true);
      }
      // The MPD names the same full codec strings as the master playlist (not a bare tag).
      const mpd = parseMpd(await text(`out/${name}/manifest.mpd`), {
        manifestUri: `http://127.0.0.1/out/${name}/manifest.mpd`,
      });
      const hlsCodecs = master.variants.filter((v) => !v.isIFrameOnly).map((v) => v.codecs!.split(',')[0]);
      expect(mpd.playlists.map((p) => p.attributes.CODECS).sort()).toEqual(hlsCodecs.sort());
      expect(await keys(`${scratchPrefix()}/${id}/`)).toEqual([]);
    });

  it('refuses AV1 on a pool without an AV1 encoder with a 400 naming the pool', async () => {
    const without = PoolRegistry.load().pools.find((p) => !p.encoders.includes('libsvtav1'))!;
    const { status, body } = await fleet.api<{ error: string; message: string }>('POST', '/v1/jobs', {
      ...ladderJob('ladder-av1-refused', { codec: 'av1' }),
      compute: without.family,
    });
    expect(status).toBe(400);
    expect(body.message).toContain(`codec av1 needs libsvtav1, which pool ${without.name} does not have`);
  });
});
