import {
  CANCELLED_REASON,
  deliverWebhook,
  type JobData,
  type JobFailure,
  type JobResult,
  type JobState,
  type Logger,
  type WebhookPolicy,
  webhookEventFor,
  webhookPayload,
} from '@ffleet/core';
import type { Job } from 'bullmq';

/**
 * Sends a finished job's webhook, once, from the worker that finished it. Delivery is
 * best effort with its own retries; a failed delivery is logged and never fails the job.
 */
export function notifyFinished(
  job: Job<JobData, JobResult>,
  state: JobState,
  failure: JobFailure | null,
  policy: WebhookPolicy,
  log: Logger,
): void {
  const webhook = job.data?.spec?.webhook;
  const event = webhookEventFor(state);
  if (!webhook || !event) return;
  const payload = webhookPayload(
    job.id!,
    job.data,
    state,
    job.attemptsMade,
    state === 'succeeded' ? job.returnvalue : null,
    failure,
  );
  void deliverWebhook(
    { url: webhook.url, ...(webhook.secret ? { secret: webhook.secret } : {}), event, payload },
    policy,
  )
    .then((result) => {
      if (!result.delivered) log.warn({ jobId: job.id, event, ...result }, 'webhook not delivered');
    })
    .catch((error) => log.warn({ jobId: job.id, err: (error as Error).message }, 'webhook not delivered'));
}

/** Whether a 'failed' event is the job's last word (no retry will follow), and as what state. */
export function finalFailureState(job: Job, error: Error): JobState | undefined {
  const unrecoverable = error.name === 'UnrecoverableError';
  if (!unrecoverable && job.attemptsMade < (job.opts.attempts ?? 1)) return undefined;
  return error.message.startsWith(CANCELLED_REASON) ? 'cancelled' : 'failed';
}
