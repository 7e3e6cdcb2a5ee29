import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { hdrColourOf, toneMapFilter, toneMapPeakNits } from '../src/pipelines/tone-map.ts';

const run = promisify(execFile);

describe('hdrColourOf', () => {
  it('is undefined for an SDR source, tagged or not', () => {
    expect(hdrColourOf({ transfer: 'bt709', primaries: 'bt709', space: 'bt709' })).toBeUndefined();
    expect(hdrColourOf({})).toBeUndefined();
    // BT.2020 colours with an SDR transfer are wide gamut, not HDR.
    expect(hdrColourOf({ transfer: 'bt2020-10', primaries: 'bt2020' })).toBeUndefined();
  });

  it('reads PQ and HLG sources, taking missing tags as HDR usually has them', () => {
    expect(
      hdrColourOf({ transfer: 'smpte2084', primaries: 'smpte432', space: 'bt2020nc', range: 'pc' }),
    ).toEqual({ transfer: 'pq', primaries: 'smpte432', matrix: 'bt2020nc', range: 'pc' });
    expect(hdrColourOf({ transfer: 'arib-std-b67' })).toEqual({
      transfer: 'hlg',
      primaries: 'bt2020',
      matrix: 'bt2020nc',
      range: 'tv',
    });
  });

  it("never lets a file's tags into the filter: only names it knows", () => {
    const hostile = hdrColourOf({
      transfer: 'smpte2084',
      primaries: "bt2020:t=linear,movie='/etc/passwd'",
      space: 'bt2020nc,drawtext=text=x',
      range: 'tv;[x]',
    })!;
    expect(hostile).toEqual({ transfer: 'pq', primaries: 'bt2020', matrix: 'bt2020nc', range: 'tv' });
    expect(toneMapFilter(hostile)).not.toMatch(/passwd|drawtext|;/);
  });

  it("keeps a PQ source's HDR10 metadata and peak, not an HLG one's (HLG is relative to the display)", () => {
    expect(hdrColourOf({ transfer: 'smpte2084' }, { maxCll: 4000, maxFall: 400 })).toMatchObject({
      transfer: 'pq',
      hdr10: { maxCll: 4000, maxFall: 400 },
    });
    expect(toneMapPeakNits(hdrColourOf({ transfer: 'smpte2084' }, { maxCll: 4000, maxFall: 400 })!)).toBe(
      4000,
    );
    const hlg = hdrColourOf({ transfer: 'arib-std-b67' }, { maxCll: 4000 });
    expect(toneMapPeakNits(hlg!)).toBe(1000);
    expect(hlg).not.toHaveProperty('hdr10');
    expect(toneMapPeakNits(hdrColourOf({ transfer: 'smpte2084' })!)).toBe(1000);
  });
});

/**
 * Luma (8-bit, 16–235) of a flat white picture placed in HDR at `nits`, stripped of its colour
 * tags, after the tone mapping: the real ffmpeg's answer.
 */
async function lumaAfterToneMapping(
  transfer: 'smpte2084' | 'arib-std-b67',
  nits: number,
  peakNits?: number,
  /** The colour space the frames are tagged with (the filter names its input's; FFmpeg 7 retags RGB frames). */
  colorspace = 'unknown',
): Promise<number> {
  const hdr = hdrColourOf({ transfer }, peakNits === undefined ? undefined : { maxCll: peakNits })!;
  const graph = [
    'color=white:size=64x64:duration=0.04,format=yuv420p',
    'setparams=color_primaries=bt709:color_trc=bt709:colorspace=bt709:range=tv',
    'zscale=t=linear,format=gbrpf32le',
    `zscale=p=bt2020:t=${transfer}:m=bt2020nc:r=tv:npl=${nits},format=yuv420p10le`,
    `setparams=color_primaries=unknown:color_trc=unknown:colorspace=${colorspace}:range=unknown`,
    toneMapFilter(hdr),
    'signalstats,metadata=print:key=lavfi.signalstats.YAVG',
  ].join(',');
  const { stderr } = await run(
    'ffmpeg',
    ['-hide_banner', '-nostdin', '-f', 'lavfi', '-i', graph, '-f', 'null', '-'],
    {
      timeout: 20_000,
    },
  );
  const luma = /YAVG=([\d.]+)/.exec(stderr);
  if (!luma) throw new Error(`no luma in ffmpeg's output: ${stderr.slice(-300)}`);
  return Number(luma[1]);
}

describe('toneMapFilter on real frames', () => {
  it.each(['smpte2084', 'arib-std-b67'] as const)(
    '%s: reference white (203 cd/m²) lands just under SDR white, 1000 cd/m² on it',
    async (transfer) => {
      const white = await lumaAfterToneMapping(transfer, 203);
      expect(white).toBeGreaterThan(210);
      expect(white).toBeLessThan(228);
      expect(await lumaAfterToneMapping(transfer, 1000)).toBeGreaterThanOrEqual(233);
      // Darker than reference white stays darker: the mapping keeps the order of brightness.
      expect(await lumaAfterToneMapping(transfer, 100)).toBeLessThan(white - 10);
    },
  );
});

describe("toneMapFilter with a PQ source's own peak, on real frames", () => {
  it('rolls off from the peak its metadata gives, so no light goes past SDR white', async () => {
    // Taken as 1000 cd/m², light above it is coded whiter than white (over 235), which players clip.
    expect(await lumaAfterToneMapping('smpte2084', 4000)).toBeGreaterThan(235);
    const peak = await lumaAfterToneMapping('smpte2084', 4000, 4000);
    expect(peak).toBeGreaterThanOrEqual(233);
    expect(peak).toBeLessThanOrEqual(235);
    expect(await lumaAfterToneMapping('smpte2084', 1000, 4000)).toBeLessThan(peak);
  });

  it('leaves a source no brighter than reference white as it is', async () => {
    // Reference white on SDR white, where the 1000 cd/m² roll-off puts it under (210–228, above).
    expect(await lumaAfterToneMapping('smpte2084', 203, 203)).toBeGreaterThanOrEqual(233);
    expect(await lumaAfterToneMapping('smpte2084', 203, 150)).toBeGreaterThanOrEqual(233);
  });
});

describe('toneMapFilter whatever colour space the frames are tagged with', () => {
  it('gives the same picture when FFmpeg tags its RGB frames as RGB, as FFmpeg 7 does', async () => {
    // Tagged RGB, tonemap would weigh R+G+B (up to 3) for a highlight's brightness and push
    // reference white past SDR white.
    for (const transfer of ['smpte2084', 'arib-std-b67'] as const)
      expect(await lumaAfterToneMapping(transfer, 203, 203, 'gbr'), transfer).toBe(
        await lumaAfterToneMapping(transfer, 203, 203),
      );
    expect(await lumaAfterToneMapping('smpte2084', 1000, undefined, 'gbr')).toBe(
      await lumaAfterToneMapping('smpte2084', 1000),
    );
  });
});
