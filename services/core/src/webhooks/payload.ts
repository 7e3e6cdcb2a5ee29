import type { JobData, JobFailure, JobResult, JobState } from '../jobs/record.ts';
import type { JobSpec } from '../jobs/spec.ts';
import type { WebhookEvent } from './webhook.ts';

/** What a webhook receiver gets about a finished job (the same fields as GET /v1/jobs/:id). */
export interface WebhookJobPayload {
  job: {
    id: string;
    name: string;
    pool: string;
    state: JobState;
    attempts: number;
    outputs: JobResult['outputs'] | null;
    timings: JobResult['timings'] | null;
    quality: JobResult['quality'] | null;
    metricsUrl: string | null;
    error: JobFailure | null;
    links: { self: string };
  };
}

export function webhookEventFor(state: JobState): WebhookEvent | undefined {
  if (state === 'succeeded') return 'job.succeeded';
  if (state === 'failed') return 'job.failed';
  if (state === 'cancelled') return 'job.cancelled';
  return undefined;
}

export function webhookPayload(
  id: string,
  data: JobData,
  state: JobState,
  attempts: number,
  result: JobResult | null,
  error: JobFailure | null,
): WebhookJobPayload {
  return {
    job: {
      id,
      name: data.spec.name,
      pool: data.pool,
      state,
      attempts,
      outputs: result?.outputs ?? null,
      timings: result?.timings ?? null,
      quality: result?.quality ?? null,
      metricsUrl: result?.metricsUrl ?? null,
      error,
      links: { self: `/v1/jobs/${id}` },
    },
  };
}

/** A job's spec as shown back to callers: the webhook secret is never returned. */
export function redactSpec(spec: JobSpec): JobSpec {
  return spec.webhook?.secret ? { ...spec, webhook: { ...spec.webhook, secret: '[redacted]' } } : spec;
}
