import { mkdir, readFile, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import {
  type FfmpegLimits,
  type FfmpegRunResult,
  FfmpegToolError,
  type HdrColour,
  NO_LIMITS,
  threadArgs,
} from '@ffleet/core';
import { runLimitedFfmpeg } from '../ffmpeg/limits.ts';
import { inBatches } from '../pipeline/in-batches.ts';
import {
  deinterlacesReference,
  type GraphOptions,
  qualityArgv,
  qualityFilterGraph,
  STATS_FILES,
  toneMapsReference,
  windowArgv,
  windowStatsFiles,
  windowsFilterGraph,
} from './graph.ts';
import {
  type FfmpegSummary,
  PSNR_CEILING_DB,
  parseFfmpegSummary,
  parsePsnrStats,
  parseSsimStats,
  parseVmafLog,
} from './parse.ts';
import { probeQualityFilters, probeVideo, readHdr10, type VideoInfo } from './probe.ts';
import { type Frame, globalStats, type SeriesStats } from './stats.ts';
import { planWindows, type QualityWindow } from './windows.ts';

export interface MeasureQualityOptions {
  /** The job's first input, as downloaded. */
  reference: string;
  /** The job's first output, as ffmpeg wrote it. */
  distorted: string;
  /** A directory of the job's work dir that this step may fill (created, then emptied). */
  workDir: string;
  ffmpegPath?: string;
  ffprobePath?: string;
  /** The pool's limits on ffmpeg (memory, threads), as on the job's own encode; none unless told. */
  limits?: FfmpegLimits;
  /** false skips VMAF even where libvmaf exists (it is by far the slowest metric). */
  vmaf?: boolean;
  /** `full` (the default here) compares every frame; `sampled` windows of them (see windows.ts). */
  mode?: QualityMode;
  /** Sampling a video too short for windows: every n-th output frame (default DEFAULT_QUALITY_SUBSAMPLE). */
  subsample?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export type VmafStatus = { available: true; model: string } | { available: false; reason: string };

/**
 * `full` compares every frame. `sampled` compares a few windows of consecutive frames spread
 * over the video (windows.ts), or, when the video is too short for windows to save anything,
 * every `subsample`-th frame of it.
 */
export type QualityMode = 'sampled' | 'full';
/**
 * Every how many output frames one is compared when a video too short for windows is
 * sampled, unless the fleet says otherwise. A prime: GOP lengths and B-frame patterns are
 * built from 2, 3 and 5, so the samples cycle through every position in them instead of
 * always landing on the same kind of frame (every 10th frame of a steady P-B-B-B pattern only
 * ever meets two of its four places).
 */
export const DEFAULT_QUALITY_SUBSAMPLE = 7;
/**
 * Seconds the reference's window starts before the output's: the first output frame of a
 * window is compared with the reference frame shown at its time, which may come just before
 * the window (other frame rates). Enough for references of 4 frames per second and more.
 */
export const REFERENCE_LEAD_SECONDS = 0.25;
/** Most windows compared by one ffmpeg run: each open window holds two decoders. */
export const WINDOWS_PER_RUN = 4;

/** Before each window's inputs: one decoding thread (never more than a pool's cap). */
const ONE_DECODER_THREAD = ['-threads', '1'];

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
  /**
   * ffmpeg's own closing summary lines, as it printed them (PSNR capped like the frames), when
   * one comparison covered the whole video; empty for windows (each printed its own).
   */
  ffmpegSummary: FfmpegSummary;
  /** Set when the output was scaled to the reference's size before comparing. */
  scaled?: { from: string; to: string };
  /** Set when the reference was deinterlaced (interlaced, and the output is not) before comparing. */
  referenceDeinterlaced?: true;
  /** Set when the reference was tone-mapped (HDR, and the output is not) before comparing: its transfer. */
  referenceToneMapped?: HdrColour['transfer'];
  psnrCeilingDb: number;
  /** Frames compared (per-frame entries). */
  frames: number;
  mode: QualityMode;
  /** Every how many output frames one was compared: 1 in full mode and inside windows. */
  subsample: number;
  /** The windows compared, when the sampled measurement used windows. */
  windows?: QualityWindow[];
  elapsedMs: number;
}

/** Quality could not be measured for a reason that is not an error (audio-only output, …). */
export class QualityNotApplicableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QualityNotApplicableError';
  }
}

/** What one comparison pass found. */
interface Compared {
  psnr: Frame[];
  ssim: Frame[];
  vmaf?: Frame[];
  ffmpegSummary: FfmpegSummary;
}

