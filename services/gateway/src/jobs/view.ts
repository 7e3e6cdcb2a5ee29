import {
  CANCELLED_REASON,
  FAILURE_LOG_PREFIX,
  type JobData,
  type JobFailure,
  type JobProgress,
  type JobResult,
  type JobState,
} from '@ffleet/core';
import type { JobState as BullState, Job } from 'bullmq';

/** What `GET /v1/jobs/:id` returns. */
export interface JobView {
  id: string;
  name: string;
  pool: string;
  state: JobState;
  progress: JobProgress | null;
  attempts: { made: number; max: number };
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  timings: JobResult['timings'] | null;
  outputs: JobResult['outputs'] | null;
  media: { durationSeconds: number | null; speed: number | null } | null;
  error: JobFailure | null;
  spec: JobData['spec'];
  links: { self: string; events: string };
}

export function stateOf(bullState: BullState | 'unknown', failedReason?: string): JobState {
  switch (bullState) {
    case 'active':
      return 'running';
    case 'completed':
      return 'succeeded';
    case 'failed':
      return failedReason?.startsWith(CANCELLED_REASON) ? 'cancelled' : 'failed';
    default:
      return 'queued';
  }
}

export function jobLinks(id: string): JobView['links'] {
  return { self: `/v1/jobs/${id}`, events: `/v1/jobs/${id}/events` };
}

export function toJobView(
  job: Job<JobData, JobResult>,
  bullState: BullState | 'unknown',
  logs: string[] = [],
): JobView {
  const state = stateOf(bullState, job.failedReason);
  const result = state === 'succeeded' ? job.returnvalue : null;
  const progress =
    typeof job.progress === 'object' && job.progress !== null ? (job.progress as JobProgress) : null;
  return {
    id: job.id!,
    name: job.data.spec.name,
    pool: job.data.pool,
    state,
    progress: state === 'succeeded' ? { stage: 'done', percent: 100 } : progress,
    attempts: { made: job.attemptsMade, max: job.opts.attempts ?? 1 },
    createdAt: new Date(job.timestamp).toISOString(),
    startedAt: job.processedOn ? new Date(job.processedOn).toISOString() : null,
    finishedAt:
      job.finishedOn && state !== 'queued' && state !== 'running'
        ? new Date(job.finishedOn).toISOString()
        : null,
    timings: result?.timings ?? null,
    outputs: result?.outputs ?? null,
    media: result
      ? { durationSeconds: result.mediaDurationSeconds ?? null, speed: result.speed ?? null }
      : null,
    error: state === 'failed' || state === 'cancelled' ? failureOf(job, logs) : null,
    spec: job.data.spec,
    links: jobLinks(job.id!),
  };
}

/** The worker logs a JSON JobFailure before failing a job; fall back to BullMQ's reason. */
function failureOf(job: Job, logs: string[]): JobFailure {
  for (let i = logs.length - 1; i >= 0; i--) {
    const line = logs[i]!;
    if (line.startsWith(FAILURE_LOG_PREFIX)) {
      try {
        return JSON.parse(line.slice(FAILURE_LOG_PREFIX.length)) as JobFailure;
      } catch {
        break;
      }
    }
  }
  return { code: 'failed', message: job.failedReason || 'job failed' };
}
