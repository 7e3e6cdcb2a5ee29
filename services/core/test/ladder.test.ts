import { describe, expect, it } from 'vitest';
import { validateJob } from '../src/jobs/validate.ts';
import { mpdWithCodecs, mpdWithColour } from '../src/pipelines/dash-manifest.ts';
import { hlsLanguage, masterPlaylist } from '../src/pipelines/hls-playlists.ts';
import {
  type AudioTrackPlan,
  audioTracksOf,
  dashArgs,
  dashVideoSets,
  type LadderPlan,
  ladderAudioJobSpec,
  ladderChildId,
  ladderScratch,
  planLadderChunks,
  rungChunkJobSpec,
  rungEncoding,
  rungJobSpec,
} from '../src/pipelines/ladder-commands.ts';
import {
  decideRungs,
  hdrTwins,
  ladderFrameStep,
  type PlannedRung,
  rungFrameRate,
  rungFrames,
} from '../src/pipelines/ladder-rungs.ts';
import { DEFAULT_LADDER, ladderSettings, presetFor } from '../src/pipelines/ladder-spec.ts';
import type { AudioRole, VideoTrack } from '../src/pipelines/media-analysis.ts';
import { toneMapFilter } from '../src/pipelines/tone-map.ts';
import { PoolRegistry } from '../src/pools/registry.ts';

const policy = { allowedBuckets: ['media'] };
const pools = PoolRegistry.load();

function ladderJob(overrides: Record<string, unknown> = {}, ladder: Record<string, unknown> = {}) {
  return {
    name: 'film',
    compute: 'intel',
    inputs: [{ url: 's3://media/in/film.mov' }],
    outputs: [{ url: 's3://media/out/film/' }],
    ladder,
    ...overrides,
  };
}

/** A stored ladder plan with no rungs, in scratch `j1`: what a child's spec reads, overridden per test. */
function ladderPlan(overrides: Partial<LadderPlan> = {}): LadderPlan {
  return {
    rungs: { kept: [], dropped: [] },
    frameRate: 25,
    durationSeconds: 10,
    audio: false,
    scratch: 's3://media/ffleet-scratch/j1/',
    ...overrides,
  };
}

function reasons(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    return ((error as { details?: { reasons?: string[] } }).details?.reasons ?? [String(error)]) as string[];
  }
  return [];
}

describe('rung decision: never above the source', () => {
  it('a 720p source gets no 1080p rung, and each dropped rung says why', () => {
    const decision = decideRungs(DEFAULT_LADDER, { width: 1280, height: 720, rotation: 0 });
    expect(decision.kept.map((r) => r.name)).toEqual([
      '234p-145k',
      '360p-365k',
      '432p-730k',
      '432p-1100k',
      '540p-2000k',
      '720p-3000k',
      '720p-4500k',
    ]);
    expect(decision.dropped).toEqual([
      { height: 1080, bitrateKbps: 6000, reason: 'taller than the source (720p)' },
      { height: 1080, bitrateKbps: 7800, reason: 'taller than the source (720p)' },
    ]);
  });

  it("keeps the source's aspect ratio with even dimensions", () => {
    for (const [w, h] of [
      [1280, 720],
      [1920, 800],
      [1440, 1080],
      [720, 1280],
      [854, 480],
    ] as const) {
      for (const rung of decideRungs(DEFAULT_LADDER, { width: w, height: h, rotation: 0 }).kept) {
        expect(rung.width % 2, `${w}x${h} ${rung.name}`).toBe(0);
        expect(rung.height % 2).toBe(0);
        // Within the rounding to an even width.
        expect(Math.abs(rung.width / rung.height - w / h)).toBeLessThanOrEqual(2 / rung.height);
      }
    }
    expect(decideRungs(DEFAULT_LADDER, { width: 1280, height: 720, rotation: 0 }).kept[0]).toMatchObject({
      width: 416,
      height: 234,
    });
  });

  it('drops rungs above the source bitrate', () => {
    const decision = decideRungs(DEFAULT_LADDER, {
      width: 1920,
      height: 1080,
      rotation: 0,
      bitRate: 2_500_000,
    });
    expect(decision.kept.at(-1)!.name).toBe('540p-2000k');
    expect(decision.dropped.find((d) => d.height === 720)!.reason).toBe(
      "above the source's bitrate (2500 kb/s)",
    );
  });

  it('a source smaller than the lowest rung gets one rung at its own size', () => {
    const decision = decideRungs(DEFAULT_LADDER, { width: 321, height: 181, rotation: 0, bitRate: 90_000 });
    expect(decision.kept).toEqual([{ name: '180p-90k', width: 320, height: 180, bitrateKbps: 90 }]);
    expect(decision.dropped).toHaveLength(DEFAULT_LADDER.length);
    expect(decision.note).toMatch(/one rung at its own size/);
  });

  it('an anamorphic source gets square-pixel rungs the shape it is shown at', () => {
    // HDV: 1440x1080 stored, pixels 4:3 wide, shown 1920x1080.
    const hdv = decideRungs(DEFAULT_LADDER, {
      width: 1440,
      height: 1080,
      rotation: 0,
      sampleAspectRatio: 4 / 3,
    });
    const square = decideRungs(DEFAULT_LADDER, { width: 1920, height: 1080, rotation: 0 });
    expect(hdv).toEqual(square);
    // PAL 4:3 (720x576, pixels 16:15): 768x576 shown.
    const pal = decideRungs(DEFAULT_LADDER, {
      width: 720,
      height: 576,
      rotation: 0,
      sampleAspectRatio: 16 / 15,
    });
    expect(pal.kept.find((r) => r.height === 360)).toMatchObject({ width: 480, height: 360 });
  });

  it('a rotated source is laid out as it is shown (portrait)', () => {
    const decision = decideRungs(DEFAULT_LADDER, { width: 1920, height: 1080, rotation: 90 });
    expect(decision.kept.every((r) => r.height > r.width)).toBe(true);
    expect(decision.kept.some((r) => r.height === 1080)).toBe(true);
  });
});

