import {
  FfleetError,
  isWebhookAttempt,
  keys,
  type RedisClient,
  WEBHOOK_QUEUE,
  type WebhookDeliveryData,
  type WebhookDeliveryView,
  type WebhookEvent,
  type WebhookRetry,
  webhookDeliveryId,
  webhookDeliveryJob,
} from '@ffleet/core';
import { type Job, Queue } from 'bullmq';

const REDELIVERIES_TTL_SECONDS = 14 * 24 * 3600;

/**
 * The gateway's side of the webhook queue (workers send; see the worker's webhook-sender.ts):
 * queue the webhook of a job cancelled while queued, show a job's deliveries, send one again.
 */
export class WebhookDeliveries {
  /** The fleet's webhook queue (the gateway closes it with the pools' queues). */
  readonly queue: Queue<WebhookDeliveryData>;
  readonly #redis: RedisClient;
  readonly #prefix: string;
  readonly #retry: WebhookRetry;

  constructor(redis: RedisClient, prefix: string, retry: WebhookRetry) {
    this.queue = new Queue<WebhookDeliveryData>(WEBHOOK_QUEUE, { connection: redis, prefix });
    this.#redis = redis;
    this.#prefix = prefix;
    this.#retry = retry;
  }

  /** Queues a delivery (once per job and event: its id says which). */
  async add(data: WebhookDeliveryData): Promise<void> {
    const { name, opts } = webhookDeliveryJob(data, this.#retry);
    await this.queue.add(name, data, opts);
  }

  /** The job's deliveries of `event`: the first, then each redelivery, oldest first. */
  async list(jobId: string, event: WebhookEvent): Promise<WebhookDeliveryView[]> {
    const redeliveries = Number((await this.#redis.get(keys.webhookRedeliveries(this.#prefix, jobId))) ?? 0);
    const ids = Array.from({ length: redeliveries + 1 }, (_, n) => webhookDeliveryId(jobId, event, n));
    const jobs = await Promise.all(ids.map((id) => this.queue.getJob(id)));
    const found = jobs.filter((job): job is Job<WebhookDeliveryData> => Boolean(job));
    return Promise.all(found.map(async (job) => deliveryView(job, await job.getState())));
  }

  /**
   * Sends the job's `event` again, as a new delivery with the first one's body and address
   * (the secret is kept only there). `409` when there is no first delivery to repeat.
   */
  async redeliver(jobId: string, event: WebhookEvent): Promise<WebhookDeliveryView> {
    const first = await this.queue.getJob(webhookDeliveryId(jobId, event));
    if (!first)
      throw new FfleetError(
        'conflict',
        `job ${jobId} has no ${event} delivery to send again (deliveries are kept 14 days)`,
        409,
      );
    const key = keys.webhookRedeliveries(this.#prefix, jobId);
    const [[, n]] = (await this.#redis.multi().incr(key).expire(key, REDELIVERIES_TTL_SECONDS).exec()) as [
      [null, number],
    ];
    const { name, opts } = webhookDeliveryJob(first.data, this.#retry, n);
    const job = await this.queue.add(name, first.data, opts);
    return deliveryView(job, 'waiting');
  }
}

const iso = (ms: number | undefined) => (ms ? new Date(ms).toISOString() : null);

/** A delivery as the job view shows it; the attempt record is the sender's (checked, not trusted). */
function deliveryView(job: Job<WebhookDeliveryData>, bullState: string): WebhookDeliveryView {
  const last = isWebhookAttempt(job.progress) ? job.progress : undefined;
  const state = bullState === 'completed' ? 'delivered' : bullState === 'failed' ? 'failed' : 'pending';
  return {
    id: job.id!,
    event: job.data.event,
    state,
    attempts: { made: job.attemptsMade, max: job.opts.attempts ?? 1 },
    lastStatus: last?.status ?? null,
    lastError:
      state === 'delivered' ? null : (last?.error ?? (state === 'failed' ? job.failedReason : null) ?? null),
    lastAttemptAt: iso(last?.at),
    nextTryAt: state === 'pending' ? iso(last?.nextTryAt) : null,
    deliveredAt: state === 'delivered' ? iso(job.finishedOn) : null,
  };
}
