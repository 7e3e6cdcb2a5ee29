import { open } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type CommandPlan,
  DEFAULT_TIMEOUT_SECONDS,
  type FfmpegLimits,
  inputPath,
  type JobSpec,
  outputPath,
  type QualitySummary,
  sniffInput,
} from '@ffleet/core';
import {
  DEFAULT_QUALITY_SUBSAMPLE,
  measureQuality,
  type QualityMeasurement,
  type QualityMode,
  QualityNotApplicableError,
} from '../../quality/measure.ts';
import type { JobContext, QualityOutcome } from '../context.ts';
import { stage } from '../stage.ts';

/** Options that move the output's first frame away from the input's: frames would not line up. */
const SHIFTING_OPTIONS = new Set(['ss', 'sseof']);
const PLAYLIST_MARKERS = [Buffer.from('#EXTM3U'), Buffer.from('ffconcat version')];

/**
 * Measures the first output against the first input when the job (or the fleet default) asks
 * for it. Never fails the job: a problem becomes the quality summary's status and reason.
 */
export async function measureOutputQuality(ctx: JobContext): Promise<void> {
  const { plan, layout } = ctx;
  const decision = jobQualityDecision(ctx);
  // Already measured: a quality target's chosen probe is the output, measured in full.
  if (!decision.measure || ctx.facts.quality) return;
  const outcome = await stage(
    ctx,
    'quality',
    async ({ span, setTime }) => {
      const outcome: QualityOutcome = decision.notApplicable
        ? { summary: { status: 'not_applicable', reason: decision.notApplicable } }
        : await measureAgainstInput(ctx, decision, outputPath(plan, layout, 0), join(ctx.workDir, 'quality'));
      span.setAttributes(qualityAttributes(outcome));
      // A job with nothing to compare has no quality stage worth timing (and would skew reports).
      if (outcome.summary.status === 'not_applicable') setTime(undefined);
      return outcome;
    },
    { percent: 100 },
  );
  ctx.facts.quality = outcome;
  if (outcome.summary.status !== 'measured')
    ctx.log.warn({ quality: outcome.summary }, 'quality not measured');
}

/**
 * `distorted` (the output, or a ladder's rung) measured against the job's first input as
 * downloaded, in the decision's mode, with the pool's ffmpeg limits and the job's timeout.
 */
export function measureAgainstInput(
  ctx: JobContext,
  how: { mode: QualityMode; subsample: number },
  distorted: string,
  workDir: string,
): Promise<QualityOutcome> {
  const { deps } = ctx;
  return measureJobQuality({
    reference: inputPath(ctx.plan, ctx.layout, 0),
    distorted,
    workDir,
    ffmpegPath: deps.ffmpegPath,
    ffprobePath: deps.ffprobePath,
    ...(deps.ffmpegLimits ? { limits: deps.ffmpegLimits } : {}),
    mode: how.mode,
    subsample: how.subsample,
    timeoutMs: (ctx.spec.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS) * 1000,
    signal: ctx.signal,
  });
}

/**
 * A quality target's chosen probe became the output, and its measurement compared every frame
 * of it with the input: it is the job's quality measurement too, when the job asks for one.
 */
export function useProbeMeasurement(ctx: JobContext, measurement: QualityMeasurement): void {
  const decision = jobQualityDecision(ctx);
  if (decision.measure && !decision.notApplicable)
    ctx.facts.quality = { summary: summaryOf(measurement), measurement };
}

/** This job's quality decision under this worker's fleet settings. */
export function jobQualityDecision(
  ctx: JobContext,
  compared: Compared = 'first output',
): ReturnType<typeof qualityDecision> {
  return qualityDecision(
    ctx.spec,
    ctx.plan,
    {
      measure: ctx.deps.qualityDefault ?? false,
      mode: ctx.deps.qualityMode ?? 'sampled',
      subsample: ctx.deps.qualitySubsample ?? DEFAULT_QUALITY_SUBSAMPLE,
    },
    compared,
  );
}

/** What is compared with the first input: the first output, or (a ladder) each rung it encoded. */
export type Compared = 'first output' | 'rungs';

/** The fleet's quality settings: whether jobs that do not say are measured, and how. */
export interface FleetQuality {
  measure: boolean;
  mode: QualityMode;
  subsample: number;
}

/**
 * Whether to measure quality for this job, how, and whether it can be: the job's `quality`
 * wins over the fleet's settings (`true` and `{}` take the fleet's mode). When it is on but
 * the job has nothing comparable, `notApplicable` says why (the job is unaffected). A ladder's
 * rungs are its own encodes, made without the job's output options: only the input's count.
 */
