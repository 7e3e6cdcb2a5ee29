/**
 * Target-quality encoding: a job asks for a quality score instead of a fixed CRF, and the
 * worker searches the encoder's CRF range with a few probe encodes for the highest CRF (the
 * smallest file) whose score meets it. This module is the job-body side (schema, the encoders
 * and their CRF ranges, the checks a job must pass) and the search itself, kept pure so it can
 * be tested on measured curves; the worker runs the probes (worker/src/target/).
 */
import { type Static, Type } from '@sinclair/typebox';
import { FfleetError } from '../errors.ts';
import type { CommandPlan } from '../ffmpeg/command.ts';
import type { ParsedOption } from '../ffmpeg/options.ts';

export const TARGET_METRICS = ['vmaf', 'ssim', 'psnr'] as const;
export type TargetMetric = (typeof TARGET_METRICS)[number];

export const TargetQualitySchema = Type.Object(
  {
    metric: Type.Union(
      TARGET_METRICS.map((m) => Type.Literal(m)),
      {
        description:
          'vmaf (mean VMAF, 0–100; needs workers whose ffmpeg has libvmaf), ssim (mean SSIM, 0–1) or psnr (mean PSNR in dB)',
      },
    ),
    min: Type.Number({ description: 'The lowest score accepted' }),
    max: Type.Optional(
      Type.Number({
        description:
          'The highest score worth its bytes: the search stops at a probe scoring between min and max. ' +
          'Unset: min plus 2 (VMAF), 0.005 (SSIM) or 1 dB (PSNR)',
      }),
    ),
    fallbackCrf: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 63,
        description:
          "The CRF used when no probe meets min (reported as a fallback); unset: the encoder's default CRF",
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      'Encode the first output at the highest CRF whose score against the input meets this target, ' +
      'instead of a fixed -crf (see docs/pipelines.md#target-quality)',
  },
);
export type TargetQuality = Static<typeof TargetQualitySchema>;

/** An encoder's CRF scale: lower is better quality; `step` is the finest CRF the search uses. */
export interface CrfRange {
  min: number;
  max: number;
  step: number;
  /** What the encoder uses when no -crf is given: the size saved is reported against it. */
  default: number;
  /** Options the encoder needs beside -crf for constant-quality mode. */
  extraArgs: readonly string[];
}

/**
 * The encoders a target can drive. x264 and x265 take fractional CRF; SVT-AV1 and VP9 whole
 * numbers. x264 and x265 are searched from CRF 1: below it they turn lossless (quantizer 0),
 * which meets any target at many times the size, so it is never a useful answer.
 */
export const CRF_RANGES: Readonly<Record<string, CrfRange>> = {
  libx264: { min: 1, max: 51, step: 0.25, default: 23, extraArgs: [] },
  libx265: { min: 1, max: 51, step: 0.25, default: 28, extraArgs: [] },
  libsvtav1: { min: 1, max: 63, step: 1, default: 35, extraArgs: [] },
  // Without -b:v 0, libvpx-vp9 treats -crf as a cap under its default bitrate (constrained quality).
  'libvpx-vp9': { min: 0, max: 63, step: 1, default: 31, extraArgs: ['-b:v', '0'] },
};

/** How far above `min` a score may land when the job gives no `max`. */
export const DEFAULT_TOLERANCE: Record<TargetMetric, number> = { vmaf: 2, ssim: 0.005, psnr: 1 };
/** The scores each metric can take, for the checks on min and max. */
const METRIC_BOUNDS: Record<TargetMetric, { low: number; high: number; unit: string }> = {
  vmaf: { low: 0, high: 100, unit: '' },
  ssim: { low: 0, high: 1, unit: '' },
  psnr: { low: 0, high: 100, unit: ' dB' },
};
/** At most this many probe encodes per search (per chunk in a chunked encode). */
export const MAX_PROBES = 4;

/** A job's target as the worker runs it: the window of scores and the encoder's CRF range. */
export interface TargetPlan {
  metric: TargetMetric;
  min: number;
  max: number;
  encoder: string;
  range: CrfRange;
  fallbackCrf: number;
}