describe('ladder jobs: validation', () => {
  it('accepts the defaults: H.264, HLS 6 s and DASH 2 s', () => {
    const { spec, plan } = validateJob(ladderJob(), pools, policy);
    expect(ladderSettings(spec.ladder!)).toMatchObject({
      codec: 'h264',
      hlsSegmentSeconds: 6,
      dashSegmentSeconds: 2,
      audioBitrateKbps: 128,
    });
    expect(plan.outputs[0]!.folder).toBe(true);
  });

  it('chunks rungs of sources over a minute by default; chunkSeconds sets the length, 0 turns it off', () => {
    const settings = (ladder: Record<string, unknown>) =>
      ladderSettings(validateJob(ladderJob({}, ladder), pools, policy).spec.ladder!).chunkSeconds;
    expect(settings({})).toBe(60);
    expect(settings({ chunkSeconds: 20 })).toBe(20);
    expect(settings({ chunkSeconds: 0 })).toBeUndefined();
  });

  it('accepts custom rungs and switches', () => {
    const job = ladderJob(
      {},
      { rungs: [{ height: 360, bitrateKbps: 800 }], dash: false, hls: { segmentSeconds: 4 } },
    );
    const settings = ladderSettings(validateJob(job, pools, policy).spec.ladder!);
    expect(settings).toMatchObject({ hlsSegmentSeconds: 4, dashSegmentSeconds: undefined });
  });

  it('keeps HDR rungs only in a codec with 10 bits: HEVC and AV1, not H.264', () => {
    const settings = (ladder: Record<string, unknown>) =>
      ladderSettings(validateJob(ladderJob({}, ladder), pools, policy).spec.ladder!).hdr;
    expect(settings({})).toBe('sdr');
    expect(settings({ codec: 'hevc', hdr: 'keep' })).toBe('keep');
    expect(settings({ codec: 'av1', hdr: 'keep' })).toBe('keep');
    expect(reasons(() => validateJob(ladderJob({}, { hdr: 'keep' }), pools, policy))).toEqual([
      'ladder.hdr "keep" needs codec hevc or av1: h264 rungs are 8-bit SDR',
    ]);
  });

  it('makes HDR and SDR rungs ("both") in HEVC or AV1 beside H.264, on a pool with both encoders', () => {
    const settings = (ladder: Record<string, unknown>) =>
      ladderSettings(validateJob(ladderJob({}, ladder), pools, policy).spec.ladder!).hdr;
    expect(settings({ codec: 'hevc', hdr: 'both' })).toBe('both');
    expect(settings({ codec: 'av1', hdr: 'both' })).toBe('both');
    expect(reasons(() => validateJob(ladderJob({}, { hdr: 'both' }), pools, policy))).toEqual([
      'ladder.hdr "both" needs codec hevc or av1: h264 rungs are 8-bit SDR',
    ]);
    const xilinx = pools.get('xilinx')!;
    expect(
      reasons(() =>
        validateJob(ladderJob({ compute: 'xilinx' }, { codec: 'hevc', hdr: 'both' }), pools, policy),
      ),
    ).toEqual([
      `codec hevc needs libx265, which pool xilinx does not have (it has ${xilinx.encoders.join(', ')})`,
      `ladder.hdr "both" (its SDR rungs are h264) needs libx264, which pool xilinx does not have (it has ${xilinx.encoders.join(', ')})`,
    ]);
  });

  it('refuses what a ladder cannot be, with every reason', () => {
    const found = reasons(() =>
      validateJob(
        ladderJob(
          {
            inputs: [{ url: 's3://media/a.mov' }, { url: 's3://media/b.mov' }],
            outputs: [{ url: 's3://media/out/film.mp4', options: '-c:v libx264' }],
            split: { segmentSeconds: 10 },
          },
          {
            rungs: [
              { height: 360, bitrateKbps: 800 },
              { height: 360, bitrateKbps: 800 },
            ],
            hls: false,
            dash: false,
          },
        ),
        pools,
        policy,
      ),
    );
    expect(found.join('\n')).toMatch(/split/);
    expect(found.join('\n')).toMatch(/exactly one input/);
    expect(found.join('\n')).toMatch(/must be a folder/);
    expect(found.join('\n')).toMatch(/no options/);
    expect(found.join('\n')).toMatch(/nothing would be published/);
    expect(found.join('\n')).toMatch(/repeats 360p/);
  });

  it('refuses switching autorotation off: rungs are sized as the source is shown, players ignore a display matrix', () => {
    const withInput = (options: string) =>
      reasons(() =>
        validateJob(ladderJob({ inputs: [{ url: 's3://media/in/film.mov', options }] }), pools, policy),
      );
    expect(withInput('-noautorotate')).toEqual([
      'inputs[0] -noautorotate: autorotation cannot be switched off with ladders, which always turn a rotated source upright',
    ]);
    expect(withInput('-autorotate 0')).toHaveLength(1);
    expect(withInput('-autorotate 1 -c:v h264')).toEqual([]);
  });

  it('refuses odd heights, segment lengths that are not a multiple of the GOP, unknown fields', () => {
    for (const ladder of [
      { rungs: [{ height: 361, bitrateKbps: 800 }] },
      { hls: { segmentSeconds: 5 } },
      { rungs: [{ height: 360, bitrateKbps: 800, width: 640 }] },
      { codec: 'vp9' },
      { preset: 'slow; rm -rf /' },
      { chunkSeconds: 5 },
      { chunkSeconds: -2 },
    ])
      expect(() => validateJob(ladderJob({}, ladder), pools, policy), JSON.stringify(ladder)).toThrow(
        /invalid/,
      );
  });

  it('refuses a codec whose encoder the pool lacks', () => {
    const nvidia = pools.pools.find((p) => !p.encoders.includes('libsvtav1'));
    expect(nvidia).toBeDefined();
    const found = reasons(() =>
      validateJob(ladderJob({ compute: nvidia!.family }, { codec: 'av1' }), pools, policy),
    );
    expect(found.join('\n')).toMatch(/needs libsvtav1/);
  });
});

