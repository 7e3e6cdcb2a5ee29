/**
 * HDR10's static metadata: the mastering display (its primaries, white point and light range)
 * and the content light level (MaxCLL, MaxFALL). Read from what ffprobe lists of a source, on
 * its stream (the container's: Matroska, MP4's mdcv/clli) or on its first frame (HEVC and AV1
 * carry it in the stream itself), and written into HDR rungs in each encoder's own syntax.
 */
import { type Static, Type } from '@sinclair/typebox';

const Chromaticity = Type.Tuple([
  Type.Number({ minimum: 0, maximum: 1 }),
  Type.Number({ minimum: 0, maximum: 1 }),
]);

export const Hdr10MetadataSchema = Type.Object({
  /** The brightest pixel of the content, cd/m² (MaxCLL). */
  maxCll: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
  /** The brightest frame's average, cd/m² (MaxFALL). */
  maxFall: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000 })),
  /** The display the content was graded on: CIE 1931 xy of its primaries and white, its light range in cd/m². */
  masteringDisplay: Type.Optional(
    Type.Object({
      red: Chromaticity,
      green: Chromaticity,
      blue: Chromaticity,
      whitePoint: Chromaticity,
      maxLuminance: Type.Number({ minimum: 1, maximum: 10_000 }),
      minLuminance: Type.Number({ minimum: 0, maximum: 10_000 }),
    }),
  ),
});
export type Hdr10Metadata = Static<typeof Hdr10MetadataSchema>;

/** HDR10 side data as ffprobe lists it: numbers, or fractions as text ("34000/50000"). */
export interface HdrSideData {
  side_data_type?: string;
  max_content?: number;
  max_average?: number;
  red_x?: string;
  red_y?: string;
  green_x?: string;
  green_y?: string;
  blue_x?: string;
  blue_y?: string;
  white_point_x?: string;
  white_point_y?: string;
  max_luminance?: string;
  min_luminance?: string;
}

function fraction(text: string | undefined): number {
  const [numerator, denominator = '1'] = (text ?? '').split('/');
  return Number(numerator) / Number(denominator);
}

const within = (value: number, min: number, max: number) =>
  Number.isFinite(value) && value >= min && value <= max;

/**
 * The HDR10 metadata in a list of side data, or undefined when it holds none worth keeping.
 * Values a display cannot have (MaxCLL 0, which encoders write for "unknown", or 65 535;
 * chromaticities outside 0–1; a peak under 1 cd/m²) are left out: a wrong peak would clip or
 * flatten every highlight.
 */
export function hdr10MetadataOf(sideData: readonly HdrSideData[] | undefined): Hdr10Metadata | undefined {
  const metadata: Hdr10Metadata = {};
  const light = sideData?.find((d) => /content light level/i.test(d.side_data_type ?? ''));
  if (light && within(Number(light.max_content), 1, 10_000)) {
    metadata.maxCll = Math.round(Number(light.max_content));
    if (within(Number(light.max_average), 0, metadata.maxCll))
      metadata.maxFall = Math.round(Number(light.max_average));
  }
  const display = sideData?.find((d) => /mastering display/i.test(d.side_data_type ?? ''));
  if (display) {
    const xy = (x: string | undefined, y: string | undefined): [number, number] => [fraction(x), fraction(y)];
    const primaries = {
      red: xy(display.red_x, display.red_y),
      green: xy(display.green_x, display.green_y),
      blue: xy(display.blue_x, display.blue_y),
      whitePoint: xy(display.white_point_x, display.white_point_y),
    };
    const maxLuminance = fraction(display.max_luminance);
    const minLuminance = fraction(display.min_luminance);
    if (
      Object.values(primaries).every(([x, y]) => within(x, 0, 1) && within(y, 0, 1)) &&
      within(maxLuminance, 1, 10_000) &&
      within(minLuminance, 0, maxLuminance)
    )
      metadata.masteringDisplay = { ...primaries, maxLuminance, minLuminance };
  }
  return Object.keys(metadata).length > 0 ? metadata : undefined;
}

/** The brightest light the metadata gives, in whole cd/m²: MaxCLL, else the mastering display's peak. */
export function peakNitsOf(metadata: Hdr10Metadata | undefined): number | undefined {
  const nits = metadata?.maxCll ?? metadata?.masteringDisplay?.maxLuminance;
  return nits === undefined ? undefined : Math.round(nits);
}

/**
 * ffprobe arguments (before the input) listing the first video frame's side data as JSON. HEVC
 * and AV1 carry HDR10's metadata in the stream itself, which ffprobe shows on frames only.
 */
export const PROBE_FIRST_FRAME_ARGS = [
  ...['-v', 'error', '-select_streams', 'v:0', '-read_intervals', '%+#1'],
  ...['-show_frames', '-show_entries', 'frame=side_data_list', '-of', 'json'],
];

/** The HDR10 metadata in the side data of PROBE_FIRST_FRAME_ARGS's JSON. */
export function firstFrameHdr10(probeJson: string): Hdr10Metadata | undefined {
  const frames = (JSON.parse(probeJson) as { frames?: { side_data_list?: HdrSideData[] }[] }).frames;
  return hdr10MetadataOf(frames?.[0]?.side_data_list);
}

type Display = NonNullable<Hdr10Metadata['masteringDisplay']>;
const ORDER = ['green', 'blue', 'red', 'whitePoint'] as const;
const LABEL = { green: 'G', blue: 'B', red: 'R', whitePoint: 'WP' } as const;

/** x265's HDR10 parameters: chromaticities in 0.00002 steps, light in 0.0001 cd/m² steps. */
export function x265Hdr10Params(metadata: Hdr10Metadata | undefined): string[] {
  if (!metadata) return [];
  const params = ['hdr10=1'];
  const display = metadata.masteringDisplay;
  if (display) {
    const xy = ORDER.map((c) => `${LABEL[c]}(${display[c].map((v) => Math.round(v * 50_000)).join(',')})`);
    params.push(
      `master-display=${xy.join('')}L(${Math.round(display.maxLuminance * 10_000)},${Math.round(display.minLuminance * 10_000)})`,
    );
  }
  if (metadata.maxCll !== undefined) params.push(`max-cll=${metadata.maxCll},${metadata.maxFall ?? 0}`);
  return params;
}

/** SVT-AV1's HDR10 parameters: chromaticities and light (cd/m²) as decimals. */
export function svtAv1Hdr10Params(metadata: Hdr10Metadata | undefined): string[] {
  if (!metadata) return [];
  const params: string[] = [];
  const display: Display | undefined = metadata.masteringDisplay;
  if (display) {
    const xy = ORDER.map((c) => `${LABEL[c]}(${display[c].map((v) => Number(v.toFixed(5))).join(',')})`);
    params.push(
      `mastering-display=${xy.join('')}L(${Number(display.maxLuminance.toFixed(4))},${Number(display.minLuminance.toFixed(4))})`,
    );
  }
  if (metadata.maxCll !== undefined) params.push(`content-light=${metadata.maxCll},${metadata.maxFall ?? 0}`);
  return params;
}
