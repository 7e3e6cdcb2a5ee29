import {
  CANCELLED_REASON,
  isJobProgress,
  isJobResult,
  type JobData,
  type JobFailure,
  type JobLinks,
  type JobProgress,
  type JobState,
  type JobView,
  type PipelineView,
  readFailureLogLine,
  redactSpec,
  STALLED_REASON,
  traceIdOf,
  WORKER_LOST_FAILURE,
} from '@ffleet/core';
import type { JobState as BullState, Job } from 'bullmq';

export function stateOf(bullState: BullState | 'unknown', failedReason?: string): JobState {
  switch (bullState) {
    case 'active':
    case 'waiting-children':
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

/**
 * The API's view of a BullMQ job. What the worker stored (progress, result, failure log) is
 * checked against its schema: anything else is shown as unknown rather than passed on.
 */
export function toJobView(
  job: Job<JobData, unknown>,
  bullState: BullState | 'unknown',
  logs: string[] = [],
  traceUiUrl?: string,
  pipeline?: PipelineView,
): JobView {
  const state = stateOf(bullState, job.failedReason);
  const traceId = traceIdOf(job.data.traceparent) ?? null;
  const result = state === 'succeeded' && isJobResult(job.returnvalue) ? job.returnvalue : null;
  return {
    id: job.id!,
    name: job.data.spec.name,
    pool: job.data.pool,
    state,
    progress:
      state === 'succeeded'
        ? { stage: 'done', percent: 100 }
        : bullState === 'waiting-children' && pipeline && childrenProgress(pipeline)
          ? childrenProgress(pipeline)!
          : isJobProgress(job.progress)
            ? job.progress
            : null,
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
    ...(job.data.owner ? { owner: job.data.owner } : {}),
    spec: redactSpec(job.data.spec),
    links: jobLinks(job.id!, traceId ?? undefined, traceUiUrl),
    ...(pipeline ? { pipeline } : {}),
    ...(result?.targetQuality ? { targetQuality: result.targetQuality } : {}),
    ...(result?.rungQuality ? { rungQuality: result.rungQuality } : {}),
  };
}

/** While a parent waits: chunks and rungs by frames done, previews by children done. */
function childrenProgress(pipeline: PipelineView): JobProgress | undefined {
  if (pipeline.kind === 'split')
    return pipeline.frames ? { stage: 'chunks', percent: percentOf(pipeline.frames) } : undefined;
  if (pipeline.kind === 'previews') {
    const parts = [pipeline.sheets, pipeline.snippets].filter((c) => c !== null);
    const total = parts.reduce((s, c) => s + c.total, 0);
    if (total === 0) return undefined;
    return { stage: 'previews', percent: percentOf({ done: parts.reduce((s, c) => s + c.done, 0), total }) };
  }
  if (!pipeline.rungs || pipeline.rungs.length === 0) return undefined;
  if (pipeline.frames && pipeline.frames.total > 0)
    return { stage: 'rungs', percent: percentOf(pipeline.frames) };
  const sum = pipeline.rungs.reduce((s, r) => s + r.percent, 0);
  return { stage: 'rungs', percent: percentOf({ done: sum, total: 100 * pipeline.rungs.length }) };
}

const percentOf = ({ done, total }: { done: number; total: number }) =>
  total > 0 ? Math.min(100, Math.round((1000 * done) / total) / 10) : 0;

/** The worker logs a JSON JobFailure before failing a job; fall back to BullMQ's reason. */
function failureOf(job: Job, logs: string[]): JobFailure {
  for (let i = logs.length - 1; i >= 0; i--) {
    const failure = readFailureLogLine(logs[i]!);
    if (failure) return failure;
  }
  if (job.failedReason === STALLED_REASON) return WORKER_LOST_FAILURE;
  return { code: 'failed', message: job.failedReason || 'job failed' };
}
