import { describe, expect, it } from 'vitest';
import { FfleetError } from '../src/errors.ts';
import { validateJob } from '../src/jobs/validate.ts';
import {
  CRF_RANGES,
  checkTargetQuality,
  chooseCrf,
  MAX_PROBES,
  nextProbeCrf,
  type Probe,
  type TargetPlan,
} from '../src/pipelines/target-quality.ts';
import { PoolRegistry } from '../src/pools/registry.ts';

const policy = { allowedBuckets: ['media'] };
const pools = PoolRegistry.load();

/**
 * SSIM and size of x264 (-preset veryfast -threads 1) against CRF, measured on
 * `testsrc2=s=320x180:r=25:d=2` (yuv420p, stored as FFV1) with ffmpeg's ssim filter ("All").
 */
const MEASURED: ReadonlyArray<[crf: number, ssim: number, bytes: number]> = [
  [0, 1.0, 265694],
  [3, 0.999745, 185773],
  [6, 0.999511, 160861],
  [9, 0.999174, 137886],
  [12, 0.998602, 116794],
  [15, 0.997623, 97585],
  [18, 0.995854, 79519],
  [21, 0.992989, 64955],
  [24, 0.988286, 52084],
  [27, 0.980861, 40181],
  [30, 0.971217, 32691],
  [33, 0.957816, 28862],
  [36, 0.940666, 27016],
  [39, 0.921079, 25987],
  [42, 0.899153, 24045],
  [45, 0.877022, 17460],
  [48, 0.848594, 13033],
  [51, 0.823166, 10752],
];

/** The measured curve between its points (linear), as a probe would find it. */
function encodeAt(crf: number): Probe {
  const i = Math.min(MEASURED.length - 2, Math.floor(crf / 3));
  const [c0, s0, b0] = MEASURED[i]!;
  const [c1, s1, b1] = MEASURED[i + 1]!;
  const t = (crf - c0) / (c1 - c0);
  return { crf, score: s0 + t * (s1 - s0), bytes: Math.round(b0 + t * (b1 - b0)) };
}

/**
 * SSIM of x264 (-preset veryfast -threads 1) at CRF 15, 15.5, … 45, measured with ffmpeg's ssim
 * filter ("All") on one 2 s chunk (frames 50 to 99) of the end-to-end tests' sample clip
 * (testsrc2 at 160x90): sampled finely enough to show the curve's bend between probes.
 */
const CHUNK_SSIM: readonly number[] = [
  0.991591, 0.990972, 0.990464, 0.989609, 0.989077, 0.98833, 0.987583, 0.986691, 0.985774, 0.984989, 0.984132,
  0.982788, 0.981699, 0.980285, 0.979185, 0.977305, 0.976142, 0.974541, 0.972516, 0.970911, 0.968277,
  0.965786, 0.963694, 0.961603, 0.958975, 0.955285, 0.952337, 0.949603, 0.946485, 0.942306, 0.94015, 0.935278,
  0.93232, 0.926559, 0.923466, 0.919714, 0.916486, 0.911466, 0.906213, 0.900542, 0.896436, 0.890648, 0.882782,
  0.876099, 0.870696, 0.864029, 0.859193, 0.850462, 0.842508, 0.831797, 0.827107, 0.819959, 0.810746,
  0.804756, 0.799044, 0.794044, 0.783422, 0.77829, 0.763975, 0.755292, 0.74885,
];

/** The chunk's curve between its samples (linear), its end segments extended beyond them. */
function chunkAt(crf: number): Probe {
  const i = Math.min(CHUNK_SSIM.length - 2, Math.max(0, Math.floor((crf - 15) * 2)));
  const t = (crf - (15 + i / 2)) * 2;
  const score = CHUNK_SSIM[i]! + t * (CHUNK_SSIM[i + 1]! - CHUNK_SSIM[i]!);
  return { crf, score: Math.min(1, score), bytes: 1000 };
}

function x264Target(min: number, max: number, fallbackCrf = 23): TargetPlan {
  return { metric: 'ssim', min, max, encoder: 'libx264', range: CRF_RANGES.libx264!, fallbackCrf };
}

function search(target: TargetPlan, encode: (crf: number) => Probe = encodeAt): Probe[] {
  const probes: Probe[] = [];
  for (let crf = nextProbeCrf(target, probes); crf !== undefined; crf = nextProbeCrf(target, probes))
    probes.push(encode(crf));
  return probes;
}

