import {
  CANCELLED_REASON,
  FAILURE_LOG_PREFIX,
  type JobData,
  type JobFailure,
  type JobProgress,
  type JobResult,
  type JobState,
  type QualitySummary,
  redactSpec,
  traceIdOf,
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
  /** PSNR/SSIM/VMAF summary when quality was asked for, or why it was not measured. */
  quality: QualitySummary | null;
  /** The job's quality record (ffqm JSON) in the metrics bucket. */
  metricsUrl: string | null;
  /** The job's trace (W3C trace id), to look up in Jaeger or Tempo. */
  traceId: string | null;
  spec: JobData['spec'];
  links: JobLinks;
}

export interface JobLinks {
  self: string;
  events: string;
  /** The trace in the tracing UI, when the gateway knows its address (FFLEET_TRACE_UI_URL). */
  trace?: string;
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

/** A job's links; `traceUiUrl` is the tracing UI's address of a trace, without the id. */
export function jobLinks(id: string, traceId?: string, traceUiUrl?: string): JobLinks {
  const links: JobLinks = { self: `/v1/jobs/${id}`, events: `/v1/jobs/${id}/events` };
  if (traceId && traceUiUrl) links.trace = `${traceUiUrl}${traceId}`;
  return links;
}

export function toJobView(
  job: Job<JobData, JobResult>,
  bullState: BullState | 'unknown',
  logs: string[] = [],
  traceUiUrl?: string,
): JobView {
  const state = stateOf(bullState, job.failedReason);
  const traceId = traceIdOf(job.data.traceparent) ?? null;
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
    quality: result?.quality ?? null,
    metricsUrl: result?.metricsUrl ?? null,
    traceId,
    spec: redactSpec(job.data.spec),
    links: jobLinks(job.id!, traceId ?? undefined, traceUiUrl),
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
