import {
  type FfmpegLimits,
  type FfmpegRunOptions,
  type FfmpegRunResult,
  limitGlobalArgs,
  NO_LIMITS,
  runFfmpeg,
} from '@ffleet/core';
import { ResourceLimitError } from '../pipeline/errors.ts';

/**
 * How a job's ffmpeg run went over the pool's limits, as the `resource_limit` error names it.
 * The limits themselves are ffmpeg's options (buildArgv) and the runner's address-space limit.
 */

/** How ffmpeg and the libraries it uses (x264's "malloc of size N failed") report a failed allocation. */
const OUT_OF_MEMORY = /Cannot allocate memory|Out of memory|ENOMEM|malloc of size \d+ failed/i;

/** What libavutil prints when an encoder is opened for a frame over `-max_pixels`. */
const OVER_MAX_PIXELS = /Picture size (\d+)x(\d+) exceeds specified max pixel count (\d+)/;

/**
 * Runs one of a pipeline's own ffmpeg commands (cutting, joining, packaging, pictures: argv
 * built by the pipeline, not from a job's options) under the pool's limits: its memory limit,
 * and the global limit options. A run that went over one fails with `resource_limit`.
 */
export async function runLimitedFfmpeg(
  limits: FfmpegLimits = NO_LIMITS,
  options: FfmpegRunOptions,
): Promise<FfmpegRunResult> {
  const run = await runFfmpeg({
    ...options,
    argv: [...limitGlobalArgs(limits), ...options.argv],
    ...(limits.memoryBytes ? { addressSpaceBytes: limits.memoryBytes } : {}),
  });
  const overLimit = limitFailure(run, limits);
  if (overLimit) throw overLimit;
  return run;
}

const mib = (bytes: number) => `${Math.round(bytes / 1024 / 1024)} MiB`;

/** The run's failure when it went over one of `limits`; undefined when it did not (or succeeded). */
export function limitFailure(run: FfmpegRunResult, limits: FfmpegLimits): ResourceLimitError | undefined {
  if (run.exitCode === 0 || run.stoppedBy) return undefined;
  const frame = overFrameSize(run.stderrTail, limits);
  if (frame) return frame;
  if (wentOverMemory(run) && (limits.memoryBytes || limits.maxAllocBytes))
    return new ResourceLimitError(
      `ffmpeg went over the pool's ${memoryLimitName(limits)} and was stopped`,
      run.stderrTail,
    );
  return undefined;
}

/** An encoder refused a frame over the pool's output frame size (`-max_pixels`). */
function overFrameSize(stderr: string[], limits: FfmpegLimits): ResourceLimitError | undefined {
  if (!limits.maxOutputPixels) return undefined;
  for (const line of stderr) {
    const match = OVER_MAX_PIXELS.exec(line);
    if (!match) continue;
    const [, width, height] = match;
    const pixels = Number(width) * Number(height);
    return new ResourceLimitError(
      `the output frame size ${width}×${height} (${pixels} pixels) is over the pool's output frame size limit of ${limits.maxOutputPixels} pixels (FFLEET_MAX_OUTPUT_PIXELS); ffmpeg was stopped`,
      stderr,
    );
  }
  return undefined;
}

/**
 * ffmpeg could not get memory: an allocation failed under the address-space limit or
 * `-max_alloc` (ENOMEM, which ffmpeg reports as "Cannot allocate memory"), or a library it uses
 * aborted or crashed on a failed allocation.
 */
function wentOverMemory(run: FfmpegRunResult): boolean {
  return (
    run.signal === 'SIGABRT' ||
    run.signal === 'SIGSEGV' ||
    run.stderrTail.some((line) => OUT_OF_MEMORY.test(line))
  );
}

/** The memory limits a job could have gone over, as the error names them. */
function memoryLimitName(limits: FfmpegLimits): string {
  return [
    limits.memoryBytes ? `memory limit (FFLEET_FFMPEG_MEMORY_MB, ${mib(limits.memoryBytes)})` : '',
    limits.maxAllocBytes
      ? `largest allocation (FFLEET_FFMPEG_MAX_ALLOC_MB, ${mib(limits.maxAllocBytes)}; it bounds a frame's size)`
      : '',
  ]
    .filter(Boolean)
    .join(' or ');
}

/**
 * An input longer than the pool allows (checked on ffprobe's duration before ffmpeg runs;
 * an input whose duration ffprobe cannot tell, a still or a stream, passes).
 */
export function inputDurationFailure(
  durations: readonly (number | undefined)[],
  maxSeconds: number,
): ResourceLimitError | undefined {
  if (!maxSeconds) return undefined;
  const index = durations.findIndex((seconds) => seconds !== undefined && seconds > maxSeconds);
  if (index < 0) return undefined;
  return new ResourceLimitError(
    `inputs[${index}] lasts ${durations[index]!.toFixed(1)} s, over the pool's input duration limit of ${maxSeconds} s (FFLEET_MAX_INPUT_SECONDS)`,
  );
}