/** The highest CRF (on x264's 0.25 steps) whose score on the curve meets `min`. */
function bestCrf(min: number): number {
  let best = 0;
  for (let crf = 0; crf <= 51; crf += 0.25) if (encodeAt(crf).score >= min) best = crf;
  return best;
}

describe('CRF search on a measured curve', () => {
  it.each([
    [0.999, 0.9995],
    [0.99, 0.993],
    [0.98, 0.985],
    [0.95, 0.96],
    [0.9, 0.91],
    // Lower targets are checked on the finely sampled chunk below: between this curve's points,
    // 3 CRF apart, the straight lines drawn here make its low end a worse guide than the real bend.
  ])('SSIM %s–%s: at most 4 probes, lands in the window, near the best CRF', (min, max) => {
    const target = x264Target(min, max);
    const probes = search(target);
    expect(probes.length).toBeLessThanOrEqual(MAX_PROBES);
    expect(probes[0]!.crf).toBe(23); // the default first: the size saved against it is measured
    const choice = chooseCrf(target, probes);
    expect(choice.met).toBe(true);
    if (!choice.met) return;
    expect(choice.probe.score).toBeGreaterThanOrEqual(min);
    expect(choice.probe.score).toBeLessThanOrEqual(max);
    // Never above the best CRF (that would miss min), and close below it.
    expect(choice.crf).toBeLessThanOrEqual(bestCrf(min));
    expect(bestCrf(min) - choice.crf).toBeLessThan(3);
  });

  it('SSIM targets from 0.85 to 0.985 on a finely measured chunk: at most 4 probes, 9 in 10 land in the window', () => {
    let landed = 0;
    let searches = 0;
    for (let step = 0; step <= 27; step++)
      for (const width of [0.005, 0.01]) {
        const min = 0.85 + step * 0.005;
        const target = x264Target(min, min + width);
        const probes = search(target, chunkAt);
        expect(probes.length).toBeLessThanOrEqual(MAX_PROBES);
        const choice = chooseCrf(target, probes);
        expect(choice.met).toBe(true);
        searches++;
        if (choice.met && choice.probe.score <= target.max) landed++;
      }
    expect(searches).toBe(56);
    expect(landed / searches).toBeGreaterThanOrEqual(0.9);
  });

  it('bisects first, then interpolates between the probes that bracket the target', () => {
    const target = x264Target(0.95, 0.96);
    const probes = search(target);
    // 23 meets min, so the second probe halves 23–51; the third lies between the bracketing two.
    expect(probes[1]!.crf).toBe(37);
    expect(probes[2]!.crf).toBeGreaterThan(23);
    expect(probes[2]!.crf).toBeLessThan(37);
  });

  it('an impossible target spends its probes, then falls back to the stated CRF and says why', () => {
    const target = { ...x264Target(0.99, 1), metric: 'psnr' as const, min: 99, max: 100, fallbackCrf: 20 };
    // PSNR of the same encodes stays far below 99 dB at every lossy CRF.
    const probes = search(target, (crf) => ({ crf, score: 60 - crf, bytes: 1000 }));
    expect(probes.length).toBeLessThanOrEqual(MAX_PROBES);
    const choice = chooseCrf(target, probes);
    expect(choice).toMatchObject({ met: false, crf: 20 });
    if (choice.met) return;
    expect(choice.reason).toMatch(/no probe reached psnr 99.*fallback CRF 20/);
  });

  it('a target every CRF meets ends at the top of the range', () => {
    const target = x264Target(0.5, 0.6);
    const probes = search(target);
    expect(probes.length).toBeLessThanOrEqual(MAX_PROBES);
    expect(chooseCrf(target, probes)).toMatchObject({ met: true });
    expect(Math.max(...probes.map((p) => p.crf))).toBeGreaterThanOrEqual(50);
  });
});

function targetJob(
  options: string,
  targetQuality: Record<string, unknown>,
  overrides: Record<string, unknown> = {},
) {
  return {
    name: 'film',
    compute: 'intel',
    inputs: [{ url: 's3://media/in/film.mov' }],
    outputs: [{ url: 's3://media/out/film.mp4', options }],
    targetQuality,
    ...overrides,
  };
}

function refusal(body: unknown): FfleetError {
  try {
    validateJob(body, pools, policy);
  } catch (error) {
    if (error instanceof FfleetError) return error;
    throw error;
  }
  throw new Error('the job was accepted');
}

