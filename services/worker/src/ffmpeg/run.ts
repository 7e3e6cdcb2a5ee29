import { spawn } from 'node:child_process';
import { ProgressParser, type ProgressSnapshot } from '@ffleet/core';

export interface FfmpegRunOptions {
  ffmpegPath: string;
  argv: string[];
  cwd: string;
  timeoutMs: number;
  signal?: AbortSignal;
  onProgress?: (snapshot: ProgressSnapshot) => void;
  /** How many of ffmpeg's last stderr lines to keep for the error report. */
  stderrLines?: number;
  /** Kill ffmpeg when the work dir grows beyond this many bytes (checked by the caller). */
}

export interface FfmpegRunResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stderrTail: string[];
  durationMs: number;
  lastProgress?: ProgressSnapshot;
  /** Why ffmpeg was stopped early, if it was. */
  stoppedBy?: 'timeout' | 'abort';
}

/**
 * ffmpeg's whole environment: PATH, plus the variables named in FFLEET_FFMPEG_ENV (for
 * vendor builds that need them, e.g. the Xilinx Video SDK's XILINX_XRT). Nothing else of the
 * worker's environment (credentials, tokens) reaches ffmpeg.
 */
export function ffmpegEnvironment(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const result: Record<string, string> = { PATH: env.PATH ?? '/usr/bin:/bin' };
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

/**
 * Runs ffmpeg with a fixed, minimal environment (PATH only), no stdin, cwd in the job's work
 * dir, never through a shell. A wall-clock timeout or an abort kills the whole process group.
 */
export function runFfmpeg(options: FfmpegRunOptions): Promise<FfmpegRunResult> {
  const started = performance.now();
  const keep = options.stderrLines ?? 20;
  return new Promise((resolve, reject) => {
    const child = spawn(options.ffmpegPath, options.argv, {
      cwd: options.cwd,
      env: ffmpegEnvironment(),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const tail: string[] = [];
    let partial = '';
    let lastProgress: ProgressSnapshot | undefined;
    let stoppedBy: FfmpegRunResult['stoppedBy'];
    const parser = new ProgressParser((snapshot) => {
      lastProgress = snapshot;
      options.onProgress?.(snapshot);
    });
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => parser.push(chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (partial + chunk).split(/\r?\n|\r/);
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (line.trim() === '') continue;
        tail.push(line.slice(0, 500));
        if (tail.length > keep) tail.shift();
      }
    });

    const kill = (why: 'timeout' | 'abort') => {
      stoppedBy ??= why;
      try {
        // Negative pid: the whole group, in case ffmpeg spawned helpers.
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const timer = setTimeout(() => kill('timeout'), options.timeoutMs);
    const onAbort = () => kill('abort');
    if (options.signal?.aborted) onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });

    child.once('error', (error) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      reject(error);
    });
    child.once('close', (exitCode, signal) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      if (partial.trim()) tail.push(partial.slice(0, 500));
      resolve({
        exitCode,
        signal,
        stderrTail: tail.slice(-keep),
        durationMs: performance.now() - started,
        ...(lastProgress ? { lastProgress } : {}),
        ...(stoppedBy ? { stoppedBy } : {}),
      });
    });
  });
}