/** Options that fix the rate or quality themselves: the target sets the CRF. */
const RATE_OPTIONS = new Set(['crf', 'qp', 'cq', 'q', 'qscale', 'global_quality', 'vb']);
const ENCODER_PARAMS = new Set(['x264-params', 'x264opts', 'x265-params', 'svtav1-params']);
const RATE_PARAM = /(^|:)(crf|qp|bitrate|tbr|rc|cqp)=/;
/** Options that make the output cover only part of the input: the score would not be of the job's video. */
const PART_OPTIONS = new Set(['ss', 'sseof', 't', 'to', 'frames', 'vframes', 'itsoffset', 'stream_loop']);
const ENCODER_OPTION = new Set(['c', 'codec', 'vcodec']);

function invalidTarget(message: string): FfleetError {
  return new FfleetError('invalid_target', `targetQuality: ${message}`, 400);
}

/**
 * Checks a job's target against its command: one input, one file output whose video encoder
 * has a CRF scale here, nothing else fixing the rate, nothing cutting the video, scores inside
 * the metric's scale. Throws a 400 `invalid_target` saying what to change.
 */
export function checkTargetQuality(target: TargetQuality, plan: CommandPlan): TargetPlan {
  const bounds = METRIC_BOUNDS[target.metric];
  const max = target.max ?? Math.min(bounds.high, target.min + DEFAULT_TOLERANCE[target.metric]);
  if (!(target.min > bounds.low && target.min < bounds.high))
    throw invalidTarget(
      `min ${target.min} is outside ${target.metric}'s scale (above ${bounds.low}${bounds.unit}, below ${bounds.high}${bounds.unit})`,
    );
  if (max < target.min || max > bounds.high)
    throw invalidTarget(`max ${max} must lie between min (${target.min}) and ${bounds.high}${bounds.unit}`);
  if (plan.inputs.length !== 1 || plan.outputs.length !== 1)
    throw invalidTarget('a quality target needs exactly one input and one output');
  const input = plan.inputs[0]!;
  const output = plan.outputs[0]!;
  if (input.list) throw invalidTarget(`inputs[0] is a ${input.list} list; give one video`);
  if (output.folder) throw invalidTarget('the output is a folder; a quality target needs one video file');
  for (const [field, options] of [
    ['inputs[0].options', input.options],
    ['outputs[0].options', output.options],
    ['globalOptions', plan.globalOptions],
  ] as const) {
    for (const option of options) {
      if (PART_OPTIONS.has(option.name))
        throw invalidTarget(
          `${field} ${option.token} encodes only part of the input, so its score would not be the video's`,
        );
      if (field === 'outputs[0].options' && fixesRate(option))
        throw invalidTarget(
          `${field} ${option.token} fixes the rate or quality; the target chooses the CRF (remove it)`,
        );
    }
  }
  const encoder = videoEncoder(output.options);
  const range = encoder ? CRF_RANGES[encoder] : undefined;
  if (!encoder || !range)
    throw invalidTarget(
      `outputs[0] must name its video encoder with -c:v, one of ${Object.keys(CRF_RANGES).join(', ')}` +
        (encoder ? ` (not ${encoder})` : ''),
    );
  const fallbackCrf = target.fallbackCrf ?? range.default;
  if (fallbackCrf < range.min || fallbackCrf > range.max || !Number.isInteger(fallbackCrf / range.step))
    throw invalidTarget(
      `fallbackCrf ${fallbackCrf} is not a CRF of ${encoder}: ${range.min}–${range.max} in steps of ${range.step}`,
    );
  return { metric: target.metric, min: target.min, max, encoder, range, fallbackCrf };
}

function fixesRate(option: ParsedOption): boolean {
  // `-b:a 128k` or `-q:a 2` set the audio's rate, not the video's.
  if (option.specifier !== undefined && !/^v\b/.test(option.specifier)) return false;
  if (RATE_OPTIONS.has(option.name) || option.name === 'b') return true;
  return ENCODER_PARAMS.has(option.name) && RATE_PARAM.test(option.value ?? '');
}