/** A constant-rate track: `seconds` at `rate` fps, keyframes at the given frame numbers. */
function track(seconds: number, rate: number, keyframeFrames: (n: number) => boolean): VideoTrack {
  const frameTimes = Array.from({ length: Math.round(seconds * rate) }, (_, n) => n / rate);
  return {
    index: 0,
    codec: 'h264',
    width: 1920,
    height: 1080,
    rotation: 0,
    sampleAspectRatio: 1,
    interlaced: false,
    frameRate: rate,
    averageFrameRate: rate,
    variableFrameRate: false,
    startSeconds: 0,
    endSeconds: seconds,
    frameTimes,
    keyframes: frameTimes.filter((_, n) => keyframeFrames(n)),
    colour: {},
    hdrSideData: [],
  };
}

describe('ladder chunks: cut only on the 2 s keyframe grid', () => {
  it('cuts at the source keyframes on the grid nearest each multiple of the chunk length', () => {
    // Keyframes every 1.2 s: on the grid only every 6 s.
    const { chunks } = planLadderChunks(
      track(40, 25, (n) => n % 30 === 0),
      10,
      undefined,
    );
    expect(chunks!.map((c) => c.startSeconds)).toEqual([0, 12, 18, 30]);
    expect(chunks!.reduce((s, c) => s + c.frames, 0)).toBe(1000);
  });

  it('takes the first frame at or after a grid time at 29.97 fps', () => {
    const rate = 30000 / 1001;
    const { chunks } = planLadderChunks(
      track(30, rate, (n) => n % 15 === 0),
      10,
      undefined,
    );
    // 10 s falls between frames 299 and 300 (10.01 s), which is a keyframe and starts the chunk.
    expect(chunks![1]!.startSeconds).toBeCloseTo(300 / rate, 9);
    expect(chunks!.length).toBe(3);
  });

  it('encodes whole, and says why, a source with no keyframe on the grid', () => {
    const planned = planLadderChunks(
      track(40, 25, (n) => n === 0 || n % 50 === 25),
      10,
      undefined,
    );
    expect(planned.chunks).toBeUndefined();
    expect(planned.note).toMatch(/no keyframes on the 2 s grid/);
  });

  it('encodes whole a short source, and one whose input has options', () => {
    expect(
      planLadderChunks(
        track(14, 25, (n) => n % 50 === 0),
        10,
        undefined,
      ),
    ).toEqual({});
    expect(
      planLadderChunks(
        track(40, 25, (n) => n % 50 === 0),
        10,
        '-ss 5',
      ).note,
    ).toMatch(/options/);
  });

  it("forces a chunk's keyframes on the source's grid, turns a rotated source, keeps its frames as they are", () => {
    const video = track(40, 25, (n) => n % 50 === 0);
    const chunks = planLadderChunks(video, 10, undefined).chunks!;
    const settings = ladderSettings({});
    const plan = ladderPlan({ durationSeconds: 40, videoStartSeconds: 0, rotation: 90, chunks });
    const rung = { name: '720p-3000k', width: 720, height: 1280, bitrateKbps: 3000 };
    const spec = rungChunkJobSpec(ladderJob() as never, settings, plan, rung, chunks[1]!);
    expect(spec.inputs[0]!.url).toBe('s3://media/ffleet-scratch/j1/pieces/000001.nut');
    expect(spec.outputs[0]!.url).toBe('s3://media/ffleet-scratch/j1/rungs/720p-3000k/000001.mp4');
    const options = spec.outputs[0]!.options!;
    expect(options).toContain('-force_key_frames 0.000000,2.000000,4.000000,6.000000,8.000000');
    expect(options).toContain('-vf transpose=cclock,scale=720:1280');
    expect(options).toContain('-fps_mode passthrough');
    expect(spec.inputs[0]!.options).toBeUndefined();
    expect(spec.globalOptions).toBeUndefined();

    // With threads set, the rung's decoding and filtering get them too, not only its encoder.
    const single = rungChunkJobSpec(
      ladderJob() as never,
      ladderSettings({ threads: 1 }),
      plan,
      rung,
      chunks[1]!,
    );
    expect(single.inputs[0]!.options).toBe('-threads 1');
    expect(single.globalOptions).toBe('-filter_threads 1');
    expect(single.outputs[0]!.options).toContain('-threads 1');
  });
});

