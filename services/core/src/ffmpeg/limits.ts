import type { CommandPlan, PlannedInput, PlannedOutput } from './command.ts';
import type { ParsedOption } from './options.ts';

/**
 * What one ffmpeg of a job may take: the pool's worker settings. buildArgv turns the ones
 * ffmpeg enforces itself into options; the worker's runner adds the address-space limit.
 */
export interface FfmpegLimits {
  /** Address space (RLIMIT_AS, set by the runner); 0: unlimited. */
  memoryBytes: number;
  /** ffmpeg's `-max_alloc`: its largest single allocation; 0: ffmpeg's default. */
  maxAllocBytes: number;
  /** Threads of each decoder, encoder and filter graph; 0: ffmpeg's own choice. */
  threads: number;
  /** Pixels (width × height) of a frame any encoder of the job may take; 0: no limit. */
  maxOutputPixels: number;
}

export const NO_LIMITS: FfmpegLimits = { memoryBytes: 0, maxAllocBytes: 0, threads: 0, maxOutputPixels: 0 };

/** Options that set a thread count; a job's own value is lowered to the pool's cap. */
const THREAD_OPTIONS = new Set(['threads', 'filter_threads', 'filter_complex_threads']);

/**
 * Global options that enforce the limits: `-max_alloc`, and the filter graphs' threads. They go
 * before the job's own global options, so a job's lower `-filter_threads` wins; a job cannot
 * set `-max_alloc` (the option table refuses it).
 */
export function limitGlobalArgs(limits: FfmpegLimits): string[] {
  return [
    ...(limits.maxAllocBytes ? ['-max_alloc', String(limits.maxAllocBytes)] : []),
    ...(limits.threads
      ? ['-filter_threads', String(limits.threads), '-filter_complex_threads', String(limits.threads)]
      : []),
  ];
}

/**
 * The cap as an input's or output's `-threads`. It goes before that input's or output's own
 * options: ffmpeg takes the last value that matches a stream, so a job's own count (already
 * lowered to the cap) wins where it applies, and the cap covers every other stream.
 */
export function threadArgs(limits: FfmpegLimits): string[] {
  return limits.threads ? ['-threads', String(limits.threads)] : [];
}

/**
 * After an output's own options: `-max_pixels`, with which ffmpeg refuses to open an encoder
 * for bigger frames ("Picture size WxH exceeds specified max pixel count N"; every encoder,
 * FFmpeg 5.1 and 7.1 alike, checks it on open).
 */
export function maxPixelsArgs(limits: FfmpegLimits): string[] {
  return limits.maxOutputPixels ? ['-max_pixels', String(limits.maxOutputPixels)] : [];
}

/**
 * The plan with the pool's limits written in: any thread count the job set itself
 * (`-threads`, `-threads:v`, `-filter_threads`, `auto` or 0 included) lowered to the cap, the
 * cap itself before the job's own options of each scope (global, every input, every output),
 * and `-max_pixels` after every output's. A thread count only changes speed, so a job asking
 * for more is not refused: it runs with what the pool allows; one asking for fewer gets fewer.
 */
export function limitPlan(plan: CommandPlan, limits: FfmpegLimits): CommandPlan {
  const global = capThreads(plan.globalOptions, limits.threads);
  const threads = threadArgs(limits);
  return {
    ...plan,
    global: [...limitGlobalArgs(limits), ...withCapped(plan.global, global)],
    globalOptions: global,
    inputs: plan.inputs.map((input): PlannedInput => {
      const options = capThreads(input.options, limits.threads);
      return { ...input, options, args: [...threads, ...withCapped(input.args, options)] };
    }),
    outputs: plan.outputs.map((output): PlannedOutput => {
      const options = capThreads(output.options, limits.threads);
      return {
        ...output,
        options,
        args: [...threads, ...withCapped(output.args, options), ...maxPixelsArgs(limits)],
        // The file names buildArgv places moved along with the options.
        placed: output.placed.map((arg) => ({ ...arg, at: arg.at + threads.length })),
      };
    }),
  };
}

/**
 * Options with every thread count above `cap` lowered to it; `auto` and 0 (one per CPU or more)
 * too, and so are the thread counts inside encoder parameter strings (`-x264-params threads=16`).
 */
function capThreads(options: readonly ParsedOption[], cap: number): readonly ParsedOption[] {
  if (!cap) return options;
  return options.map((option) => {
    if (option.value === undefined) return option;
    if (THREAD_OPTIONS.has(option.name)) return { ...option, value: capCount(option.value, cap) };
    if (option.kind === 'params') return { ...option, value: capParams(option.value, cap) };
    return option;
  });
}

/**
 * Encoder parameters that set a thread or processor count: x264's threads and lookahead
 * threads, x265's frame threads and thread pools, SVT-AV1's logical processors, libaom's threads.
 */
const THREAD_PARAMS = new Set([
  'threads',
  'lookahead-threads',
  'lookahead_threads',
  'frame-threads',
  'pools',
  'numa-pools',
  'lp',
]);

/** `key=value:key=value` parameters (checked by the option table) with their thread counts capped. */
function capParams(value: string, cap: number): string {
  return value
    .split(':')
    .map((pair) => {
      const eq = pair.indexOf('=');
      if (eq < 0 || !THREAD_PARAMS.has(pair.slice(0, eq))) return pair;
      return `${pair.slice(0, eq)}=${capCount(pair.slice(eq + 1), cap)}`;
    })
    .join(':');
}

/** A thread count at most `cap`: a number above it, `auto`, 0 or anything else becomes the cap. */
function capCount(value: string, cap: number): string {
  const asked = Number(value);
  return Number.isInteger(asked) && asked > 0 && asked <= cap ? value : String(cap);
}

/** `args` (the flattened options, maybe with more after them) with the options' values put back. */
function withCapped(args: string[], options: readonly ParsedOption[]): string[] {
  const result = [...args];
  let at = 0;
  for (const option of options) {
    if (option.value !== undefined) {
      result[at + 1] = option.value;
      at += 2;
    } else at += 1;
  }
  return result;
}
