import type { JobSpec } from './spec.ts';

/** What the gateway stores in a BullMQ job, and what the worker reads back. */
export interface JobData {
  spec: JobSpec;
  pool: string;
  submittedAt: number;
  /** W3C trace context of the submitting request, so the worker continues its trace. */
  traceparent?: string;
}

export type Stage = 'queued' | 'download' | 'ffmpeg' | 'upload' | 'done';

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

/** The worker's return value, stored as the BullMQ job's return value. */
export interface JobResult {
  outputs: OutputResult[];
  /** Milliseconds per stage. */
  timings: { download: number; ffmpeg: number; upload: number; total: number };
  inputBytes: number;
  mediaDurationSeconds?: number;
  speed?: number;
  worker: string;
}

/** Details of a failure, logged to the job (BullMQ keeps only a message as failedReason). */
export interface JobFailure {
  code: string;
  message: string;
  stderr?: string[];
  exitCode?: number | null;
}

export type JobState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

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