describe('ladders with HDR and SDR rungs (hdr "both")', () => {
  const pq = { transfer: 'pq', primaries: 'bt2020', matrix: 'bt2020nc', range: 'tv' } as const;
  const sdr: PlannedRung = { name: '720p-3000k', width: 1280, height: 720, bitrateKbps: 3000 };
  const hdr: PlannedRung = { ...sdr, name: '720p-3000k-hdr', hdr: true };

  it('twins every rung as HDR, with a name of its own', () => {
    expect(hdrTwins([sdr])).toEqual([hdr]);
    expect(ladderChildId.rung('j1', hdr)).toBe('j1-720p-3000k-hdr');
  });

  it('encodes the SDR rung tone-mapped in H.264 (x264 preset) and the HDR one 10-bit in the codec, both passing the job checks', () => {
    const settings = ladderSettings({ codec: 'av1', hdr: 'both', preset: '12' });
    const plan = ladderPlan({ hdr: pq, hdrKept: pq, rungs: { kept: [sdr, hdr], dropped: [] } });
    expect(rungEncoding(settings, plan, sdr)).toEqual({ codec: 'h264', toneMap: pq });
    expect(rungEncoding(settings, plan, hdr)).toEqual({ codec: 'av1', keep: pq });
    const [sdrSpec, hdrSpec] = [sdr, hdr].map((rung) =>
      rungJobSpec(ladderJob() as never, settings, plan, rung),
    );
    for (const spec of [sdrSpec!, hdrSpec!]) expect(() => validateJob(spec, pools, policy)).not.toThrow();
    const [sdrOptions, hdrOptions] = [sdrSpec!.outputs[0]!.options!, hdrSpec!.outputs[0]!.options!];
    expect(sdrOptions).toContain(`-vf ${`scale=1280:720,setsar=1,${toneMapFilter(pq)}`}`);
    expect(sdrOptions).toContain('-c:v libx264 -preset medium');
    expect(sdrOptions).toContain('-pix_fmt yuv420p');
    expect(hdrOptions).toContain('-vf scale=1280:720,setsar=1 ');
    expect(hdrOptions).toContain('-c:v libsvtav1 -preset 12');
    expect(hdrOptions).toContain('-pix_fmt yuv420p10le -color_primaries bt2020 -color_trc smpte2084');
    expect(hdrSpec!.outputs[0]!.url).toBe('s3://media/ffleet-scratch/j1/rungs/720p-3000k-hdr.mp4');
    // HEVC names its presets as x264 does: the SDR rungs take the ladder's.
    expect(presetFor(ladderSettings({ codec: 'hevc', preset: 'fast' }), 'h264')).toBe('fast');
  });

  it('keeps "keep" and "sdr" plans as they were: every rung HDR, or every rung tone-mapped in the codec', () => {
    const settings = ladderSettings({ codec: 'hevc' });
    expect(rungEncoding(settings, ladderPlan({ hdrKept: pq }), sdr)).toEqual({ codec: 'hevc', keep: pq });
    expect(rungEncoding(settings, ladderPlan({ hdr: pq }), sdr)).toEqual({ codec: 'hevc', toneMap: pq });
    expect(rungEncoding(settings, ladderPlan(), sdr)).toEqual({ codec: 'hevc' });
  });

  it('packages SDR and HDR rungs in two DASH video sets, the audio after them', () => {
    expect(dashVideoSets([false, false])).toEqual([[0, 1]]);
    expect(dashVideoSets([true, true])).toEqual([[0, 1]]);
    expect(dashVideoSets([false, false, true, true])).toEqual([
      [0, 1],
      [2, 3],
    ]);
    const argv = dashArgs(['a.mp4', 'b.mp4', 'c.mp4', 'd.mp4'], [{ file: 'e.m4a' }], 'm.mpd', 2, [
      false,
      false,
      true,
      true,
    ]);
    expect(argv[argv.indexOf('-adaptation_sets') + 1]).toBe(
      'id=0,streams=0,1 id=1,streams=2,3 id=2,streams=4',
    );
    // One audio set needs no role.
    expect(argv.join(' ')).not.toContain('role=');
  });

  it('gives each of several DASH audio sets its role: main, commentary or description', () => {
    const argv = dashArgs(
      ['a.mp4'],
      [
        { file: 'en.m4a' },
        { file: 'fr.m4a' },
        { file: 'c.m4a', role: 'commentary' },
        { file: 'd.m4a', role: 'description' },
      ],
      'm.mpd',
      2,
    );
    const roles = argv.flatMap((arg, i) =>
      arg.startsWith('-metadata:s:a:') ? [`${arg} ${argv[i + 1]}`] : [],
    );
    expect(roles).toEqual([
      '-metadata:s:a:0 role=main',
      '-metadata:s:a:1 role=main',
      '-metadata:s:a:2 role=commentary',
      '-metadata:s:a:3 role=description',
    ]);
  });
});

