import { join } from 'node:path';
import {
  buildArgv,
  type CommandPlan,
  DEFAULT_TIMEOUT_SECONDS,
  FfleetError,
  type JobProgress,
  NO_LIMITS,
  outputPath,
  type ProgressSnapshot,
  percentOf,
  probeInputArgs,
  runFfmpeg,
  SPAN,
} from '@ffleet/core';
import type { Span } from '@opentelemetry/api';
import { inputDurationFailure, limitFailure } from '../../ffmpeg/limits.ts';
import { probeDurationSeconds, videoStreamLength } from '../../ffmpeg/probe.ts';
import type { JobContext } from '../context.ts';
import { directoryBytes } from '../disk-usage.ts';
import { FfmpegFailedError, JobTimeoutError, OutputTooLargeError } from '../errors.ts';
import { stage } from '../stage.ts';

const SIZE_CHECK_INTERVAL_MS = 1000;
/** Progress becomes a span event at each 5 % step, or every 10 s when the duration is unknown. */
const PROGRESS_EVENT_STEP_PERCENT = 5;
const PROGRESS_EVENT_INTERVAL_MS = 10_000;

/**
 * The first input's duration (ffprobe, with the job's own input hardening), which ffmpeg's
 * progress is a percent of; unknown for stills and streams. Learnt before the ffmpeg stage,
 * whose progress means ffmpeg is running. A pipeline's child is told the seconds it covers by
 * its parent, which analysed the source: it probes only when the pool limits input durations.
 */
export async function probeInputDuration(ctx: JobContext): Promise<void> {
  const maxSeconds = ctx.deps.maxInputSeconds ?? 0;
  const covered = ctx.job.data.role?.durationSeconds;
  if (covered !== undefined && !maxSeconds) {
    ctx.facts.mediaDurationSeconds = covered;
    return;
  }
  // Every input counts against the pool's duration limit; only the first when there is none.
  const count = maxSeconds ? ctx.plan.inputs.length : 1;
  const durations: (number | undefined)[] = [];
  for (let i = 0; i < count; i++)
    durations.push(await probeDurationSeconds(ctx.deps.ffprobePath, probeInputArgs(ctx.plan, ctx.layout, i)));
  ctx.facts.mediaDurationSeconds = durations[0];
  const overLimit = inputDurationFailure(durations, maxSeconds);
  if (overLimit) throw overLimit;
}

/**
 * Runs the job's ffmpeg command in its work dir, with the job's timeout and the worker's
 * output size limit, reporting ffmpeg's progress against the first input's duration. `plan` is
 * the job's own, or its command at the CRF a quality target chose.
 */
export function runCommand(ctx: JobContext, plan: CommandPlan = ctx.plan): Promise<void> {
  return stage(ctx, 'ffmpeg', async ({ span, setTime }) => {
    const duration = ctx.facts.mediaDurationSeconds;
    if (duration !== undefined) span.setAttribute(SPAN.mediaDurationSeconds, duration);
    const timeoutSeconds = ctx.spec.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
    const sizeGuard = watchOutputSize(ctx);
    const limits = ctx.deps.ffmpegLimits ?? NO_LIMITS;
    const argv = buildArgv(plan, ctx.layout, limits);
    ctx.log.info({ argv }, 'running ffmpeg');
    const run = await runFfmpeg({
      binary: ctx.deps.ffmpegPath,
      argv,
      ...(limits.memoryBytes ? { addressSpaceBytes: limits.memoryBytes } : {}),
      cwd: ctx.workDir,
      timeoutMs: timeoutSeconds * 1000,
      signal: AbortSignal.any([ctx.signal, sizeGuard.signal]),
      onProgress: progressReporter(ctx, span, duration),
    }).finally(sizeGuard.stop);
    if (run.exitCode !== null) span.setAttribute(SPAN.exitCode, run.exitCode);
    const speed = run.lastProgress?.speed;
    if (speed) span.setAttribute(SPAN.speed, speed);
    setTime(run.durationMs);
    if (sizeGuard.signal.aborted) throw new OutputTooLargeError(ctx.deps.maxOutputBytes);
    ctx.throwIfAborted();
    if (run.stoppedBy === 'timeout') throw new JobTimeoutError(timeoutSeconds, run.stderrTail);
    const overLimit = limitFailure(run, limits);
    if (overLimit) throw overLimit;
    if (run.exitCode !== 0) throw new FfmpegFailedError(run.exitCode, run.stderrTail);

    ctx.facts.speed = speed;
    if (run.lastProgress?.done) ctx.facts.framesEncoded = run.lastProgress.frame;
    if (duration !== undefined) ctx.jobSpan.setAttribute(SPAN.mediaDurationSeconds, duration);
    if (speed) ctx.jobSpan.setAttribute(SPAN.speed, speed);
  });
}