/** The video encoder the output names last (`-c:v`, `-vcodec`, or `-c` for every stream). */
export function videoEncoder(options: readonly ParsedOption[]): string | undefined {
  let encoder: string | undefined;
  for (const option of options)
    if (
      ENCODER_OPTION.has(option.name) &&
      (option.name === 'vcodec' || option.specifier === undefined || /^v(:0)?$/.test(option.specifier))
    )
      encoder = option.value;
  return encoder;
}

/** The options a probe or the final encode adds to the output's own to encode at `crf`. */
export function crfArgs(target: TargetPlan, crf: number): string[] {
  return ['-crf', formatCrf(crf), ...target.range.extraArgs];
}

export function formatCrf(crf: number): string {
  return String(Math.round(crf * 100) / 100);
}

/** One probe: an encode at `crf`, its score on the target's metric and its size. */
export interface Probe {
  crf: number;
  score: number;
  bytes: number;
}

/**
 * The next CRF to probe, or undefined when the search is over (a probe landed in the window,
 * the probes are spent, or no CRF is left to try). The first probe is the encoder's default
 * CRF (so the size saved against it is measured, not guessed); then the search bisects the
 * side the target lies on; from then on it follows the line through the two probes nearest the
 * middle of the window (a secant step), kept between the highest CRF known to meet min and the
 * lowest known to miss it. Lines are drawn on the metric's scale where it is near-straight
 * against CRF (see onLine).
 */
export function nextProbeCrf(target: TargetPlan, probes: readonly Probe[]): number | undefined {
  if (probes.length >= MAX_PROBES) return undefined;
  if (probes.some((p) => inWindow(target, p))) return undefined;
  const { range } = target;
  if (probes.length === 0) return range.default;
  const meeting = probes.filter((p) => p.score >= target.min);
  const failing = probes.filter((p) => p.score < target.min);
  // Highest CRF still meeting min, lowest CRF already missing it: the answer lies between.
  const good = meeting.reduce<Probe | undefined>((a, p) => (!a || p.crf > a.crf ? p : a), undefined);
  const bad = failing.reduce<Probe | undefined>((a, p) => (!a || p.crf < a.crf ? p : a), undefined);
  const low = good ? good.crf : range.min;
  const high = bad ? bad.crf : range.max;
  if (high - low <= range.step) return undefined;
  const line = (score: number) => onLine(target.metric, score);
  const aim = (line(target.min) + line(target.max)) / 2;
  let crf: number;
  if (probes.length === 1) {
    // Bisect the side the target is on.
    crf = (low + high) / 2;
  } else {
    // Follow the line through the two probes whose scores are nearest the aim (these curves
    // are close to straight over a few CRF), whichever side they are on: a line kept through a
    // far probe that brackets the target would creep toward it a little at each probe.
    const [p, q] = [...probes].sort(
      (x, y) => Math.abs(line(x.score) - aim) - Math.abs(line(y.score) - aim),
    ) as [Probe, Probe];
    // A flat line says nothing about where the target lies: bisect instead.
    crf = line(p.score) === line(q.score) ? (low + high) / 2 : interpolate(p, q, aim, line);
  }
  return snap(range, Math.min(high - range.step, Math.max(low + range.step, crf)), probes);
}

/**
 * A score on the scale where it falls close to a straight line as CRF rises: SSIM in decibels,
 * -10·log10(1 − SSIM) as x264 reports it (SSIM itself flattens toward 1, so a line through two
 * SSIM probes falls short of the CRF it aims at); PSNR is already decibels, and VMAF is
 * near-straight over the CRFs a target picks.
 */
function onLine(metric: TargetMetric, score: number): number {
  return metric === 'ssim' ? -10 * Math.log10(Math.max(1 - score, 1e-10)) : score;
}

/** The CRF where the line through two probes of different scores (on the scale `line`) reaches `aim`. */
function interpolate(a: Probe, b: Probe, aim: number, line: (score: number) => number): number {
  const [from, to] = [line(a.score), line(b.score)];
  return a.crf + ((aim - from) * (b.crf - a.crf)) / (to - from);
}

