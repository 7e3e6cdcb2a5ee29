import { describe, expect, it } from 'vitest';
import { validateJob } from '../src/jobs/validate.ts';
import { decideRungs } from '../src/pipelines/ladder-rungs.ts';
import { DEFAULT_LADDER, ladderSettings } from '../src/pipelines/ladder-spec.ts';
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

  it('accepts custom rungs and switches', () => {
    const job = ladderJob(
      {},
      { rungs: [{ height: 360, bitrateKbps: 800 }], dash: false, hls: { segmentSeconds: 4 } },
    );
    const settings = ladderSettings(validateJob(job, pools, policy).spec.ladder!);
    expect(settings).toMatchObject({ hlsSegmentSeconds: 4, dashSegmentSeconds: undefined });
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

  it('refuses odd heights, segment lengths that are not a multiple of the GOP, unknown fields', () => {
    for (const ladder of [
      { rungs: [{ height: 361, bitrateKbps: 800 }] },
      { hls: { segmentSeconds: 5 } },
      { rungs: [{ height: 360, bitrateKbps: 800, width: 640 }] },
      { codec: 'vp9' },
      { preset: 'slow; rm -rf /' },
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
