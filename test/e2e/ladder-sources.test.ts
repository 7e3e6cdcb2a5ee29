/**
 * Ladders of sources as cameras and capture cards write them, on a real fleet (Redis, S3 server,
 * two worker processes, ffmpeg), read back with hls-parser, ffprobe and ffmpeg's silencedetect:
 * - a 120 fps source: Apple's HLS authoring specification says frame rates above 60 shall not be
 *   used and runs rungs below 540p at 30 or less, so the 540p rung keeps one frame in two and
 *   the 180p rung one in four, keyframes at the same times, encoded whole or in chunks;
 * - MPEG-TS captures whose audio starts after or before the video: a beep must sound as long
 *   after the first frame in the renditions as it does in the source;
 * - a film with an English and a French audio stream: one rendition each, in its language;
 * - rungs with B-frames: the beep that comes with a flash in the source comes with it in the
 *   HLS and the DASH renditions;
 * - a film with subtitles (English, French forced, English for the hard of hearing) whose
 *   picture starts 0.6 s into its timeline: a WebVTT rendition each, every cue against the frame
 *   it showed with, in the segments and in Chromium; a fourth stream with more cues than any film
 *   has is left out.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MAX_CUES } from '@ffleet/core';
import type { JobView } from '@ffleet/gateway';
import HLS from 'hls-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finished, startFleet, type TestFleet } from '../support/fleet.ts';
import { joinedObjects, renditionFile } from '../support/hls.ts';
import { ffmpeg, packets } from '../support/media.ts';
import { playSubtitles } from '../support/playback.ts';
import { probeWvtt } from '../support/wvtt.ts';

const POOL = 'intel';
const run = promisify(execFile);
const SECONDS = 6;
const RUNGS = [
  { height: 540, bitrateKbps: 2000 },
  { height: 180, bitrateKbps: 400 },
];
/** Each rung's frame rate from the 120 fps source. */
const RATES = new Map([
  [540, 60],
  [180, 30],
]);

let fleet: TestFleet;