describe('ladder frame rates: never above 60 fps, 30 below 540p where the keyframe grid allows', () => {
  it('keeps every frame up to 60 fps, else one in the fewest that bring it to 60 or under', () => {
    const steps = [24, 25, 29.97, 50, 59.94, 60, 60.05, 100, 119.88, 120, 144, 240].map(ladderFrameStep);
    expect(steps).toEqual([1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 3, 4]);
    expect(rungFrameRate(120, { frameStep: 2 })).toBe(60);
    expect(rungFrameRate(59.94, {})).toBe(59.94);
    // The first frame, then every n-th: a chunk of 241 frames keeps 121.
    expect(rungFrames({ frameStep: 2 }, 241)).toBe(121);
    expect(rungFrames({}, 241)).toBe(241);
  });

  it('gives each rung its rate: 60 at most, 30 at most below 540p when every 2 s keyframe stays on a kept frame', () => {
    const rates = (frameRate: number, variableFrameRate = false) =>
      decideRungs(DEFAULT_LADDER, {
        width: 1920,
        height: 1080,
        rotation: 0,
        frameRate,
        variableFrameRate,
      }).kept.map((r) => `${r.height}:${rungFrameRate(frameRate, r)}`);
    // Apple's ladder: 234p … 432p at 30 or less, 540p up at the source's rate (60 at most).
    expect(rates(60)).toEqual([
      ...['234:30', '360:30', '432:30', '432:30'],
      ...['540:60', '720:60', '720:60', '1080:60', '1080:60'],
    ]);
    expect(new Set(rates(50))).toEqual(
      new Set(['234:25', '360:25', '432:25', '540:50', '720:50', '1080:50']),
    );
    expect(new Set(rates(120))).toEqual(
      new Set(['234:30', '360:30', '432:30', '540:60', '720:60', '1080:60']),
    );
    expect(new Set(rates(25))).toEqual(
      new Set(['234:25', '360:25', '432:25', '540:25', '720:25', '1080:25']),
    );
    // 59.94 fps has no whole number of frames in 2 s: halving would move some keyframes off the grid.
    expect(new Set(rates(60000 / 1001).map((r) => r.replace(/\.\d+$/, '')))).toEqual(
      new Set(['234:59', '360:59', '432:59', '540:59', '720:59', '1080:59']),
    );
    // A variable rate is capped at 60 only.
    expect(new Set(rates(60, true))).toEqual(
      new Set(['234:60', '360:60', '432:60', '540:60', '720:60', '1080:60']),
    );
  });

  it("writes a chunk's encode that keeps one frame in two and sets its GOP at the rung's rate, and passes the job checks", () => {
    const video = track(12, 120, (n) => n % 240 === 0);
    const chunks = planLadderChunks(video, 4, undefined).chunks!;
    const plan = ladderPlan({ frameRate: 120, durationSeconds: 12, videoStartSeconds: 0, chunks });
    const rung = { name: '720p-3000k', width: 1280, height: 720, bitrateKbps: 3000, frameStep: 2 };
    const spec = rungChunkJobSpec(ladderJob() as never, ladderSettings({}), plan, rung, chunks[1]!);
    expect(() => validateJob(spec, pools, policy)).not.toThrow();
    const options = spec.outputs[0]!.options!;
    expect(options).toContain('-vf framestep=2,scale=1280:720,setsar=1');
    expect(options).toContain('-g 120 -keyint_min 120');
  });
});

