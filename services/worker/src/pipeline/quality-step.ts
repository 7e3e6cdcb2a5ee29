import { open } from 'node:fs/promises';
import { type CommandPlan, type JobSpec, type QualitySummary, sniffInput } from '@ffleet/core';
import { measureQuality, type QualityMeasurement, QualityNotApplicableError } from '../quality/measure.ts';

/** Options that move the output's first frame away from the input's: frames would not line up. */
const SHIFTING_OPTIONS = new Set(['ss', 'sseof']);
const PLAYLIST_MARKERS = [Buffer.from('#EXTM3U'), Buffer.from('ffconcat version')];

/**
 * Whether to measure quality for this job, and if so whether it can be: the job's `quality`
 * wins over the fleet default. Returns undefined when quality is off, or a reason when it is
 * on but the job has nothing comparable (the summary then says so; the job is unaffected).
 */
export function qualityDecision(
  spec: JobSpec,
  plan: CommandPlan,
  fleetDefault: boolean,
): { measure: false } | { measure: true; notApplicable?: string } {
  if (!(spec.quality ?? fleetDefault)) return { measure: false };
  const input = plan.inputs[0]!;
  const output = plan.outputs[0]!;
  if (output.folder)
    return { measure: true, notApplicable: 'the first output is a folder, not one video file' };
  if (input.list) return { measure: true, notApplicable: `the first input is a ${input.list} list` };
  const shifted = [...input.options, ...output.options].find((o) => SHIFTING_OPTIONS.has(o.name));
  if (shifted) {
    return {
      measure: true,
      notApplicable: `${shifted.token} starts the output later than the input, so frames cannot be compared one to one`,
    };
  }
  return { measure: true };
}

export interface QualityOutcome {
  summary: QualitySummary;
  measurement?: QualityMeasurement;
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
  };
  const vmaf = measurement.global.vmaf?.vmaf?.average;
  if (vmaf !== undefined) summary.vmaf = vmaf;
  if (!measurement.vmafStatus.available) summary.vmafUnavailable = measurement.vmafStatus.reason;
  return summary;
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
