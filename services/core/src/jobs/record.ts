import type { JobSpec } from './spec.ts';

/** What the gateway stores in a BullMQ job, and what the worker reads back. */
export interface JobData {
  spec: JobSpec;
  pool: string;
  submittedAt: number;
  /** W3C trace context of the submitting request, so the worker continues its trace. */
  traceparent?: string;
}

export type Stage = 'queued' | 'download' | 'ffmpeg' | 'upload' | 'quality' | 'done';

/** Stored with `job.updateProgress`. */
export interface JobProgress {
  stage: Stage;
  percent: number;
  fps?: number;
  speed?: number;
  outTimeSeconds?: number;
}

export interface OutputResult {
  url: string;
  bytes: number;
  /** For folder outputs: every object uploaded under it. */
  files?: { url: string; bytes: number }[];
}

/** PSNR/SSIM/VMAF of a job's first output against its first input, or why there are none. */
export interface QualitySummary {
  /** `not_applicable`: nothing to compare (no video, a folder output, …); `failed`: measuring broke. Neither fails the job. */
  status: 'measured' | 'not_applicable' | 'failed';
  /** Mean per-frame PSNR in dB (capped at 100: identical frames). */
  psnr?: number;
  /** Mean per-frame SSIM (1 = identical). */
  ssim?: number;
  vmaf?: number;
  /** Why VMAF was not measured (e.g. this ffmpeg has no libvmaf). */
  vmafUnavailable?: string;
  /** Frames compared. */
  frames?: number;
  /**
   * `full`: every frame was compared. `sampled`: `windows` short runs of consecutive frames
   * spread over the video, or, in a video too short for them, every `subsample`-th frame.
   */
  mode?: 'sampled' | 'full';
  /** Every how many output frames one was compared: 1 in full mode and inside windows. */
  subsample?: number;
  /** How many windows were compared, when the sampled measurement used windows. */
  windows?: number;
  /** Why there is no measurement, for `not_applicable` and `failed`. */
  reason?: string;
}

/** The worker's return value, stored as the BullMQ job's return value. */
export interface JobResult {
  outputs: OutputResult[];
  /** Milliseconds per stage; `queue` is submission to start, `quality` the quality measurement. */
  timings: {
    download: number;
    ffmpeg: number;
    upload: number;
    total: number;
    queue?: number;
    quality?: number;
  };
  inputBytes: number;
  mediaDurationSeconds?: number;
  speed?: number;
  worker: string;
  /** Present when quality was asked for (by the job or the fleet default). */
  quality?: QualitySummary;
  /** The quality record (ffqm JSON) in the metrics bucket. */
  metricsUrl?: string;
  /** The timing record in the metrics bucket. */
  timingsUrl?: string;
}

/** Details of a failure, logged to the job (BullMQ keeps only a message as failedReason). */
export interface JobFailure {
  code: string;
  message: string;
  stderr?: string[];
  exitCode?: number | null;
}

export type JobState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

/** Whether a job in this state will not change any more. */
export function isFinishedState(state: string): boolean {
  return state === 'succeeded' || state === 'failed' || state === 'cancelled';
}

/** Redis keys ffleet uses beside BullMQ's own. */
export const keys = {
  cancelChannel: (prefix: string) => `${prefix}:cancel`,
  cancelMarker: (prefix: string, id: string) => `${prefix}:cancelled:${id}`,
  idempotency: (prefix: string, key: string) => `${prefix}:idempotency:${key}`,
  workers: (prefix: string, pool: string) => `${prefix}:workers:${pool}`,
  worker: (prefix: string, workerId: string) => `${prefix}:worker:${workerId}`,
};

/** Prefix of job log lines that carry a JobFailure as JSON. */
export const FAILURE_LOG_PREFIX = 'ffleet-failure ';
export const CANCELLED_REASON = 'cancelled';