/**
 * Measures PSNR, SSIM and (where this ffmpeg has libvmaf) VMAF. Never invents a number: a
 * metric that cannot be computed is reported as unavailable with why.
 */
export async function measureQuality(options: MeasureQualityOptions): Promise<QualityMeasurement> {
  const ffmpeg = options.ffmpegPath ?? 'ffmpeg';
  const ffprobe = options.ffprobePath ?? 'ffprobe';
  const timeoutMs = options.timeoutMs ?? 3_600_000;
  const sampled = options.mode === 'sampled';
  const limits = options.limits ?? NO_LIMITS;
  const started = performance.now();
  const [filters, distorted, reference] = await Promise.all([
    probeQualityFilters(ffmpeg),
    // Windows are placed on the output's own frames: sampling lists them (packets, no decoding).
    probeVideo(ffprobe, options.distorted, { frameTimes: sampled, timeoutMs }),
    probeVideo(ffprobe, options.reference),
  ]);
  if (!filters.psnr || !filters.ssim) throw new Error('this ffmpeg build lacks the psnr or ssim filter');
  if (!reference) throw new QualityNotApplicableError('the reference (first input) has no video stream');
  if (!distorted) throw new QualityNotApplicableError('the first output has no video stream');
  // An HDR reference of an SDR output is tone-mapped from its peak, which an HDR10 one's metadata gives.
  if (toneMapsReference({ distorted, reference })) await readHdr10(ffprobe, options.reference, reference);

  const vmafStatus: VmafStatus =
    options.vmaf === false
      ? { available: false, reason: 'VMAF turned off for this job' }
      : filters.vmaf.available
        ? { available: true, model: 'vmaf_v0.6.1 (libvmaf default)' }
        : filters.vmaf;
  const graph: WindowsGraph = {
    distorted,
    reference,
    vmaf: vmafStatus.available,
    vmafThreads: Math.min(availableParallelism(), 8, limits.threads || Number.POSITIVE_INFINITY),
  };
  const run: Run = { ...options, ffmpeg, timeoutMs, limits };

  await rm(options.workDir, { recursive: true, force: true });
  await mkdir(options.workDir, { recursive: true });
  let windows =
    sampled && distorted.frameTimes
      ? planWindows(distorted.frameTimes, reference.durationSeconds)
      : undefined;
  let compared: Compared | undefined;
  if (windows) {
    compared = await compareWindows(run, graph, windows);
    // A window whose frames did not all pair up (a reference with frames far apart): sample the whole video instead.
    if (!compared) windows = undefined;
  }
  const subsample =
    sampled && !windows ? Math.max(2, Math.trunc(options.subsample ?? DEFAULT_QUALITY_SUBSAMPLE)) : 1;
  compared ??= await compareWhole(run, { ...graph, subsample });
  const { psnr, ssim, vmaf } = compared;
  if (psnr.length === 0)
    throw new Error('ffmpeg compared no frames: are the streams decodable and overlapping?');

  const measurement: QualityMeasurement = {
    psnr,
    ssim,
    global: { psnr: globalStats(psnr), ssim: globalStats(ssim) },
    vmafStatus,
    ffmpegSummary: compared.ffmpegSummary,
    psnrCeilingDb: PSNR_CEILING_DB,
    frames: psnr.length,
    mode: sampled ? 'sampled' : 'full',
    subsample,
    elapsedMs: Math.round(performance.now() - started),
  };
  if (windows) measurement.windows = windows;
  if (vmaf) {
    measurement.vmaf = vmaf;
    measurement.global.vmaf = globalStats(vmaf);
  }
  if (deinterlacesReference({ distorted, reference })) measurement.referenceDeinterlaced = true;
  const toneMapped = toneMapsReference({ distorted, reference });
  if (toneMapped) measurement.referenceToneMapped = toneMapped.transfer;
  if (distorted.width !== reference.width || distorted.height !== reference.height) {
    measurement.scaled = {
      from: `${distorted.width}x${distorted.height}`,
      to: `${reference.width}x${reference.height}`,
    };
  }
  return measurement;
}

type Run = MeasureQualityOptions & { ffmpeg: string; timeoutMs: number; limits: FfmpegLimits };
/** The graph's options, with where each file's video starts (for seeking). */
type WindowsGraph = Omit<GraphOptions, 'subsample'> & { distorted: VideoInfo; reference: VideoInfo };