describe('a job with a quality target', () => {
  it('is accepted with its encoder, and its window defaults to min plus the metric’s tolerance', () => {
    const { spec, plan } = validateJob(
      targetJob('-c:v libx264 -preset fast -c:a aac', { metric: 'ssim', min: 0.97 }),
      pools,
      policy,
    );
    const target = checkTargetQuality(spec.targetQuality!, plan);
    expect(target).toMatchObject({ encoder: 'libx264', min: 0.97, fallbackCrf: 23 });
    expect(target.max).toBeCloseTo(0.975, 9);
    expect(
      checkTargetQuality(
        { metric: 'vmaf', min: 93 },
        validateJob(targetJob('-c:v libsvtav1', { metric: 'vmaf', min: 93 }), pools, policy).plan,
      ),
    ).toMatchObject({ encoder: 'libsvtav1', max: 95, fallbackCrf: 35 });
  });

  it.each([
    ['-c:v libx264 -crf 20', { metric: 'ssim', min: 0.97 }, /-crf fixes the rate/],
    ['-c:v libx264 -b:v 2M', { metric: 'ssim', min: 0.97 }, /-b:v fixes the rate/],
    ['-c:v libx265 -x265-params crf=20', { metric: 'ssim', min: 0.97 }, /-x265-params fixes the rate/],
    ['-c:v libx264 -t 10', { metric: 'ssim', min: 0.97 }, /-t encodes only part/],
    ['-c:a aac', { metric: 'ssim', min: 0.97 }, /must name its video encoder with -c:v/],
    ['-c:v libaom-av1', { metric: 'ssim', min: 0.97 }, /\(not libaom-av1\)/],
    ['-c:v libx264', { metric: 'ssim', min: 1.2 }, /min 1.2 is outside ssim's scale/],
    ['-c:v libx264', { metric: 'psnr', min: 40, max: 38 }, /max 38 must lie between min/],
    [
      '-c:v libvpx-vp9',
      { metric: 'ssim', min: 0.9, fallbackCrf: 0.5 },
      /fallbackCrf 0.5 is not a CRF of libvpx-vp9/,
    ],
  ])('%s with %j is refused with a clear 400', (options, target, message) => {
    const error = refusal(targetJob(options, target));
    expect(error.status).toBe(400);
    expect(error.code).toBe('invalid_target');
    expect(error.message).toMatch(message);
  });

  it('takes audio rate options beside it: only the rate of the video is the target’s', () => {
    const { spec, plan } = validateJob(
      targetJob('-c:v libx264 -c:a libmp3lame -q:a 2 -b:a 128k', { metric: 'psnr', min: 40 }),
      pools,
      policy,
    );
    expect(checkTargetQuality(spec.targetQuality!, plan).encoder).toBe('libx264');
    expect(refusal(targetJob('-c:v libx264 -q:v 20', { metric: 'psnr', min: 40 })).message).toMatch(
      /-q:v fixes the rate/,
    );
  });

  it('is refused with a ladder, previews, two outputs or a folder output', () => {
    expect(refusal(targetJob('-c:v libx264', { metric: 'ssim', min: 0.9 }, { ladder: {} })).message).toMatch(
      /targetQuality and ladder/,
    );
    expect(
      refusal(targetJob('-c:v libx264', { metric: 'ssim', min: 0.9 }, { previews: {} })).message,
    ).toMatch(/targetQuality and previews/);
    const two = targetJob('-c:v libx264', { metric: 'ssim', min: 0.9 });
    two.outputs.push({ url: 's3://media/out/b.mp4', options: '-c:v libx264' });
    expect(refusal(two).message).toMatch(/one input and one output/);
    expect(
      refusal(
        targetJob(
          '-c:v libx264 -f hls',
          { metric: 'ssim', min: 0.9 },
          {
            outputs: [{ url: 's3://media/out/hls/', options: '-c:v libx264 -f hls' }],
          },
        ),
      ).message,
    ).toMatch(/folder/);
  });

  it('rejects unknown fields of the target through the schema', () => {
    expect(refusal(targetJob('-c:v libx264', { metric: 'ssim', min: 0.9, crf: 20 })).status).toBe(400);
    expect(refusal(targetJob('-c:v libx264', { metric: 'butteraugli', min: 0.9 })).status).toBe(400);
  });
});