describe('ladder audio: every stream, starting where the video does', () => {
  const plan = (audioTracks?: AudioTrackPlan[]) =>
    ladderPlan({ audio: true, ...(audioTracks ? { audioTracks } : {}) });
  const audioJob = (offsetSeconds?: number) =>
    ladderAudioJobSpec(ladderJob() as never, ladderSettings({}), plan([{ offsetSeconds }]));

  it('pads audio that starts late with silence, cuts audio that starts early, and passes the job checks', () => {
    expect(audioJob(0.6).outputs[0]!.options).toContain('-af adelay=delays=600:all=1');
    expect(audioJob(-0.541333).outputs[0]!.options).toContain(
      '-af asetpts=PTS-STARTPTS,atrim=start=0.541333,asetpts=PTS-STARTPTS',
    );
    expect(audioJob().outputs[0]!.options).not.toContain('-af');
    for (const offset of [0.6, -0.541333, undefined])
      expect(() => validateJob(audioJob(offset), pools, policy)).not.toThrow();
  });

  it('encodes each audio stream to its own file, tagged with its language; a plan from before the list has one', () => {
    const two = plan([{ language: 'eng' }, { language: 'fra', offsetSeconds: 0.2 }]);
    const second = ladderAudioJobSpec(ladderJob() as never, ladderSettings({}), two, 1);
    expect(() => validateJob(second, pools, policy)).not.toThrow();
    expect(second.outputs[0]!.url).toBe('s3://media/ffleet-scratch/j1/audio-1.m4a');
    expect(second.outputs[0]!.options).toMatch(
      /^-map 0:a:1 .*-af adelay=delays=200:all=1 .*-metadata:s:a:0 language=fra/,
    );
    expect(ladderScratch.all(two).filter((url) => url.includes('audio'))).toEqual([
      's3://media/ffleet-scratch/j1/audio.m4a',
      's3://media/ffleet-scratch/j1/audio-1.m4a',
    ]);
    expect(ladderChildId.audio('j1', 1)).toBe('j1-a1');
    expect(audioTracksOf(plan())).toEqual([{}]);
    expect(audioTracksOf({ ...plan(), audio: false })).toEqual([]);
  });

  it('joins the streams a rendition names, in order, into one programme, aligned like a single stream', () => {
    const programme = plan([{ streams: [2, 3], language: 'eng', offsetSeconds: 0.2 }, { streams: [0] }]);
    const joined = ladderAudioJobSpec(ladderJob() as never, ladderSettings({}), programme, 0);
    expect(() => validateJob(joined, pools, policy)).not.toThrow();
    expect(joined.outputs[0]!.options).toMatch(
      /^-filter_complex '\[0:a:2\]\[0:a:3\]amerge=inputs=2,adelay=delays=200:all=1\[programme\]' -map '\[programme\]' .*-ac 2 -metadata:s:a:0 language=eng$/,
    );
    // One stream named: that stream, whatever the rendition's own number.
    const single = ladderAudioJobSpec(ladderJob() as never, ladderSettings({}), programme, 1);
    expect(single.outputs[0]!.options).toMatch(/^-map 0:a:0 /);
    expect(single.outputs[0]!.url).toBe('s3://media/ffleet-scratch/j1/audio-1.m4a');
  });

  it('checks ladder.audio: streams by number, each once, a language of three letters, a role it knows', () => {
    const accepted = (audio: unknown) => {
      try {
        validateJob(ladderJob({}, { audio }), pools, policy);
        return true;
      } catch {
        return false;
      }
    };
    expect(accepted([{ streams: [0, 1] }, { streams: [2], language: 'fra', role: 'description' }])).toBe(
      true,
    );
    expect(accepted([{ streams: [0, 0] }])).toBe(false);
    expect(accepted([{ streams: [] }])).toBe(false);
    expect(accepted([{ streams: [-1] }])).toBe(false);
    expect(accepted([{ streams: [0], language: 'English' }])).toBe(false);
    expect(accepted([{ streams: [0], role: 'dub' }])).toBe(false);
    expect(accepted([])).toBe(false);
    expect(accepted(Array.from({ length: 9 }, (_, i) => ({ streams: [i] })))).toBe(false);
  });

  it('lists every audio rendition in the master playlist, in HLS language tags, the first the default', () => {
    const variant = {
      uri: 'hls/360p-730k/index.m3u8',
      iFramesUri: 'hls/360p-730k/iframes.m3u8',
      width: 640,
      height: 360,
      frameRate: 25,
      videoCodec: 'avc1.64001e',
      video: { peak: 800_000, average: 700_000 },
      iFramesPeak: 90_000,
    };
    const audio = (uri: string, peak: number, language?: string, role?: AudioRole) => ({
      uri,
      codec: 'mp4a.40.2',
      bandwidth: { peak, average: peak - 1000 },
      ...(language ? { language } : {}),
      ...(role ? { role } : {}),
    });
    const master = masterPlaylist(
      [variant],
      [audio('hls/audio/index.m3u8', 130_000, 'eng'), audio('hls/audio-1/index.m3u8', 140_000, 'tlh')],
    );
    expect(master).toContain(
      '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="en",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="hls/audio/index.m3u8"',
    );
    expect(master).toContain('NAME="tlh",LANGUAGE="tlh",DEFAULT=NO');
    // Two streams of one language (a commentary): NAME differs within the group, as HLS requires.
    const twice = masterPlaylist(
      [variant],
      [audio('hls/audio/index.m3u8', 1, 'eng'), audio('hls/audio-1/index.m3u8', 1, 'eng')],
    );
    expect([...twice.matchAll(/NAME="([^"]+)"/g)].map((m) => m[1])).toEqual(['en', 'en 2']);
    // A commentary is picked only when asked for; an audio description when the user asked for
    // described video. Neither is the default, even when listed first.
    const roles = masterPlaylist(
      [variant],
      [
        audio('hls/audio/index.m3u8', 1, 'eng', 'description'),
        audio('hls/audio-1/index.m3u8', 1, 'eng'),
        audio('hls/audio-2/index.m3u8', 1, 'eng', 'commentary'),
        audio('hls/audio-3/index.m3u8', 1, 'eng', 'commentary'),
      ],
    );
    expect(roles.split('\n').filter((line) => line.startsWith('#EXT-X-MEDIA'))).toEqual([
      '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="en audio description",LANGUAGE="en",DEFAULT=NO,AUTOSELECT=YES,CHARACTERISTICS="public.accessibility.describes-video",CHANNELS="2",URI="hls/audio/index.m3u8"',
      '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="en",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="hls/audio-1/index.m3u8"',
      '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="en commentary",LANGUAGE="en",DEFAULT=NO,AUTOSELECT=NO,CHANNELS="2",URI="hls/audio-2/index.m3u8"',
      '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="en commentary 2",LANGUAGE="en",DEFAULT=NO,AUTOSELECT=NO,CHANNELS="2",URI="hls/audio-3/index.m3u8"',
    ]);
    // The costliest audio with every rung.
    expect(master).toContain('BANDWIDTH=940000,AVERAGE-BANDWIDTH=839000');
    expect(hlsLanguage('fre')).toBe('fr');
    // SDR says nothing of its range; HDR rungs say theirs, on both kinds of variant.
    expect(master).not.toContain('VIDEO-RANGE');
    const hdr = masterPlaylist([{ ...variant, videoRange: 'PQ' }]);
    expect(hdr.split('\n').filter((line) => line.includes('VIDEO-RANGE=PQ'))).toHaveLength(2);
  });
});

describe('MPD codec strings', () => {
  it("sets each listed Representation's codecs and leaves the others", () => {
    const mpd =
      '<AdaptationSet><Representation id="0" mimeType="video/mp4" codecs="hvc1" width="640">' +
      '<Representation id="1" codecs="hvc1"/><Representation id="2" codecs="mp4a.40.2"/></AdaptationSet>';
    const fixed = mpdWithCodecs(
      mpd,
      new Map([
        ['0', 'hvc1.1.6.L93.B0'],
        ['1', 'hvc1.1.6.L120.B0'],
      ]),
    );
    expect(fixed).toBe(
      '<AdaptationSet><Representation id="0" mimeType="video/mp4" codecs="hvc1.1.6.L93.B0" width="640">' +
        '<Representation id="1" codecs="hvc1.1.6.L120.B0"/><Representation id="2" codecs="mp4a.40.2"/></AdaptationSet>',
    );
    expect(mpdWithCodecs(mpd, new Map([['0', 'x"/><evil']]))).toBe(mpd);
  });
});

describe('MPD colour of HDR rungs', () => {
  // As ffmpeg's dash muxer writes an MPD: tab-indented, the video set first.
  const mpd = [
    '\t<Period id="0" start="PT0.0S">',
    '\t\t<AdaptationSet id="0" contentType="video" startWithSAP="1" maxWidth="640" maxHeight="360">',
    '\t\t\t<Representation id="0" mimeType="video/mp4" codecs="hvc1.2.4.L90.B0"/>',
    '\t\t</AdaptationSet>',
    '\t\t<AdaptationSet id="1" contentType="audio" startWithSAP="1">',
    '\t\t</AdaptationSet>',
  ].join('\n');

  it("declares the video set's primaries, transfer and matrix as CICP code points, and only there", () => {
    const hlg = mpdWithColour(mpd, { transfer: 'hlg', primaries: 'bt2020', matrix: 'bt2020nc', range: 'tv' });
    expect(hlg.split('\n').slice(1, 5)).toEqual([
      '\t\t<AdaptationSet id="0" contentType="video" startWithSAP="1" maxWidth="640" maxHeight="360">',
      '\t\t\t<SupplementalProperty schemeIdUri="urn:mpeg:mpegB:cicp:ColourPrimaries" value="9"/>',
      '\t\t\t<SupplementalProperty schemeIdUri="urn:mpeg:mpegB:cicp:TransferCharacteristics" value="18"/>',
      '\t\t\t<SupplementalProperty schemeIdUri="urn:mpeg:mpegB:cicp:MatrixCoefficients" value="9"/>',
    ]);
    expect(hlg.match(/SupplementalProperty/g)).toHaveLength(3);
    const pq = mpdWithColour(mpd, { transfer: 'pq', primaries: 'smpte432', matrix: 'bt2020nc', range: 'tv' });
    expect(pq).toContain('cicp:TransferCharacteristics" value="16"');
    expect(pq).toContain('cicp:ColourPrimaries" value="12"');
  });

  it('declares it on the HDR set only when an SDR set comes first', () => {
    const two = mpd.replace(
      '\t\t<AdaptationSet id="1" contentType="audio"',
      '\t\t<AdaptationSet id="1" contentType="video" startWithSAP="1">\n\t\t</AdaptationSet>\n\t\t<AdaptationSet id="2" contentType="audio"',
    );
    const pq = mpdWithColour(
      two,
      { transfer: 'pq', primaries: 'bt2020', matrix: 'bt2020nc', range: 'tv' },
      1,
    );
    const lines = pq.split('\n');
    const hdrSet = lines.indexOf('\t\t<AdaptationSet id="1" contentType="video" startWithSAP="1">');
    expect(lines[hdrSet + 2]).toBe(
      '\t\t\t<SupplementalProperty schemeIdUri="urn:mpeg:mpegB:cicp:TransferCharacteristics" value="16"/>',
    );
    expect(pq.match(/SupplementalProperty/g)).toHaveLength(3);
    expect(lines[2]).toBe('\t\t\t<Representation id="0" mimeType="video/mp4" codecs="hvc1.2.4.L90.B0"/>');
  });
});
