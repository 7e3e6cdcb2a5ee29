import {
  CANCELLED_REASON,
  type JobFailure,
  type JobState,
  STALLED_REASON,
  WORKER_LOST_FAILURE,
} from '@ffleet/core';
import type { Job } from 'bullmq';

/** Whether a 'failed' event is the job's last word (no retry will follow), and as what state. */
export function finalFailureState(job: Job, error: Error): JobState | undefined {
  const unrecoverable = error.name === 'UnrecoverableError';
  if (!unrecoverable && job.attemptsMade < (job.opts.attempts ?? 1)) return undefined;
  return error.message.startsWith(CANCELLED_REASON) ? 'cancelled' : 'failed';
}

/**
 * Why a job failed as its webhook and job view say it: what the processor recorded, or, for a
 * job BullMQ failed itself after it lost its worker too often, `worker_lost`.
 */
export function failureOf(error: Error, recorded: JobFailure | undefined): JobFailure {
  if (recorded) return recorded;
  if (error.message === STALLED_REASON) return WORKER_LOST_FAILURE;
  return { code: 'failed', message: error.message };
}
