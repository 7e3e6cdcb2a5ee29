import { mkdir, readFile, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { runFfmpegChecked } from '@ffleet/core';
import { qualityArgv, qualityFilterGraph, STATS_FILES } from './graph.ts';
import {
  type FfmpegSummary,
  PSNR_CEILING_DB,
  parseFfmpegSummary,
  parsePsnrStats,
  parseSsimStats,
  parseVmafLog,
} from './parse.ts';
import { probeQualityFilters, probeVideo } from './probe.ts';
import { type Frame, globalStats, type SeriesStats } from './stats.ts';

export interface MeasureQualityOptions {
  /** The job's first input, as downloaded. */
  reference: string;
  /** The job's first output, as ffmpeg wrote it. */
  distorted: string;
  /** A directory of the job's work dir that this step may fill (created, then emptied). */
  workDir: string;
  ffmpegPath?: string;
  ffprobePath?: string;
  /** false skips VMAF even where libvmaf exists (it is by far the slowest metric). */
  vmaf?: boolean;
  /** Compare every n-th frame of the output (default 1: every frame). */
  subsample?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export type VmafStatus = { available: true; model: string } | { available: false; reason: string };

/** `full` compares every frame; `sampled` every `subsample`-th frame of the output. */
export type QualityMode = 'sampled' | 'full';
/**
 * Every how many output frames one is compared in sampled mode, unless the fleet says
 * otherwise. A prime: GOP lengths and B-frame patterns are built from 2, 3 and 5, so the
 * samples cycle through every position in them instead of always landing on the same kind of
 * frame (every 10th frame of a steady P-B-B-B pattern only ever meets two of its four places).
 */
export const DEFAULT_QUALITY_SUBSAMPLE = 7;

/** PSNR/SSIM/VMAF of one output against its reference, per frame and summarised. */
export interface QualityMeasurement {
  psnr: Frame[];
  ssim: Frame[];
  /** Absent when VMAF was not computed; `vmafStatus` says why. */
  vmaf?: Frame[];
  global: {
    psnr: Record<string, SeriesStats>;
    ssim: Record<string, SeriesStats>;
    vmaf?: Record<string, SeriesStats>;
  };
  vmafStatus: VmafStatus;
  /** ffmpeg's own closing summary lines, as it printed them (PSNR capped like the frames). */
  ffmpegSummary: FfmpegSummary;
  /** Set when the output was scaled to the reference's size before comparing. */
  scaled?: { from: string; to: string };
  psnrCeilingDb: number;
  /** Frames compared (per-frame entries); in sampled mode about 1/subsample of the output's. */
  frames: number;
  mode: QualityMode;
  /** Every how many output frames one was compared: 1 in full mode. */
  subsample: number;
  elapsedMs: number;
}

/** Quality could not be measured for a reason that is not an error (audio-only output, …). */
export class QualityNotApplicableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QualityNotApplicableError';
  }
}

/**
 * Measures PSNR, SSIM and (where this ffmpeg has libvmaf) VMAF in one ffmpeg pass. Never
 * invents a number: a metric that cannot be computed is reported as unavailable with why.
 */
export async function measureQuality(options: MeasureQualityOptions): Promise<QualityMeasurement> {
  const ffmpeg = options.ffmpegPath ?? 'ffmpeg';
  const ffprobe = options.ffprobePath ?? 'ffprobe';
  const started = performance.now();
  const [filters, distorted, reference] = await Promise.all([
    probeQualityFilters(ffmpeg),
    probeVideo(ffprobe, options.distorted),
    probeVideo(ffprobe, options.reference),
  ]);
  if (!filters.psnr || !filters.ssim) throw new Error('this ffmpeg build lacks the psnr or ssim filter');
  if (!reference) throw new QualityNotApplicableError('the reference (first input) has no video stream');
  if (!distorted) throw new QualityNotApplicableError('the first output has no video stream');

  const vmafStatus: VmafStatus =
    options.vmaf === false
      ? { available: false, reason: 'VMAF turned off for this job' }
      : filters.vmaf.available
        ? { available: true, model: 'vmaf_v0.6.1 (libvmaf default)' }
        : filters.vmaf;
  const subsample = Math.max(1, Math.trunc(options.subsample ?? 1));
  const graph = qualityFilterGraph({
    distorted,
    reference,
    vmaf: vmafStatus.available,
    vmafThreads: Math.min(availableParallelism(), 8),
    subsample,
  });

  await rm(options.workDir, { recursive: true, force: true });
  await mkdir(options.workDir, { recursive: true });
  const run = await runFfmpegChecked({
    binary: ffmpeg,
    argv: qualityArgv(options.distorted, options.reference, graph),
    cwd: options.workDir,
    timeoutMs: options.timeoutMs ?? 3_600_000,
    signal: options.signal,
    // The psnr and ssim summary lines are the last ones ffmpeg prints.
    stderrLines: 40,
  });

  const read = (name: string) => readFile(join(options.workDir, name), 'utf8');
  const psnr = outputFrameNumbers(parsePsnrStats(await read(STATS_FILES.psnr)), subsample);
  const ssim = outputFrameNumbers(parseSsimStats(await read(STATS_FILES.ssim)), subsample);
  const vmaf = vmafStatus.available ? parseVmafLog(await read(STATS_FILES.vmaf)) : undefined;
  if (psnr.length === 0)
    throw new Error('ffmpeg compared no frames: are the streams decodable and overlapping?');

  const measurement: QualityMeasurement = {
    psnr,
    ssim,
    global: { psnr: globalStats(psnr), ssim: globalStats(ssim) },
    vmafStatus,
    ffmpegSummary: parseFfmpegSummary(run.stderrTail.join('\n')),
    psnrCeilingDb: PSNR_CEILING_DB,
    frames: psnr.length,
    mode: subsample > 1 ? 'sampled' : 'full',
    subsample,
    elapsedMs: Math.round(performance.now() - started),
  };
  if (vmaf) {
    measurement.vmaf = vmaf;
    measurement.global.vmaf = globalStats(vmaf);
  }
  if (distorted.width !== reference.width || distorted.height !== reference.height) {
    measurement.scaled = {
      from: `${distorted.width}x${distorted.height}`,
      to: `${reference.width}x${reference.height}`,
    };
  }
  return measurement;
}

/**
 * The psnr and ssim filters number the frames they compared 1, 2, 3…; sampled, those are the
 * output's frames 1, 1+n, 1+2n…, which is what the record says.
 */
function outputFrameNumbers(frames: Frame[], subsample: number): Frame[] {
  if (subsample === 1) return frames;
  return frames.map((frame) => ({ ...frame, n: (frame.n - 1) * subsample + 1 }));
}
