import { spawn } from 'node:child_process';
import { ProgressParser, type ProgressSnapshot } from './progress.ts';

/**
 * The one way ffleet starts ffmpeg and ffprobe: the job's command, the duration probe, the
 * capability probe, the quality measurement, and the tests that make media. Never through a
 * shell, no stdin, a fixed environment, a wall-clock timeout, and a kill of the whole process
 * group when stopped.
 */
export interface FfmpegRunOptions {
  /** The binary: ffmpeg or ffprobe (a vendor build of either, a wrapper). */
  binary: string;
  argv: string[];
  /** Working directory; the job's work dir for a job's command. */
  cwd?: string;
  timeoutMs: number;
  /** Aborting kills the process group (a cancelled job, a worker shutting down). */
  signal?: AbortSignal;
  /** Reads stdout as ffmpeg's `-progress pipe:1` stream (the argv must ask for it). */
  onProgress?: (snapshot: ProgressSnapshot) => void;
  /** Keeps stdout (ffprobe's JSON, ffmpeg's listings), up to 16 MiB. */
  stdout?: boolean;
  /** How many of the last stderr lines to keep (default 20). */
  stderrLines?: number;
  /**
   * The most address space the process may take (RLIMIT_AS, set by util-linux `prlimit`, which
   * then becomes the binary): an allocation past it fails inside ffmpeg instead of the kernel
   * killing the worker's whole pod for memory.
   */
  addressSpaceBytes?: number;
  /** glibc malloc settings for runs that open many short-lived decoders (FRAMES_GLIBC_TUNABLES). */
  framesMalloc?: boolean;
}

export interface FfmpegRunResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stderrTail: string[];
  /** Empty unless `stdout` was asked for. */
  stdout: string;
  durationMs: number;
  lastProgress?: ProgressSnapshot;
  /** Why the process was stopped early, if it was. */
  stoppedBy?: 'timeout' | 'abort';
}

const MAX_STDOUT_CHARS = 16 * 1024 * 1024;
const MAX_STDERR_LINE = 500;

/**
 * glibc malloc settings for runs that open many short-lived decoders (`framesMalloc`: the
 * quality comparisons, a pair of decoders per window). By default glibc maps every
 * frame-sized buffer on its own and unmaps it when freed, so each new decoder's frames cost
 * page faults again; with these, frames come from a heap on transparent huge pages that is
 * kept between them. Not given to a job's own encode: there `make bench` finds no gain it can
 * tell from noise (`ffmpeg_malloc_*_speedup`), and huge pages may stall on a node short of
 * free memory. Other C libraries ignore the variable.
 */
export const FRAMES_GLIBC_TUNABLES = [
  // Huge pages where the kernel allows them on request (transparent_hugepage `madvise`).
  'glibc.malloc.hugetlb=1',
  // Buffers below 32 MiB (the most glibc accepts here), 4K frame planes included, from the heap…
  'glibc.malloc.mmap_threshold=33554432',
  // …which keeps up to 128 MiB of freed memory for the next frames instead of returning it.
  'glibc.malloc.trim_threshold=134217728',
].join(':');

/**
 * The whole environment of ffmpeg and ffprobe: PATH, the malloc settings above when asked
 * for, plus the variables named in FFLEET_FFMPEG_ENV (vendor builds need some, e.g. the Xilinx
 * Video SDK's XILINX_XRT; an operator's own GLIBC_TUNABLES replaces ffleet's). Nothing else of
 * the worker's environment (credentials, tokens) reaches them.
 */
export function ffmpegEnvironment(
  env: NodeJS.ProcessEnv = process.env,
  options: { framesMalloc?: boolean } = {},
): Record<string, string> {
  const result: Record<string, string> = { PATH: env.PATH ?? '/usr/bin:/bin' };
  if (options.framesMalloc) result.GLIBC_TUNABLES = FRAMES_GLIBC_TUNABLES;
  for (const name of (env.FFLEET_FFMPEG_ENV ?? '').split(',').map((s) => s.trim())) {
    if (
      /^[A-Z_][A-Z0-9_]*$/.test(name) &&
      env[name] !== undefined &&
      !/^AWS_|SECRET|TOKEN|PASSWORD/.test(name)
    ) {
      result[name] = env[name]!;
    }
  }
  return result;
}

