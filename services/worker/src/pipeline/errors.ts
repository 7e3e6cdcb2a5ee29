import { FfleetError, InputMissingError, type JobFailure, StorageAccessError } from '@ffleet/core';

/** ffmpeg refused the command or the input (non-zero exit): permanent, carries stderr. */
export class FfmpegFailedError extends Error {
  readonly exitCode: number | null;
  readonly stderr: string[];
  constructor(exitCode: number | null, stderr: string[]) {
    super(`ffmpeg exited with code ${exitCode}: ${stderr.at(-1) ?? 'no output'}`);
    this.name = 'FfmpegFailedError';
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}

export class JobTimeoutError extends Error {
  readonly stderr: string[];
  constructor(seconds: number, stderr: string[]) {
    super(`ffmpeg ran longer than the job's timeout of ${seconds}s and was killed`);
    this.name = 'JobTimeoutError';
    this.stderr = stderr;
  }
}

export class OutputTooLargeError extends Error {
  constructor(limitBytes: number) {
    super(`the job wrote more than ${Math.round(limitBytes / 1024 / 1024)} MiB and was stopped`);
    this.name = 'OutputTooLargeError';
  }
}

/** The job was cancelled by a user (DELETE /v1/jobs/:id). */
export class JobCancelledError extends Error {
  constructor() {
    super('cancelled by request');
    this.name = 'JobCancelledError';
  }
}

/** The worker is shutting down and gives the job back to the queue. */
export class ShutdownError extends Error {
  constructor() {
    super('worker shutting down');
    this.name = 'ShutdownError';
  }
}

/** Failures that retrying cannot fix. Anything else (network, S3 5xx, Redis) is retried. */
export function isPermanent(error: unknown): boolean {
  return (
    error instanceof FfleetError ||
    error instanceof InputMissingError ||
    error instanceof StorageAccessError ||
    error instanceof FfmpegFailedError ||
    error instanceof JobTimeoutError ||
    error instanceof OutputTooLargeError ||
    error instanceof JobCancelledError
  );
}

export function describeFailure(error: unknown): JobFailure {
  const e = error as Error;
  if (error instanceof FfmpegFailedError) {
    return { code: 'ffmpeg_failed', message: e.message, stderr: error.stderr, exitCode: error.exitCode };
  }
  if (error instanceof JobTimeoutError) return { code: 'timeout', message: e.message, stderr: error.stderr };
  if (error instanceof FfleetError) return { code: error.code, message: e.message };
  if (error instanceof InputMissingError) return { code: 'input_missing', message: e.message };
  if (error instanceof StorageAccessError) return { code: 'storage_access', message: e.message };
  if (error instanceof OutputTooLargeError) return { code: 'output_too_large', message: e.message };
  if (error instanceof JobCancelledError) return { code: 'cancelled', message: e.message };
  return { code: 'transient', message: e?.message ?? String(error) };
}