export function qualityDecision(
  spec: JobSpec,
  plan: CommandPlan,
  fleet: FleetQuality,
  compared: Compared = 'first output',
): { measure: false } | { measure: true; mode: QualityMode; subsample: number; notApplicable?: string } {
  const asked = spec.quality;
  if (!(asked === undefined ? fleet.measure : asked !== false)) return { measure: false };
  const mode = (typeof asked === 'object' ? asked.mode : undefined) ?? fleet.mode;
  const subsample = fleet.subsample;
  const input = plan.inputs[0]!;
  const output = plan.outputs[0]!;
  const notApplicable = (reason: string) => ({
    measure: true as const,
    mode,
    subsample,
    notApplicable: reason,
  });
  const rungs = compared === 'rungs';
  if (output.folder && !rungs) return notApplicable('the first output is a folder, not one video file');
  if (input.list) return notApplicable(`the first input is a ${input.list} list`);
  const shifted = [...input.options, ...(rungs ? [] : output.options)].find((o) =>
    SHIFTING_OPTIONS.has(o.name),
  );
  if (shifted) {
    return notApplicable(
      `${shifted.token} starts the output later than the input, so frames cannot be compared one to one`,
    );
  }
  return { measure: true, mode, subsample };
}

/**
 * Measures the first output against the first input. Never throws for the job's sake: an
 * output without video is `not_applicable`, any other problem (including being stopped by a
 * cancel or shutdown, as the outputs are already uploaded) is `failed` with the reason.
 */
export async function measureJobQuality(options: {
  reference: string;
  distorted: string;
  workDir: string;
  ffmpegPath: string;
  ffprobePath: string;
  limits?: FfmpegLimits;
  mode: QualityMode;
  subsample: number;
  timeoutMs: number;
  signal: AbortSignal;
}): Promise<QualityOutcome> {
  try {
    // The quality pass opens the output with ffmpeg's probing: refuse one that is a playlist
    // in disguise, which could make it read files the job never named.
    const refused = await refuseNonMedia(options.distorted);
    if (refused) return { summary: { status: 'not_applicable', reason: refused } };
    const measurement = await measureQuality(options);
    return { summary: summaryOf(measurement), measurement };
  } catch (error) {
    if (error instanceof QualityNotApplicableError)
      return { summary: { status: 'not_applicable', reason: error.message } };
    const reason = options.signal.aborted
      ? `stopped (${String(options.signal.reason ?? 'aborted')}) while measuring`
      : (error as Error).message;
    return { summary: { status: 'failed', reason } };
  }
}

export function summaryOf(measurement: QualityMeasurement): QualitySummary {
  const summary: QualitySummary = {
    status: 'measured',
    psnr: measurement.global.psnr.psnr_avg?.average,
    ssim: measurement.global.ssim.ssim_avg?.average,
    frames: measurement.frames,
    mode: measurement.mode,
    subsample: measurement.subsample,
  };
  if (measurement.windows) summary.windows = measurement.windows.length;
  const vmaf = measurement.global.vmaf?.vmaf?.average;
  if (vmaf !== undefined) summary.vmaf = vmaf;
  if (!measurement.vmafStatus.available) summary.vmafUnavailable = measurement.vmafStatus.reason;
  return summary;
}

export function qualityAttributes(outcome: QualityOutcome): Record<string, string | number> {
  const q = outcome.summary;
  const attributes: Record<string, string | number> = { 'ffleet.quality.status': q.status };
  if (q.psnr !== undefined) attributes['ffleet.quality.psnr'] = q.psnr;
  if (q.ssim !== undefined) attributes['ffleet.quality.ssim'] = q.ssim;
  if (q.vmaf !== undefined) attributes['ffleet.quality.vmaf'] = q.vmaf;
  if (q.mode) attributes['ffleet.quality.mode'] = q.mode;
  if (q.subsample !== undefined) attributes['ffleet.quality.subsample'] = q.subsample;
  if (q.windows !== undefined) attributes['ffleet.quality.windows'] = q.windows;
  if (q.vmafUnavailable) attributes['ffleet.quality.vmaf_unavailable'] = q.vmafUnavailable;
  if (q.reason) attributes['ffleet.quality.reason'] = q.reason;
  return attributes;
}

async function refuseNonMedia(file: string): Promise<string | undefined> {
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(1 << 20);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    const bytes = head.subarray(0, bytesRead);
    if (sniffInput(bytes) !== 'media' || PLAYLIST_MARKERS.some((m) => bytes.includes(m)))
      return 'the first output is a playlist or script, not a video file';
    return undefined;
  } finally {
    await handle.close();
  }
}
