import { classifyError, type JobFailure, type SelfDescribingError } from '@ffleet/core';

/** ffmpeg refused the command or the input (non-zero exit): permanent, carries stderr. */
export class FfmpegFailedError extends Error implements SelfDescribingError {
  readonly code = 'ffmpeg_failed';
  readonly permanent = true;
  readonly exitCode: number | null;
  readonly stderr: string[];
  constructor(exitCode: number | null, stderr: string[]) {
    super(`ffmpeg exited with code ${exitCode}: ${stderr.at(-1) ?? 'no output'}`);
    this.name = 'FfmpegFailedError';
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}

export class JobTimeoutError extends Error implements SelfDescribingError {
  readonly code = 'timeout';
  readonly permanent = true;
  readonly stderr: string[];
  constructor(seconds: number, stderr: string[]) {
    super(`ffmpeg ran longer than the job's timeout of ${seconds}s and was killed`);
    this.name = 'JobTimeoutError';
    this.stderr = stderr;
  }
}

export class OutputTooLargeError extends Error implements SelfDescribingError {
  readonly code = 'output_too_large';
  readonly permanent = true;
  constructor(limitBytes: number) {
    super(`the job wrote more than ${Math.round(limitBytes / 1024 / 1024)} MiB and was stopped`);
    this.name = 'OutputTooLargeError';
  }
}

/**
 * A job over one of the pool's resource limits (ffmpeg's memory, its largest allocation, an
 * output frame's size, an input's duration): permanent, since the same job would do it again
 * on any worker of the pool. `message` says which limit, with the job's value and the limit's.
 */
export class ResourceLimitError extends Error implements SelfDescribingError {
  readonly code = 'resource_limit';
  readonly permanent = true;
  readonly stderr: string[];
  constructor(message: string, stderr: string[] = []) {
    super(message);
    this.name = 'ResourceLimitError';
    this.stderr = stderr;
  }
}

/** The job was cancelled by a user (DELETE /v1/jobs/:id). */
export class JobCancelledError extends Error implements SelfDescribingError {
  readonly code = 'cancelled';
  readonly permanent = true;
  constructor() {
    super('cancelled by request');
    this.name = 'JobCancelledError';
  }
}

/** The worker is shutting down and gives the job back to the queue: another worker runs it. */
export class ShutdownError extends Error implements SelfDescribingError {
  readonly code = 'shutdown';
  readonly permanent = false;
  constructor() {
    super('worker shutting down');
    this.name = 'ShutdownError';
  }
}

/** Failures that retrying cannot fix. Anything else (network, S3 5xx, Redis) is retried. */
export function isPermanent(error: unknown): boolean {
  return classifyError(error).permanent;
}

/** A failure as the job's `error` shows it, with ffmpeg's last stderr lines when it has them. */
export function describeFailure(error: unknown): JobFailure {
  const failure: JobFailure = {
    code: classifyError(error).code,
    message: (error as Error | undefined)?.message ?? String(error),
  };
  const stderr = (error as { stderr?: unknown } | undefined)?.stderr;
  if (Array.isArray(stderr)) failure.stderr = stderr;
  if (error instanceof FfmpegFailedError) failure.exitCode = error.exitCode;
  return failure;
}
