import { DEFAULT_ATTEMPTS, DEFAULT_PRIORITY, type JobSpec } from './spec.ts';

/**
 * How a job is queued (BullMQ job options): its id, retries with backoff, priority, and how
 * long BullMQ keeps it. The gateway queues jobs with them, a pipeline its children.
 */
export function jobOptions(id: string, spec: Pick<JobSpec, 'attempts' | 'priority'>) {
  return {
    jobId: id,
    attempts: spec.attempts ?? DEFAULT_ATTEMPTS,
    backoff: { type: 'exponential', delay: 2000 },
    priority: spec.priority ?? DEFAULT_PRIORITY,
    removeOnComplete: { age: 7 * 24 * 3600, count: 10_000 },
    removeOnFail: { age: 14 * 24 * 3600, count: 10_000 },
  };
}

/**
 * A pipeline's parent runs before everything else in its queue: its steps are short (plan,
 * join) and unblock its children, and after a child fails it must act before more siblings start.
 */
export const PIPELINE_PRIORITY = 1;