beforeAll(async () => {
  fleet = await startFleet();
  const fast = join(fleet.dir, 'fast.mp4');
  // 120 fps, a keyframe every 2 s, noise so the source's bitrate is above every rung's.
  await ffmpeg([
    ...['-f', 'lavfi', '-i', 'testsrc2=size=960x540:rate=120,noise=alls=12:allf=t'],
    ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'],
    ...['-t', String(SECONDS), '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '18', '-g', '240'],
    ...['-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', fast],
  ]);
  await fleet.put('inputs/fast.mp4', fast);
  // A beep 2 s into the audio; the audio starts 0.6 s after the video, or the video 0.5 s after
  // the audio; MPEG-TS, whose timestamps start where the capture did.
  const beep = 'aevalsrc=if(between(t\\,2\\,2.3)\\,sin(2*PI*440*t)\\,0):s=48000:d=12';
  const picture = 'testsrc2=size=320x180:rate=25,noise=alls=12:allf=t';
  const encode = [
    '-t',
    '12',
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-qp',
    '18',
    '-g',
    '50',
    '-c:a',
    'aac',
  ];
  await ffmpeg([
    ...['-f', 'lavfi', '-i', picture, '-itsoffset', '0.6', '-f', 'lavfi', '-i', beep],
    ...[...encode, '-output_ts_offset', '1.4', join(fleet.dir, 'late.ts')],
  ]);
  await ffmpeg([
    ...['-f', 'lavfi', '-i', beep, '-itsoffset', '0.5', '-f', 'lavfi', '-i', picture],
    ...['-map', '1:v', '-map', '0:a', ...encode, join(fleet.dir, 'early.ts')],
  ]);
  for (const name of ['late.ts', 'early.ts']) await fleet.put(`inputs/${name}`, join(fleet.dir, name));
  // English beeps at 1 s, French at 3 s, the English commentary at 2 s, the English audio description at 4 s.
  const beepAt = (t: number) =>
    `aevalsrc=if(between(t\\,${t}\\,${t + 0.3})\\,sin(2*PI*440*t)\\,0):s=48000:d=6`;
  await ffmpeg([
    ...['-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25,noise=alls=12:allf=t'],
    ...[1, 3, 2, 4].flatMap((t) => ['-f', 'lavfi', '-i', beepAt(t)]),
    ...['-map', '0:v', '-map', '1:a', '-map', '2:a', '-map', '3:a', '-map', '4:a', '-t', '6'],
    ...['-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '18', '-g', '50', '-c:a', 'aac'],
    ...['-metadata:s:a', 'language=eng', '-metadata:s:a:1', 'language=fra'],
    ...['-disposition:a:0', 'default', '-disposition:a:1', '0', '-disposition:a:2', 'comment'],
    ...['-disposition:a:3', 'visual_impaired+descriptions', join(fleet.dir, 'film-audio.mp4')],
  ]);
  await fleet.put('inputs/film-audio.mp4', join(fleet.dir, 'film-audio.mp4'));
  for (let i = 0; i < 2; i++) await fleet.startWorker(POOL, { FFLEET_CONCURRENCY: '1' });
}, 180_000);

afterAll(async () => {
  await fleet?.stop();
});

/** The ladder of `input` into `out/<name>/`, until it ends. */
async function ladder(
  name: string,
  chunkSeconds: number,
  input: string,
  rungs: { height: number; bitrateKbps: number }[] = RUNGS,
  more: Record<string, unknown> = {},
): Promise<JobView> {
  const { status, body } = await fleet.api<{ id: string }>('POST', '/v1/jobs', {
    name,
    compute: POOL,
    inputs: [{ url: `s3://${fleet.bucket}/inputs/${input}` }],
    outputs: [{ url: `s3://${fleet.bucket}/out/${name}/` }],
    ladder: { preset: 'ultrafast', chunkSeconds, rungs, ...more },
  });
  expect(status, JSON.stringify(body)).toBe(202);
  return fleet.waitFor<JobView>(body.id, finished, 240_000);
}

/** Each video variant's declared frame rate, and its rendition as one local file. */
async function renditions(name: string) {
  const base = `out/${name}/`;
  const master = HLS.parse(
    (await fleet.get(`${base}master.m3u8`)).toString('utf8'),
  ) as HLS.types.MasterPlaylist;
  return Promise.all(
    master.variants
      .filter((variant) => !variant.isIFrameOnly)
      .map(async (variant) => ({
        height: variant.resolution!.height,
        frameRate: variant.frameRate,
        file: await renditionFile(fleet, base, variant.uri, `${name}-${variant.resolution!.height}.mp4`),
      })),
  );
}

/** When the first sound after silence starts in a file's first audio stream, on its own timestamps. */
async function soundStarts(file: string): Promise<number> {
  const { stderr } = await run('ffmpeg', [
    ...['-hide_banner', '-nostdin', '-copyts', '-i', file, '-map', '0:a:0'],
    ...['-af', 'silencedetect=n=-40dB:d=0.1', '-f', 'null', '-'],
  ]);
  const end = /silence_end: ([\d.]+)/.exec(stderr);
  if (!end) throw new Error(`no sound after silence in ${file}: ${stderr.slice(-300)}`);
  return Number(end[1]);
}

/** The first video frame's time in a file, on its own timestamps. */
const firstFrame = async (file: string) => (await packets(file, 'v:0'))[0]!.pts;

describe.each([
  { how: 'in chunks', name: 'fast-chunked', chunkSeconds: 2, chunks: 3 * RUNGS.length },
  { how: 'whole', name: 'fast-whole', chunkSeconds: 0, chunks: undefined },
])('a ladder of a 120 fps source, each rung encoded $how', ({ name, chunkSeconds, chunks }) => {
  let job: JobView;

  beforeAll(async () => {
    job = await ladder(name, chunkSeconds, 'fast.mp4');
  }, 260_000);

  it('succeeds, its view counting the frames the rungs have', () => {
    expect(job.state, JSON.stringify(job.error)).toBe('succeeded');
    if (job.pipeline?.kind !== 'ladder') throw new Error('not a ladder');
    expect(job.pipeline.chunks?.total).toBe(chunks);
    const frames = SECONDS * (60 + 30);
    expect(job.pipeline.frames).toEqual({ done: frames, total: frames });
    // Each rung's frame rate, smallest rung first.
    expect(job.pipeline.rungs?.map((r) => [r.height, r.frameRate])).toEqual([
      [180, 30],
      [540, 60],
    ]);
  });

  it('has the 540p rung at 60 fps and the 180p at 30, evenly spaced, keyframes every 2 s at the same times in both', async () => {
    const rungs = await renditions(name);
    expect(rungs).toHaveLength(RUNGS.length);
    const keyframes: number[][] = [];
    for (const { height, frameRate, file } of rungs) {
      const rate = RATES.get(height)!;
      expect(frameRate, `${height}p`).toBe(rate);
      const frames = await packets(file, 'v:0');
      expect(frames).toHaveLength(SECONDS * rate);
      // Evenly 1/rate s apart, from the source's first frame.
      const start = frames[0]!.pts;
      for (const [i, f] of frames.entries()) expect(f.pts - start).toBeCloseTo(i / rate, 3);
      keyframes.push(frames.filter((f) => f.key).map((f) => Math.round((f.pts - start) * 1000)));
    }
    expect(keyframes[0]).toEqual([0, 2000, 4000]);
    expect(keyframes[1]).toEqual(keyframes[0]);
  });
});

describe.each([
  { source: 'late.ts', starts: 'after', chunkSeconds: 0 },
  { source: 'late.ts', starts: 'after', chunkSeconds: 4 },
  { source: 'early.ts', starts: 'before', chunkSeconds: 0 },
])(
  'a ladder of a capture whose audio starts $starts the video (chunkSeconds $chunkSeconds)',
  ({ source, chunkSeconds }) => {
    it('keeps the sound where it is against the picture: the beep as long after the first frame as in the source', {
      timeout: 260_000,
    }, async () => {
      const name = `${source.replace('.ts', '')}-${chunkSeconds}`;
      const job = await ladder(name, chunkSeconds, source, [{ height: 180, bitrateKbps: 400 }]);
      expect(job.state, JSON.stringify(job.error)).toBe('succeeded');
      const local = join(fleet.dir, source);
      const inSource = (await soundStarts(local)) - (await firstFrame(local));
      const [video] = await renditions(name);
      const audio = await renditionFile(fleet, `out/${name}/`, 'hls/audio/index.m3u8', `${name}-audio.mp4`);
      const inLadder = (await soundStarts(audio)) - (await firstFrame(video!.file));
      // Within one AAC frame (21 ms at 48 kHz); lip sync is noticed from about 45 ms.
      expect(
        Math.abs(inLadder - inSource),
        `the beep ${inLadder} s after the first frame, ${inSource} s in the source`,
      ).toBeLessThan(0.025);
    });
  },
);

describe('a ladder of a film with English and French audio, an English commentary and an English audio description', () => {
  it('makes one audio rendition per stream, the first the default, each saying its role, in HLS and DASH', {
    timeout: 260_000,
  }, async () => {
    const job = await ladder('film-audio', 0, 'film-audio.mp4', [{ height: 180, bitrateKbps: 400 }]);
    expect(job.state, JSON.stringify(job.error)).toBe('succeeded');
    if (job.pipeline?.kind !== 'ladder') throw new Error('not a ladder');
    expect(job.pipeline.audio).toBe('done');
    const base = 'out/film-audio/';
    const master = HLS.parse(
      (await fleet.get(`${base}master.m3u8`)).toString('utf8'),
    ) as HLS.types.MasterPlaylist;
    const renditions = master.variants[0]!.audio;
    expect(
      renditions.map((r) => [r.name, r.language, r.isDefault, r.autoselect, r.characteristics, r.uri]),
    ).toEqual([
      ['en', 'en', true, true, undefined, 'hls/audio/index.m3u8'],
      ['fr', 'fr', false, true, undefined, 'hls/audio-1/index.m3u8'],
      ['en commentary', 'en', false, false, undefined, 'hls/audio-2/index.m3u8'],
      [
        'en audio description',
        'en',
        false,
        true,
        'public.accessibility.describes-video',
        'hls/audio-3/index.m3u8',
      ],
    ]);
    // Each rendition is its own stream: the English beep at 1 s, the French at 3 s, the commentary's at 2 s, the description's at 4 s.
    for (const [i, at] of [1, 3, 2, 4].entries()) {
      const file = await renditionFile(fleet, base, renditions[i]!.uri!, `film-audio-${i}.mp4`);
      expect(Math.abs((await soundStarts(file)) - (await packets(file, 'a:0'))[0]!.pts - at)).toBeLessThan(
        0.05,
      );
    }
    const mpd = (await fleet.get(`${base}manifest.mpd`)).toString('utf8');
    // Each audio set with its language and DASH role.
    const audioSets = [
      ...mpd.matchAll(/<AdaptationSet[^>]*contentType="audio"[^>]*>[\s\S]*?<\/AdaptationSet>/g),
    ].map((m) => [
      /lang="(\w+)"/.exec(m[0])?.[1],
      /<Role schemeIdUri="urn:mpeg:dash:role:2011" value="(\w+)"/.exec(m[0])?.[1],
    ]);
    expect(audioSets).toEqual([
      ['eng', 'main'],
      ['fra', 'main'],
      ['eng', 'commentary'],
      ['eng', 'description'],
    ]);
  });
});

describe('a ladder of a source with ten audio streams (a broadcast master, one channel each)', () => {
  /** Stream i is a tone of 200 + 50 i Hz. */
  const toneHz = (stream: number) => 200 + 50 * stream;

  beforeAll(async () => {
    const file = join(fleet.dir, 'ten.mov');
    const tones = Array.from({ length: 10 }, (_, i) => [
      '-f',
      'lavfi',
      '-i',
      `sine=frequency=${toneHz(i)}:sample_rate=48000:duration=2`,
    ]).flat();
    await ffmpeg([
      ...['-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25:duration=2,noise=alls=12:allf=t', ...tones],
      ...['-map', '0:v', ...Array.from({ length: 10 }, (_, i) => ['-map', `${i + 1}:a`]).flat()],
      ...['-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '18', '-c:a', 'aac', file],
    ]);
    await fleet.put('inputs/ten.mov', file);
  }, 60_000);

  /**
   * Which source stream's tone one channel of a file's audio plays: its frequency from its zero
   * crossings over a second past the encoder's priming, to the nearest tone (50 Hz apart).
   */
  async function streamHeard(file: string, channel: 'FL' | 'FR'): Promise<number> {
    const { stdout } = await run(
      'ffmpeg',
      [
        '-v',
        'error',
        '-ss',
        '0.5',
        '-i',
        file,
        '-af',
        `pan=mono|c0=${channel}`,
        '-t',
        '1',
        '-f',
        'f32le',
        '-',
      ],
      { encoding: 'buffer', maxBuffer: 16 * 1024 * 1024 },
    );
    const samples = new Float32Array(stdout.buffer, stdout.byteOffset, stdout.length / 4);
    let crossings = 0;
    for (let i = 1; i < samples.length; i++) if (samples[i - 1]! < 0 !== samples[i]! < 0) crossings++;
    // Two crossings a period.
    const hz = crossings / 2 / (samples.length / 48_000);
    return Math.round((hz - toneHz(0)) / 50);
  }

  it('makes renditions of the first eight and says why the others have none', {
    timeout: 260_000,
  }, async () => {
    const job = await ladder('ten-streams', 0, 'ten.mov', [{ height: 180, bitrateKbps: 400 }]);
    expect(job.state, JSON.stringify(job.error)).toBe('succeeded');
    if (job.pipeline?.kind !== 'ladder') throw new Error('not a ladder');
    expect(job.pipeline.audioNote).toBe('the source has 10 audio streams: the first 8 have renditions');
    const master = HLS.parse(
      (await fleet.get('out/ten-streams/master.m3u8')).toString('utf8'),
    ) as HLS.types.MasterPlaylist;
    expect(master.variants[0]!.audio.map((r) => r.uri)).toEqual(
      Array.from({ length: 8 }, (_, i) => `hls/audio${i === 0 ? '' : `-${i}`}/index.m3u8`),
    );
  });

  it('makes the programmes ladder.audio names: two mono streams as left and right, another as a commentary', {
    timeout: 260_000,
  }, async () => {
    const { status, body } = await fleet.api<{ id: string }>('POST', '/v1/jobs', {
      name: 'programmes',
      compute: POOL,
      inputs: [{ url: `s3://${fleet.bucket}/inputs/ten.mov` }],
      outputs: [{ url: `s3://${fleet.bucket}/out/programmes/` }],
      ladder: {
        preset: 'ultrafast',
        rungs: [{ height: 180, bitrateKbps: 400 }],
        audio: [
          { streams: [0, 1], language: 'eng' },
          { streams: [9], language: 'fra', role: 'commentary' },
        ],
      },
    });
    expect(status, JSON.stringify(body)).toBe(202);
    const job = await fleet.waitFor<JobView>(body.id, finished, 240_000);
    expect(job.state, JSON.stringify(job.error)).toBe('succeeded');
    if (job.pipeline?.kind !== 'ladder') throw new Error('not a ladder');
    expect(job.pipeline.audioNote).toBeUndefined();
    const base = 'out/programmes/';
    const master = HLS.parse(
      (await fleet.get(`${base}master.m3u8`)).toString('utf8'),
    ) as HLS.types.MasterPlaylist;
    const renditions = master.variants[0]!.audio;
    expect(renditions.map((r) => [r.name, r.language, r.isDefault])).toEqual([
      ['en', 'en', true],
      ['fr commentary', 'fr', false],
    ]);
    const programme = await renditionFile(fleet, base, renditions[0]!.uri!, 'programme.mp4');
    expect(await streamHeard(programme, 'FL')).toBe(0);
    expect(await streamHeard(programme, 'FR')).toBe(1);
    const commentary = await renditionFile(fleet, base, renditions[1]!.uri!, 'commentary.mp4');
    for (const channel of ['FL', 'FR'] as const) expect(await streamHeard(commentary, channel)).toBe(9);
  });

  it('fails a ladder.audio that names a stream the source does not have, saying how many it has', {
    timeout: 120_000,
  }, async () => {
    const { body } = await fleet.api<{ id: string }>('POST', '/v1/jobs', {
      name: 'programmes-missing',
      compute: POOL,
      inputs: [{ url: `s3://${fleet.bucket}/inputs/ten.mov` }],
      outputs: [{ url: `s3://${fleet.bucket}/out/programmes-missing/` }],
      ladder: {
        preset: 'ultrafast',
        rungs: [{ height: 180, bitrateKbps: 400 }],
        audio: [{ streams: [0, 12] }],
      },
    });
    const job = await fleet.waitFor<JobView>(body.id, finished, 100_000);
    expect(job.state).toBe('failed');
    expect(job.error).toMatchObject({
      code: 'invalid_job',
      message: 'ladder.audio[0] names audio stream 12; the source has 10 audio streams',
    });
  });
});

describe('a ladder whose rungs have B-frames, of a film whose flash and beep come together', () => {
  /** The time of the first bright frame of a file's video, on its own timestamps. */
  async function flashAt(file: string): Promise<number> {
    const { stderr } = await run('ffmpeg', [
      ...['-hide_banner', '-nostdin', '-copyts', '-i', file, '-map', '0:v:0'],
      ...['-vf', 'signalstats,metadata=print:key=lavfi.signalstats.YAVG', '-f', 'null', '-'],
    ]);
    // metadata=print writes a frame's time on one line and its value on the next.
    for (const [, pts, luma] of stderr.matchAll(/pts_time:([\d.]+).*\n.*lavfi\.signalstats\.YAVG=([\d.]+)/g))
      if (Number(luma) > 100) return Number(pts);
    throw new Error(`no flash in ${file}`);
  }

  /** A DASH representation as one local file: its init segment and every media segment. */
  async function dashFile(base: string, representation: number, name: string): Promise<string> {
    const segment = (n: number) => `${base}dash/seg-${representation}-${String(n).padStart(5, '0')}.m4s`;
    const keys = [`${base}dash/init-${representation}.m4s`];
    for (let n = 1; await fleet.exists(segment(n)); n++) keys.push(segment(n));
    return joinedObjects(fleet, keys, name);
  }

  it('plays the beep with the flash in every rung, in HLS and in DASH', { timeout: 260_000 }, async () => {
    // 50 fps: the 540p rung keeps every frame, the 180p one every second (25 fps), so its
    // B-frames delay its first picture twice as long.
    const file = join(fleet.dir, 'flash-beep.mov');
    await ffmpeg([
      ...[
        '-f',
        'lavfi',
        '-i',
        // Grain, so the source's bitrate keeps both rungs; the flash is all white.
        "color=c=black:s=960x540:r=50:d=6,geq=lum='if(between(T\\,3\\,3.1)\\,235\\,16+48*random(1))':cb=128:cr=128",
      ],
      ...['-f', 'lavfi', '-i', 'aevalsrc=if(between(t\\,3\\,3.1)\\,sin(2*PI*440*t)\\,0):s=48000:d=6'],
      ...['-map', '0:v', '-map', '1:a', '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'pcm_s16le', file],
    ]);
    await fleet.put('inputs/flash-beep.mov', file);
    // x264's medium preset: B-frames, so a rung's first frame shows after its first decode.
    const rungs = [
      { height: 540, bitrateKbps: 1200 },
      { height: 180, bitrateKbps: 300 },
    ];
    const job = await ladder('flash-beep', 0, 'flash-beep.mov', rungs, { preset: 'medium' });
    expect(job.state, JSON.stringify(job.error)).toBe('succeeded');
    const base = 'out/flash-beep/';
    // The master lists the lowest rung first.
    const text = (await fleet.get(`${base}master.m3u8`)).toString('utf8');
    const variants = (HLS.parse(text) as HLS.types.MasterPlaylist).variants.filter((v) => !v.isIFrameOnly);
    expect(
      variants.map((v) => v.frameRate),
      text,
    ).toEqual([25, 50]);
    const audio = await renditionFile(fleet, base, variants[0]!.audio[0]!.uri!, 'flash-beep-audio.mp4');
    const beep = await soundStarts(audio);
    for (const [i, variant] of variants.entries()) {
      const video = await renditionFile(fleet, base, variant.uri, `flash-beep-video-${i}.mp4`);
      expect(Math.abs(beep - (await flashAt(video))), `HLS ${variant.uri}`).toBeLessThan(0.03);
    }
    const dashAudio = await dashFile(base, rungs.length, 'flash-beep-dash-audio.mp4');
    for (const i of rungs.keys()) {
      const dashVideo = await dashFile(base, i, `flash-beep-dash-video-${i}.mp4`);
      expect(
        Math.abs((await soundStarts(dashAudio)) - (await flashAt(dashVideo))),
        `DASH representation ${i}`,
      ).toBeLessThan(0.03);
    }
  });
});

describe('a ladder of a film with subtitles, its picture starting 0.6 s into its timeline', () => {
  /** Each subtitle stream's cues, source seconds: English, French forced, English for the hard of hearing. */
  const STREAMS = [
    {
      language: 'eng',
      disposition: 'default',
      cues: [
        [1, 2, 'Hello <i>there</i>'],
        [3.5, 5, 'Across a segment boundary,\non two lines'],
      ],
    },
    { language: 'fra', disposition: 'forced', cues: [[2, 3, 'Bonjour']] },
    { language: 'eng', disposition: 'hearing_impaired', cues: [[0.8, 1.6, '[door slams]']] },
  ] as const;
  const base = 'out/film-subs/';
  /** The HLS segments' length, a multiple of the 2 s GOP. */
  const SEGMENT = 2;
  const source = () => join(fleet.dir, 'film-subs.mkv');
  let job: JobView;

  const srtTime = (t: number) =>
    `00:00:${String(Math.floor(t)).padStart(2, '0')},${String(Math.round((t % 1) * 1000)).padStart(3, '0')}`;

  beforeAll(async () => {
    const inputs: string[] = [];
    for (const [i, stream] of STREAMS.entries()) {
      const file = join(fleet.dir, `subs-${i}.srt`);
      const blocks = stream.cues.map(
        ([from, to, text], n) => `${n + 1}\n${srtTime(from)} --> ${srtTime(to)}\n${text}\n`,
      );
      await writeFile(file, blocks.join('\n'));
      inputs.push('-i', file);
    }
    // A fourth stream of more cues than any film has: left out.
    const flood = join(fleet.dir, 'subs-flood.srt');
    const floodCue = (n: number) => `${n}\n00:00:01,000 --> 00:00:01,500\nline ${n}\n`;
    await writeFile(flood, Array.from({ length: MAX_CUES + 1 }, (_, n) => floodCue(n + 1)).join('\n'));
    inputs.push('-i', flood);
    await ffmpeg([
      ...[
        '-itsoffset',
        '0.6',
        '-f',
        'lavfi',
        '-i',
        'testsrc2=size=320x180:rate=25:duration=6,noise=alls=12:allf=t',
      ],
      ...inputs,
      ...['-map', '0:v', '-map', '1', '-map', '2', '-map', '3', '-map', '4'],
      ...['-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '18', '-g', '50', '-c:s', 'srt'],
      ...STREAMS.flatMap((s, i) => [
        `-metadata:s:s:${i}`,
        `language=${s.language}`,
        `-disposition:s:${i}`,
        s.disposition,
      ]),
      source(),
    ]);
    await fleet.put('inputs/film-subs.mkv', source());
    job = await ladder('film-subs', 0, 'film-subs.mkv', [{ height: 180, bitrateKbps: 400 }], {
      hls: { segmentSeconds: SEGMENT },
      // B-frames, so the rungs' first frame is shown after their first decode.
      preset: 'veryfast',
    });
  }, 260_000);

  it('succeeds, its view listing the subtitles and saying which one is left out and why', () => {
    expect(job.state, JSON.stringify(job.error)).toBe('succeeded');
    if (job.pipeline?.kind !== 'ladder') throw new Error('not a ladder');
    expect(job.pipeline.subtitles).toEqual([
      { language: 'eng' },
      { language: 'fra', forced: true },
      { language: 'eng', hearingImpaired: true },
    ]);
    expect(job.pipeline.subtitleNote).toBe(
      `subtitle stream 0:4 is left out: it has ${MAX_CUES + 1} cues, more than ${MAX_CUES}`,
    );
  });

  it("carries an MP4's tx3g subtitles; a TTML track, which FFmpeg reads as data, is no subtitle stream to it", {
    timeout: 260_000,
  }, async () => {
    // MP4 with a tx3g stream and a TTML one, which FFmpeg writes but cannot read back.
    const file = join(fleet.dir, 'film-ttml.mp4');
    await ffmpeg([
      ...[
        '-f',
        'lavfi',
        '-i',
        'testsrc2=size=320x180:rate=25:duration=4',
        '-i',
        join(fleet.dir, 'subs-0.srt'),
      ],
      ...['-map', '0', '-map', '1', '-map', '1', '-c:v', 'libx264', '-preset', 'ultrafast'],
      ...['-c:s:0', 'mov_text', '-c:s:1', 'ttml', '-metadata:s:s', 'language=eng', '-f', 'mp4', file],
    ]);
    await fleet.put('inputs/film-ttml.mp4', file);
    const ttml = await ladder('film-ttml', 0, 'film-ttml.mp4', [{ height: 180, bitrateKbps: 400 }]);
    expect(ttml.state, JSON.stringify(ttml.error)).toBe('succeeded');
    if (ttml.pipeline?.kind !== 'ladder') throw new Error('not a ladder');
    expect(ttml.pipeline.subtitles).toEqual([{ language: 'eng' }]);
    expect(ttml.pipeline.subtitleNote).toBeUndefined();
    const track = await joinedObjects(
      fleet,
      ['out/film-ttml/dash/subtitles-init.mp4', 'out/film-ttml/dash/subtitles-1.m4s'],
      'film-ttml-subtitles.mp4',
    );
    expect((await probeWvtt(track)).samples.flatMap((s) => s.shows)).toContain('Hello <i>there</i>');
  });

  it('names a WebVTT rendition of each in the master playlist, by language and kind, none the default', async () => {
    const master = (await fleet.get(`${base}master.m3u8`)).toString('utf8');
    const media = master.split('\n').filter((line) => line.includes('TYPE=SUBTITLES'));
    expect(media).toEqual([
      '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="en",LANGUAGE="en",DEFAULT=NO,AUTOSELECT=YES,FORCED=NO,URI="hls/subtitles/index.m3u8"',
      '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="fr forced",LANGUAGE="fr",DEFAULT=NO,AUTOSELECT=YES,FORCED=YES,URI="hls/subtitles-1/index.m3u8"',
      '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="en SDH",LANGUAGE="en",DEFAULT=NO,AUTOSELECT=YES,FORCED=NO,CHARACTERISTICS="public.accessibility.transcribes-spoken-dialog,public.accessibility.describes-music-and-sound",URI="hls/subtitles-2/index.m3u8"',
    ]);
    const parsed = HLS.parse(master) as HLS.types.MasterPlaylist;
    const variants = parsed.variants.filter((v) => !v.isIFrameOnly);
    expect(variants.every((v) => v.subtitles.length === 3)).toBe(true);
  });

  it('shows each cue against the frame it showed with in the source, in every segment it spans', async () => {
    const sourceStart = (await packets(source(), 'v:0'))[0]!.pts;
    expect(sourceStart).toBeCloseTo(0.6, 2);
    const master = HLS.parse(
      (await fleet.get(`${base}master.m3u8`)).toString('utf8'),
    ) as HLS.types.MasterPlaylist;
    const video = master.variants.find((v) => !v.isIFrameOnly)!;
    const videoPlaylist = HLS.parse(
      (await fleet.get(`${base}${video.uri}`)).toString('utf8'),
    ) as HLS.types.MediaPlaylist;
    const rungStart = (
      await packets(await renditionFile(fleet, base, video.uri, 'film-subs-video.mp4'), 'v:0')
    )[0]!.pts;
    for (const [i, stream] of STREAMS.entries()) {
      const folder = `${base}hls/${i === 0 ? 'subtitles' : `subtitles-${i}`}/`;
      const playlist = HLS.parse(
        (await fleet.get(`${folder}index.m3u8`)).toString('utf8'),
      ) as HLS.types.MediaPlaylist;
      // Segments as long as the video's, so a player fetches them as it plays.
      expect(playlist.segments.map((s) => s.duration.toFixed(3))).toEqual(
        videoPlaylist.segments.map((s) => s.duration.toFixed(3)),
      );
      // Each cue's text: its times in every segment it is written into, and which segments those are.
      const shown = new Map<string, { times: string[]; segments: number[] }>();
      for (const [n, segment] of playlist.segments.entries()) {
        const body = (await fleet.get(`${folder}${segment.uri}`)).toString('utf8');
        expect(body.startsWith('WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000\n')).toBe(true);
        for (const block of body.split('\n\n').slice(1)) {
          const [timing, ...text] = block.trim().split('\n');
          if (!timing) continue;
          const key = text.join('\n');
          const cue = shown.get(key) ?? { times: [], segments: [] };
          cue.times.push(timing);
          cue.segments.push(n);
          shown.set(key, cue);
        }
      }
      expect([...shown.keys()]).toEqual(stream.cues.map(([, , text]) => text));
      for (const [from, to, text] of stream.cues) {
        const { times, segments } = shown.get(text)!;
        // The same times in every segment that holds it.
        expect(new Set(times).size, text).toBe(1);
        const [start, end] = times[0]!
          .split(' --> ')
          .map((t) => t.split(':').reduce((a, x) => a * 60 + Number(x), 0));
        // As far after the rendition's first frame as after the source's.
        expect(start! - rungStart).toBeCloseTo(from - sourceStart, 3);
        expect(end! - rungStart).toBeCloseTo(to - sourceStart, 3);
        const spans = playlist.segments.flatMap((_, n) =>
          start! < SEGMENT * (n + 1) && end! > SEGMENT * n ? [n] : [],
        );
        expect(segments).toEqual(spans);
      }
      // The English cue from 2.9 s to 4.4 s is in both segments it spans.
      if (i === 0) expect(shown.get(STREAMS[0].cues[1][2])!.segments).toEqual([1, 2]);
    }
  });

  it('gives DASH a text set of each, with its language and role, of WebVTT in MP4 holding its cues', async () => {
    const mpd = (await fleet.get(`${base}manifest.mpd`)).toString('utf8');
    const sets = [
      ...mpd.matchAll(/<AdaptationSet[^>]*contentType="text"[^>]*>[\s\S]*?<\/AdaptationSet>/g),
    ].map((m) => m[0]);
    expect(
      sets.map((set) => [
        /lang="(\w+)"/.exec(set)?.[1],
        /mimeType="([^"]+)"/.exec(set)?.[1],
        /codecs="([^"]+)"/.exec(set)?.[1],
        /<Role schemeIdUri="urn:mpeg:dash:role:2011" value="([\w-]+)"/.exec(set)?.[1],
        /initialization="([^"]+)"/.exec(set)?.[1],
        /media="([^"]+)"/.exec(set)?.[1],
      ]),
    ).toEqual(
      ['subtitles', 'subtitles-1', 'subtitles-2'].map((name, i) => [
        STREAMS[i]!.language,
        'application/mp4',
        'wvtt',
        ['subtitle', 'forced-subtitle', 'caption'][i],
        `dash/${name}-init.mp4`,
        `dash/${name}-$Number$.m4s`,
      ]),
    );
    // One segment, as long as the presentation.
    const duration = Number(/mediaPresentationDuration="PT(?:0H)?(?:0M)?([\d.]+)S"/.exec(mpd)?.[1]);
    expect(Number(/ duration="(\d+)"/.exec(sets[0]!)?.[1]) / 1000).toBeCloseTo(duration, 1);
    // The French cue, 2 s to 3 s in the source whose picture starts at 0.6 s: 1.4 s to 2.4 s
    // after the first frame of the DASH rungs.
    const first = await joinedObjects(
      fleet,
      [`${base}dash/init-0.m4s`, `${base}dash/seg-0-00001.m4s`],
      'film-subs-dash.mp4',
    );
    const rungStart = Math.min(...(await packets(first, 'v:0')).map((p) => p.pts));
    const french = await joinedObjects(
      fleet,
      [`${base}dash/subtitles-1-init.mp4`, `${base}dash/subtitles-1-1.m4s`],
      'film-subs-french.mp4',
    );
    const track = await probeWvtt(french);
    expect(track.stream.codec_tag_string).toBe('wvtt');
    expect(track.stream.tags?.language).toBe('fra');
    expect(Number(track.stream.duration)).toBeCloseTo(duration, 2);
    const sourceStart = (await packets(source(), 'v:0'))[0]!.pts;
    const [[from, to, text]] = STREAMS[1]!.cues;
    const at = (t: number) => Math.round((rungStart + t - sourceStart) * 1000) / 1000;
    expect(track.samples.map((s) => [s.at, s.shows])).toEqual([
      [0, []],
      [at(from), [text]],
      [at(to), []],
    ]);
  });

  // Each track chosen once the player lists them: a switch from the one it starts with.
  const PLAYERS = { hls: 'hls.js', dash: 'dash.js', shaka: 'Shaka Player' } as const;
  for (const player of ['hls', 'dash', 'shaka'] as const)
    it(`shows the cues in Chromium with ${PLAYERS[player]}, against the picture as in the source`, {
      timeout: 180_000,
    }, async () => {
      const play = [0, 1, 2];
      const seen = await playSubtitles(fleet, { prefix: base, player, tracks: STREAMS.length, play });
      expect(seen.tracks).toEqual(
        player === 'hls'
          ? ['en', 'fr forced', 'en SDH']
          : ['en subtitle', 'fr forced-subtitle', 'en caption'],
      );
      // A cue written into the two segments it spans is held once.
      expect(seen.repeated).toEqual([]);
      const sourceStart = (await packets(source(), 'v:0'))[0]!.pts;
      for (const [n, track] of play.entries()) {
        const { cues } = STREAMS[track]!;
        expect(
          seen.cues[n]!.map((c) => c.text),
          seen.tracks[track],
        ).toEqual(cues.map(([, , text]) => text));
        for (const [i, [from, to]] of cues.entries()) {
          const cue = seen.cues[n]![i]!;
          expect(
            Math.abs(cue.start - seen.videoStart - (from - sourceStart)),
            `${seen.tracks[track]} cue ${i}`,
          ).toBeLessThan(0.05);
          expect(
            Math.abs(cue.end - seen.videoStart - (to - sourceStart)),
            `${seen.tracks[track]} cue ${i}`,
          ).toBeLessThan(0.05);
        }
      }
    });
});