/** One pass over both files whole: every frame, or every `subsample`-th output frame. */
async function compareWhole(run: Run, graph: GraphOptions): Promise<Compared> {
  const result = await runComparison(
    run,
    qualityArgv(run.distorted, run.reference, qualityFilterGraph(graph), threadArgs(run.limits)),
    // The psnr and ssim summary lines are the last ones ffmpeg prints.
    40,
  );
  const read = (name: string) => readFile(join(run.workDir, name), 'utf8');
  const subsample = graph.subsample ?? 1;
  return {
    psnr: outputFrameNumbers(parsePsnrStats(await read(STATS_FILES.psnr)), subsample),
    ssim: outputFrameNumbers(parseSsimStats(await read(STATS_FILES.ssim)), subsample),
    vmaf: graph.vmaf ? parseVmafLog(await read(STATS_FILES.vmaf)) : undefined,
    ffmpegSummary: parseFfmpegSummary(result.stderrTail.join('\n')),
  };
}

/**
 * The windows, a few per ffmpeg run, each output window with the reference's at the same
 * time. Undefined when a window did not compare every one of its frames.
 *
 * One ffmpeg run mostly works on one thread, so the runs go side by side, as many at once as
 * the pool lets ffmpeg have threads (else one per core). Each window is decoded on one thread
 * and libvmaf gets one: the windows are short, and a frame-threaded decoder per window only
 * adds start-up work. The first round of runs takes every window when it can.
 */
async function compareWindows(
  run: Run,
  graph: WindowsGraph,
  windows: QualityWindow[],
): Promise<Compared | undefined> {
  const { distorted, reference } = graph;
  const sideBySide = run.limits.threads || availableParallelism();
  const perRun = Math.min(WINDOWS_PER_RUN, Math.ceil(windows.length / sideBySide));
  const batches: { window: QualityWindow; index: number; lead: number }[][] = [];
  for (let first = 0; first < windows.length; first += perRun) {
    batches.push(
      windows.slice(first, first + perRun).map((window, i) => ({
        window,
        index: first + i,
        lead: Math.min(REFERENCE_LEAD_SECONDS, window.start),
      })),
    );
  }
  await inBatches(batches, sideBySide, (batch) =>
    runComparison(
      run,
      windowArgv(
        run.distorted,
        run.reference,
        batch.map(({ window, lead }) => ({
          distortedStart: distorted.videoStartSeconds + window.start,
          distortedDuration: window.duration,
          referenceStart: reference.videoStartSeconds + window.start - lead,
          referenceDuration: window.duration + lead,
        })),
        windowsFilterGraph({ ...graph, vmafThreads: 1 }, batch),
        ONE_DECODER_THREAD,
      ),
    ),
  );
  const compared: Compared = { psnr: [], ssim: [], vmaf: graph.vmaf ? [] : undefined, ffmpegSummary: {} };
  for (const [index, window] of windows.entries()) {
    const files = windowStatsFiles(index);
    const read = (name: string) => readFile(join(run.workDir, name), 'utf8');
    const series = [
      [compared.psnr, parsePsnrStats(await read(files.psnr))],
      [compared.ssim, parseSsimStats(await read(files.ssim))],
      ...(compared.vmaf ? [[compared.vmaf, parseVmafLog(await read(files.vmaf))] as const] : []),
    ] as const;
    for (const [all, frames] of series) {
      if (frames.length !== window.frames) return undefined;
      // Numbered 1, 2, 3… within the window: the output's own numbers from its first frame on.
      all.push(...frames.map((frame) => ({ ...frame, n: window.firstFrame + frame.n - 1 })));
    }
  }
  return compared;
}

/**
 * One comparison under the pool's limits, as the job's own encode: `argv` carries the thread
 * cap on each input; the memory limit and the global limit options are added here. Throws when
 * ffmpeg failed, with `resource_limit` when it went over a limit.
 */
async function runComparison(run: Run, argv: string[], stderrLines?: number): Promise<FfmpegRunResult> {
  const result = await runLimitedFfmpeg(run.limits, {
    binary: run.ffmpeg,
    argv,
    cwd: run.workDir,
    // Each window opens two decoders, each scaled frame is new: see FRAMES_GLIBC_TUNABLES.
    framesMalloc: true,
    timeoutMs: run.timeoutMs,
    signal: run.signal,
    ...(stderrLines ? { stderrLines } : {}),
  });
  if (result.exitCode !== 0 || result.stoppedBy) throw new FfmpegToolError(run.ffmpeg, result);
  return result;
}

/**
 * The psnr and ssim filters number the frames they compared 1, 2, 3…; sampled, those are the
 * output's frames 1, 1+n, 1+2n…, which is what the record says.
 */
function outputFrameNumbers(frames: Frame[], subsample: number): Frame[] {
  if (subsample === 1) return frames;
  return frames.map((frame) => ({ ...frame, n: (frame.n - 1) * subsample + 1 }));
}