/** Runs ffmpeg or ffprobe to the end. Resolves whatever the exit code; rejects only if it cannot start. */
export function runFfmpeg(options: FfmpegRunOptions): Promise<FfmpegRunResult> {
  const started = performance.now();
  const keep = options.stderrLines ?? 20;
  const wantsStdout = options.stdout === true || options.onProgress !== undefined;
  return new Promise((resolve, reject) => {
    const [binary, argv] = options.addressSpaceBytes
      ? ['prlimit', [`--as=${options.addressSpaceBytes}`, '--', options.binary, ...options.argv]]
      : [options.binary, options.argv];
    const child = spawn(binary, argv, {
      cwd: options.cwd,
      env: ffmpegEnvironment(process.env, { framesMalloc: options.framesMalloc === true }),
      stdio: ['ignore', wantsStdout ? 'pipe' : 'ignore', 'pipe'],
      // Its own process group, so a kill reaches anything it started.
      detached: true,
    });
    const tail: string[] = [];
    let partial = '';
    let stdout = '';
    let lastProgress: ProgressSnapshot | undefined;
    let stoppedBy: FfmpegRunResult['stoppedBy'];
    const parser = new ProgressParser((snapshot) => {
      lastProgress = snapshot;
      options.onProgress?.(snapshot);
    });
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      if (options.onProgress) parser.push(chunk);
      else if (stdout.length < MAX_STDOUT_CHARS) stdout += chunk;
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (partial + chunk).split(/\r?\n|\r/);
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (line.trim() === '') continue;
        tail.push(line.slice(0, MAX_STDERR_LINE));
        if (tail.length > keep) tail.shift();
      }
    });

    const kill = (why: 'timeout' | 'abort') => {
      stoppedBy ??= why;
      try {
        // Negative pid: the whole group, in case it started helpers.
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const timer = setTimeout(() => kill('timeout'), options.timeoutMs);
    const onAbort = () => kill('abort');
    if (options.signal?.aborted) onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const settle = () => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    };

    child.once('error', (error) => {
      settle();
      reject(error);
    });
    child.once('close', (exitCode, signal) => {
      settle();
      if (partial.trim()) tail.push(partial.slice(0, MAX_STDERR_LINE));
      resolve({
        exitCode,
        signal,
        stderrTail: tail.slice(-keep),
        stdout,
        durationMs: performance.now() - started,
        ...(lastProgress ? { lastProgress } : {}),
        ...(stoppedBy ? { stoppedBy } : {}),
      });
    });
  });
}

/** ffmpeg or ffprobe exited with an error, or was stopped. Carries its last stderr lines. */
export class FfmpegToolError extends Error {
  readonly exitCode: number | null;
  readonly stderr: string[];
  readonly stoppedBy?: 'timeout' | 'abort';
  constructor(binary: string, run: FfmpegRunResult) {
    const how = run.stoppedBy
      ? `was stopped (${run.stoppedBy})`
      : run.signal
        ? `was killed by ${run.signal}`
        : `exited with code ${run.exitCode}`;
    super(`${binary} ${how}: ${run.stderrTail.at(-1) ?? 'no output'}`);
    this.name = 'FfmpegToolError';
    this.exitCode = run.exitCode;
    this.stderr = run.stderrTail;
    if (run.stoppedBy) this.stoppedBy = run.stoppedBy;
  }
}

/** Runs a command that must succeed; rejects with an FfmpegToolError otherwise. */
export async function runFfmpegChecked(options: FfmpegRunOptions): Promise<FfmpegRunResult> {
  const run = await runFfmpeg(options);
  if (run.exitCode !== 0 || run.stoppedBy) throw new FfmpegToolError(options.binary, run);
  return run;
}

/** stdout of a command that must succeed (ffprobe's JSON, a listing); 30 s unless told. */
export async function ffmpegOutput(
  binary: string,
  argv: string[],
  options: Partial<Omit<FfmpegRunOptions, 'binary' | 'argv' | 'stdout'>> = {},
): Promise<string> {
  const run = await runFfmpegChecked({ timeoutMs: 30_000, ...options, binary, argv, stdout: true });
  return run.stdout;
}