/**
 * Aborts its signal when what ffmpeg writes into `dir` (the job's outputs unless told) grows
 * past the worker's limit (checked every second).
 */
export function watchOutputSize(
  ctx: JobContext,
  dir = join(ctx.workDir, 'out'),
): { signal: AbortSignal; stop: () => void } {
  const guard = new AbortController();
  const timer = setInterval(async () => {
    if ((await directoryBytes(dir)) > ctx.deps.maxOutputBytes) guard.abort('size');
  }, SIZE_CHECK_INTERVAL_MS);
  return { signal: guard.signal, stop: () => clearInterval(timer) };
}

/** ffmpeg's progress as the job's (throttled), and as `progress` events on the stage's span. */
function progressReporter(
  ctx: JobContext,
  span: Span,
  duration: number | undefined,
): (snapshot: ProgressSnapshot) => void {
  let lastEvent = { step: -1, at: performance.now() };
  return (snapshot) => {
    const progress: JobProgress = {
      stage: 'ffmpeg',
      percent: percentOf(snapshot, duration),
      fps: snapshot.fps,
      speed: snapshot.speed,
      outTimeSeconds: snapshot.outTimeSeconds,
    };
    ctx.report(progress);
    const step = Math.floor(progress.percent / PROGRESS_EVENT_STEP_PERCENT);
    const now = performance.now();
    if (
      step > lastEvent.step ||
      (duration === undefined && now - lastEvent.at >= PROGRESS_EVENT_INTERVAL_MS)
    ) {
      lastEvent = { step, at: now };
      span.addEvent('progress', progressAttributes(progress));
    }
  };
}

function progressAttributes(progress: JobProgress): Record<string, number> {
  const attributes: Record<string, number> = { percent: Math.round(progress.percent * 10) / 10 };
  if (progress.fps !== undefined) attributes.fps = progress.fps;
  if (progress.speed !== undefined) attributes.speed = progress.speed;
  if (progress.outTimeSeconds !== undefined) attributes.out_time_seconds = progress.outTimeSeconds;
  return attributes;
}

/**
 * A chunk of a chunked encode must hold exactly the frames its plan counted: a frame lost or
 * added would shift everything after it in the join. Checked before the chunk is uploaded,
 * against ffmpeg's own count of the frames it encoded (its closing progress report: no
 * second process per chunk), or ffprobe's count of the written file when ffmpeg gave none.
 */
export async function checkPlannedFrames(ctx: JobContext): Promise<void> {
  const planned = ctx.job.data.role?.frames;
  if (planned === undefined) return;
  const written =
    ctx.facts.framesEncoded ??
    (await videoStreamLength(ctx.deps.ffprobePath, outputPath(ctx.plan, ctx.layout, 0))).frames;
  ctx.jobSpan.setAttribute(SPAN.frames, written);
  if (written !== planned)
    throw new FfleetError(
      'chunk_mismatch',
      `the chunk encode wrote ${written} frames where the plan has ${planned}`,
      422,
      { planned, written },
    );
}
