/**
 * HDR sources made into SDR pictures. A ladder's rungs and a job's previews are 8-bit BT.709,
 * what every player and image viewer shows as intended; an HDR source (PQ, as HDR10 is, or
 * HLG, as phones record) written into them unchanged shows washed out, and PQ dark as well.
 * Its frames are tone-mapped instead: the source's light decoded (reference white, 203 cd/m²,
 * as 1.0, the level BT.2408 places SDR white at), its colours moved into BT.709, and its
 * highlights rolled off (mobius: untouched up to 70 % of SDR white, then compressed so the
 * source's peak lands on SDR white). An HDR10 source's peak is what its metadata says its
 * brightest pixel is (MaxCLL, else its mastering display's peak); without it, and for HLG,
 * 1000 cd/m², the peak HLG is made for and HDR10 is most often mastered to.
 */
import { type Static, Type } from '@sinclair/typebox';
import { type Hdr10Metadata, Hdr10MetadataSchema, peakNitsOf } from './hdr10.ts';
import type { Colour } from './media-analysis.ts';

/** The colour of an HDR source, as its tags give it; only names zscale knows, so it is safe in a filter. */
export const HdrColourSchema = Type.Object({
  /** `pq`: SMPTE ST 2084 (HDR10, Dolby Vision's base layer); `hlg`: ARIB STD-B67. */
  transfer: Type.Union([Type.Literal('pq'), Type.Literal('hlg')]),
  primaries: Type.Union([
    Type.Literal('bt2020'),
    Type.Literal('bt709'),
    Type.Literal('smpte432'),
    Type.Literal('smpte431'),
  ]),
  matrix: Type.Union([
    Type.Literal('bt2020nc'),
    Type.Literal('bt2020c'),
    Type.Literal('bt709'),
    Type.Literal('ictcp'),
  ]),
  range: Type.Union([Type.Literal('tv'), Type.Literal('pc')]),
  /** A PQ source's HDR10 metadata: the peak its tone mapping rolls off from, which HDR rungs carry on. */
  hdr10: Type.Optional(Hdr10MetadataSchema),
});
export type HdrColour = Static<typeof HdrColourSchema>;

const TRANSFERS = { smpte2084: 'pq', 'arib-std-b67': 'hlg' } as const;
/** FFmpeg's (and zscale's) name of each HDR transfer. */
export const HDR_TRANSFERS = { pq: 'smpte2084', hlg: 'arib-std-b67' } as const;

/** Reference white in cd/m² (BT.2408), and the peak a source is taken to reach when it does not say. */
const REFERENCE_WHITE_NITS = 203;
const ASSUMED_PEAK_NITS = 1000;

function oneOf<T extends string>(value: string | undefined, names: readonly T[], otherwise: T): T {
  return names.find((name) => name === value) ?? otherwise;
}

/**
 * The source's HDR colour when its transfer is PQ or HLG, else undefined (SDR). Missing or
 * unusual primaries, matrix and range are taken as HDR's usual ones (BT.2020, limited range).
 * HDR10 metadata counts for PQ only: HLG is relative to the display it is shown on.
 */
export function hdrColourOf(colour: Colour, hdr10?: Hdr10Metadata): HdrColour | undefined {
  const transfer = TRANSFERS[colour.transfer as keyof typeof TRANSFERS];
  if (!transfer) return undefined;
  return {
    transfer,
    primaries: oneOf(colour.primaries, ['bt2020', 'bt709', 'smpte432', 'smpte431'], 'bt2020'),
    matrix: oneOf(colour.space, ['bt2020nc', 'bt2020c', 'bt709', 'ictcp'], 'bt2020nc'),
    range: oneOf(colour.range, ['tv', 'pc'], 'tv'),
    ...(transfer === 'pq' && hdr10 ? { hdr10 } : {}),
  };
}

/** The light, in cd/m², an HDR source's tone mapping brings down to SDR white: its metadata's peak, else 1000. */
export function toneMapPeakNits(hdr: HdrColour): number {
  return peakNitsOf(hdr.hdr10) ?? ASSUMED_PEAK_NITS;
}

/**
 * The filters that make an HDR source's frames SDR: 8-bit 4:2:0 BT.709, limited range, tagged
 * so. The input's colour is named, not read from each frame, so untagged frames convert too.
 * Run it after scaling down: it works in floating point on every pixel.
 */
export function toneMapFilter(hdr: HdrColour): string {
  const source = `tin=${HDR_TRANSFERS[hdr.transfer]}:pin=${hdr.primaries}:min=${hdr.matrix}:rin=${hdr.range}`;
  // A source no brighter than SDR white needs no roll-off: mobius with a peak of 1 leaves it as it is.
  const peak = Math.max(1, toneMapPeakNits(hdr) / REFERENCE_WHITE_NITS).toFixed(3);
  return [
    // Every output property named: zscale takes an unnamed one from the frame, not from its input.
    `zscale=${source}:t=linear:npl=${REFERENCE_WHITE_NITS}:p=bt709`,
    'format=gbrpf32le',
    // tonemap weighs R, G and B by the frames' colour space to find a highlight's brightness.
    // FFmpeg 7 tags zscale's RGB frames as RGB (weights 1, 1, 1), which whitens and brightens
    // the picture; the frames are BT.709 now, and say so.
    'setparams=colorspace=bt709',
    `tonemap=tonemap=mobius:param=0.7:peak=${peak}`,
    'zscale=t=bt709:m=bt709:r=tv',
    'format=yuv420p',
  ].join(',');
}

/** The filters tone mapping needs, which an ffmpeg built without libzimg lacks. */
export const TONE_MAP_FILTERS = ['zscale', 'tonemap'] as const;
