import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  firstFrameHdr10,
  type Hdr10Metadata,
  hdr10MetadataOf,
  PROBE_FIRST_FRAME_ARGS,
  peakNitsOf,
  svtAv1Hdr10Params,
  x265Hdr10Params,
} from '../src/pipelines/hdr10.ts';

const run = promisify(execFile);

/** As ffprobe lists them (P3 primaries, D65 white, 0.005–4000 cd/m²; MaxCLL 1500, MaxFALL 400). */
const DISPLAY = {
  side_data_type: 'Mastering display metadata',
  red_x: '34000/50000',
  red_y: '16000/50000',
  green_x: '13250/50000',
  green_y: '34500/50000',
  blue_x: '7500/50000',
  blue_y: '3000/50000',
  white_point_x: '15635/50000',
  white_point_y: '16450/50000',
  min_luminance: '50/10000',
  max_luminance: '40000000/10000',
};
const LIGHT = { side_data_type: 'Content light level metadata', max_content: 1500, max_average: 400 };
const P3_D65_4000: Hdr10Metadata['masteringDisplay'] = {
  red: [0.68, 0.32],
  green: [0.265, 0.69],
  blue: [0.15, 0.06],
  whitePoint: [0.3127, 0.329],
  maxLuminance: 4000,
  minLuminance: 0.005,
};

describe('hdr10MetadataOf', () => {
  it('reads the mastering display and the content light level', () => {
    expect(hdr10MetadataOf([DISPLAY, LIGHT])).toEqual({
      maxCll: 1500,
      maxFall: 400,
      masteringDisplay: P3_D65_4000,
    });
  });

  it('leaves out what no display has: MaxCLL 0 or 65 535, chromaticities past 1, a peak of 0', () => {
    expect(hdr10MetadataOf([{ ...LIGHT, max_content: 0 }])).toBeUndefined();
    expect(hdr10MetadataOf([{ ...LIGHT, max_content: 65_535 }])).toBeUndefined();
    expect(hdr10MetadataOf([{ ...DISPLAY, red_x: '70000/50000' }])).toBeUndefined();
    expect(hdr10MetadataOf([{ ...DISPLAY, max_luminance: '0/10000' }])).toBeUndefined();
    expect(hdr10MetadataOf([{ ...DISPLAY, max_luminance: 'garbage' }])).toBeUndefined();
    expect(hdr10MetadataOf([{ side_data_type: 'Display Matrix' }])).toBeUndefined();
    expect(hdr10MetadataOf(undefined)).toBeUndefined();
    // One part is enough: a good mastering display beside a MaxCLL of 0.
    expect(hdr10MetadataOf([DISPLAY, { ...LIGHT, max_content: 0 }])).toEqual({
      masteringDisplay: P3_D65_4000,
    });
  });
});

describe('peakNitsOf', () => {
  it("takes the content's own peak (MaxCLL), else the mastering display's", () => {
    expect(peakNitsOf({ maxCll: 1500, masteringDisplay: P3_D65_4000 })).toBe(1500);
    expect(peakNitsOf({ masteringDisplay: P3_D65_4000 })).toBe(4000);
    expect(peakNitsOf(undefined)).toBeUndefined();
  });
});

describe('HDR10 metadata through the real encoders and back', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ffleet-hdr10-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A few PQ frames coded with `encoderArgs`, and what ffprobe reads from the first one. */
  async function roundTrip(name: string, encoderArgs: string[]): Promise<Hdr10Metadata | undefined> {
    const file = join(dir, `${name}.mp4`);
    await run('ffmpeg', [
      ...['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=128x72:rate=25:duration=0.2'],
      ...['-vf', 'format=yuv420p10le', ...encoderArgs, '-color_trc', 'smpte2084', file],
    ]);
    const { stdout } = await run('ffprobe', [...PROBE_FIRST_FRAME_ARGS, file], { timeout: 20_000 });
    return firstFrameHdr10(stdout);
  }
  const x265 = (params: string[]) => [
    ...['-c:v', 'libx265', '-preset', 'ultrafast'],
    ...['-x265-params', ['log-level=error', ...params].join(':')],
  ];
  const svt = (params: string[]) => [
    ...['-c:v', 'libsvtav1', '-preset', '12'],
    ...(params.length > 0 ? ['-svtav1-params', params.join(':')] : []),
  ];

  it.each([
    ['x265', x265, x265Hdr10Params],
    ['SVT-AV1', svt, svtAv1Hdr10Params],
  ] as const)('%s writes what it is given, and the first frame gives it back', async (name, args, params) => {
    const metadata: Hdr10Metadata = { maxCll: 1500, maxFall: 400, masteringDisplay: P3_D65_4000 };
    const read = await roundTrip(`${name}-full`, args(params(metadata)));
    expect(read?.maxCll).toBe(1500);
    expect(read?.maxFall).toBe(400);
    const display = read!.masteringDisplay!;
    // AV1 stores chromaticities in 1/65536 steps, HEVC in 1/50000; light to 1/256 and 1/10000 cd/m².
    for (const colour of ['red', 'green', 'blue', 'whitePoint'] as const)
      for (const axis of [0, 1] as const)
        expect(display[colour][axis]).toBeCloseTo(P3_D65_4000![colour][axis], 4);
    expect(display.maxLuminance).toBeCloseTo(4000, 1);
    expect(display.minLuminance).toBeCloseTo(0.005, 3);
    expect(await roundTrip(`${name}-light`, args(params({ maxCll: 203 })))).toEqual({
      maxCll: 203,
      maxFall: 0,
    });
    expect(await roundTrip(`${name}-none`, args(params(undefined)))).toBeUndefined();
  });
});