/** On the range's step, inside it, and not a CRF already probed (moved one step toward the middle). */
function snap(range: CrfRange, crf: number, probes: readonly Probe[]): number | undefined {
  const snapped = Math.min(range.max, Math.max(range.min, Math.round(crf / range.step) * range.step));
  if (!probes.some((p) => p.crf === snapped)) return snapped;
  for (const other of [snapped + range.step, snapped - range.step])
    if (other >= range.min && other <= range.max && !probes.some((p) => p.crf === other)) return other;
  return undefined;
}

export function inWindow(target: Pick<TargetPlan, 'min' | 'max'>, probe: Probe): boolean {
  return probe.score >= target.min && probe.score <= target.max;
}

/** What the search settled on. */
export type CrfChoice =
  | { met: true; crf: number; probe: Probe }
  | { met: false; crf: number; reason: string };

/**
 * The highest probed CRF whose score meets min (the smallest file known to be good enough);
 * when none does, the fallback CRF, with why.
 */
export function chooseCrf(target: TargetPlan, probes: readonly Probe[]): CrfChoice {
  const meeting = probes.filter((p) => p.score >= target.min).sort((a, b) => b.crf - a.crf);
  if (meeting[0]) return { met: true, crf: meeting[0].crf, probe: meeting[0] };
  const best = [...probes].sort((a, b) => b.score - a.score)[0];
  const seen = best ? `; the best probe scored ${best.score} at CRF ${formatCrf(best.crf)}` : '';
  return {
    met: false,
    crf: target.fallbackCrf,
    reason: `no probe reached ${target.metric} ${target.min}${seen}: encoded at the fallback CRF ${formatCrf(target.fallbackCrf)}`,
  };
}

const ProbeSchema = Type.Object({
  crf: Type.Number(),
  score: Type.Number({ description: "The probe's mean score on the target's metric" }),
  bytes: Type.Integer({ minimum: 0, description: "The probe encode's size" }),
});

/** One encode's search (a single job's, or one chunk's). */
const SearchFields = {
  crf: Type.Number({ description: 'The CRF the video was encoded at' }),
  met: Type.Boolean({
    description: 'false: no probe met min, and the video was encoded at the fallback CRF',
  }),
  fallback: Type.Optional(Type.String({ description: 'Why the fallback CRF was used' })),
  probes: Type.Array(ProbeSchema, { maxItems: MAX_PROBES, description: 'In the order they ran' }),
  score: Type.Optional(
    Type.Number({ description: 'The encoded video’s measured score (the probe’s own when it was reused)' }),
  ),
  reused: Type.Boolean({ description: 'The final encode is the chosen probe (no encode after the search)' }),
  savedPercent: Type.Optional(
    Type.Number({
      description:
        "Size saved against the encoder's default CRF, measured on what was probed (negative: larger)",
    }),
  ),
};

export const TargetQualityResultSchema = Type.Object(
  {
    metric: Type.Union(TARGET_METRICS.map((m) => Type.Literal(m))),
    min: Type.Number(),
    max: Type.Number(),
    encoder: Type.String(),
    defaultCrf: Type.Number({ description: "The encoder's default CRF, the size saved is against it" }),
    ...SearchFields,
    probedOn: Type.Optional(
      Type.Union([Type.Literal('whole'), Type.Literal('samples')], {
        description: '`whole`: probes encoded the whole input; `samples`: a few short samples of it',
      }),
    ),
    samples: Type.Optional(
      Type.Object({ count: Type.Integer({ minimum: 1 }), seconds: Type.Number({ description: 'In all' }) }),
    ),
    chunks: Type.Optional(
      Type.Array(Type.Object({ index: Type.Integer({ minimum: 0 }), ...SearchFields }), {
        description: 'A chunked encode: each chunk searched its own CRF (`crf` above is the mean)',
      }),
    ),
  },
  { description: 'How the CRF of a job with a quality target was chosen' },
);
export type TargetQualityResult = Static<typeof TargetQualityResultSchema>;
