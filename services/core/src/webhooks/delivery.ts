import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { compileCheck } from '../schemas/check.ts';
import { type WebhookEvent, WebhookEventSchema, type WebhookJobPayload } from './payload.ts';

/**
 * Webhook deliveries are jobs of their own BullMQ queue (`webhooks`, under the fleet's
 * prefix): queued by whoever ends a job (the worker, or the gateway for a cancelled queued
 * job), sent by a small consumer in every worker process, retried with exponential backoff,
 * and kept in Redis, so a restart or a killed process loses none. This module defines the
 * queue's jobs; it holds no BullMQ code (core does not depend on it).
 */
export const WEBHOOK_QUEUE = 'webhooks';

/** How often and how far apart a delivery is tried (fleet settings `FFLEET_WEBHOOK_*`). */
export interface WebhookRetry {
  attempts: number;
  /** The first wait; each next one doubles. */
  backoffMs: number;
}

/** What a delivery job carries: everything to send it, even after its job is gone from Redis. */
export interface WebhookDeliveryData {
  jobId: string;
  event: WebhookEvent;
  url: string;
  secret?: string;
  payload: WebhookJobPayload;
}

/**
 * The delivery's id: one per job and event, so a job end seen twice (a retried 'failed'
 * handler, a cancel racing the worker) queues it once. A redelivery adds `-r<n>`.
 */
export function webhookDeliveryId(jobId: string, event: WebhookEvent, redelivery = 0): string {
  return redelivery > 0 ? `${jobId}-${event}-r${redelivery}` : `${jobId}-${event}`;
}

const KEEP_SECONDS = 14 * 24 * 3600;

/** A delivery as a BullMQ job: its name, data and options (`queue.add(name, data, opts)`). */
export function webhookDeliveryJob(data: WebhookDeliveryData, retry: WebhookRetry, redelivery = 0) {
  return {
    name: data.event,
    data,
    opts: {
      jobId: webhookDeliveryId(data.jobId, data.event, redelivery),
      attempts: retry.attempts,
      backoff: { type: 'exponential', delay: retry.backoffMs },
      removeOnComplete: { age: KEEP_SECONDS },
      removeOnFail: { age: KEEP_SECONDS },
    },
  };
}

/**
 * The wait BullMQ's exponential backoff (first wait `delayMs`) puts after attempt `attempt`
 * (1-based), so a failed attempt can record when the next one comes.
 */
export function webhookBackoffMs(delayMs: number, attempt: number): number {
  return Math.round(2 ** (attempt - 1) * delayMs);
}

/** What the consumer records on a delivery after each attempt (the BullMQ job's progress). */
export const WebhookAttemptSchema = Type.Object({
  attempt: Type.Integer({ minimum: 1 }),
  at: Type.Number({ description: 'Epoch milliseconds' }),
  status: Type.Optional(Type.Integer()),
  error: Type.Optional(Type.String()),
  /** Epoch milliseconds of the next try; absent when none follows. */
  nextTryAt: Type.Optional(Type.Number()),
});
export type WebhookAttempt = Static<typeof WebhookAttemptSchema>;
const attemptCheck = compileCheck(WebhookAttemptSchema);
/** Whether a delivery's stored progress is a WebhookAttempt. */
export const isWebhookAttempt = (value: unknown): value is WebhookAttempt => attemptCheck.is(value);

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const Time = Type.String({ description: 'ISO 8601 time, UTC' });

/** One delivery of a job's webhook, as the job view shows it. */
export const WebhookDeliveryViewSchema = Type.Object(
  {
    id: Type.String({ description: 'Sent as `X-Ffleet-Delivery`, the same on every attempt' }),
    event: WebhookEventSchema,
    state: Type.Union([Type.Literal('pending'), Type.Literal('delivered'), Type.Literal('failed')], {
      description:
        'pending: not yet delivered, tries left; failed: no try left (or an answer that will not change)',
    }),
    attempts: Type.Object({
      made: Type.Integer({ minimum: 0 }),
      max: Type.Integer({ minimum: 1 }),
    }),
    lastStatus: Nullable(Type.Integer({ description: "The receiver's last HTTP status" })),
    lastError: Nullable(Type.String({ description: 'Why the last attempt did not deliver' })),
    lastAttemptAt: Nullable(Time),
    nextTryAt: Nullable(Time),
    deliveredAt: Nullable(Time),
  },
  { description: "A delivery of the job's webhook" },
);
export type WebhookDeliveryView = Static<typeof WebhookDeliveryViewSchema>;
