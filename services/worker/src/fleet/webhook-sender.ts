import {
  deliverWebhook,
  type JobData,
  type JobFailure,
  type JobResult,
  type JobState,
  type Logger,
  type RedisClient,
  WEBHOOK_QUEUE,
  type WebhookAttempt,
  type WebhookDeliveryData,
  type WebhookPolicy,
  type WebhookRetry,
  webhookBackoffMs,
  webhookDeliveryJob,
  webhookEventFor,
  webhookPayload,
} from '@ffleet/core';
import { type Job, Queue, UnrecoverableError, Worker } from 'bullmq';

export interface WebhookSenderOptions {
  /** Deliveries sent at once by this process. */
  concurrency: number;
  policy: WebhookPolicy;
  retry: WebhookRetry;
  /** As the pool's worker: a process that dies loses its deliveries to others after about this long. */
  lockDurationMs: number;
  logger: Logger;
}

/** A delivery sent by a worker killed mid-request is tried again; only a process dying this often gives up. */
const MAX_STALLED_DELIVERIES = 5;

/**
 * Every worker process queues the webhooks of the jobs it ends and sends deliveries from the
 * fleet's webhook queue, whoever queued them (the gateway queues those of cancelled queued
 * jobs). A delivery is a BullMQ job: retried with exponential backoff, kept in Redis
 * across restarts, each attempt recorded for the job view.
 */
export class WebhookSender {
  readonly #queue: Queue<WebhookDeliveryData>;
  readonly #worker: Worker<WebhookDeliveryData, WebhookAttempt>;
  readonly #opts: WebhookSenderOptions;

  /** `connection`: the worker's own (BullMQ opens the blocking one it needs beside it); the owner closes it. */
  constructor(connection: RedisClient, prefix: string, opts: WebhookSenderOptions) {
    this.#opts = opts;
    this.#queue = new Queue<WebhookDeliveryData>(WEBHOOK_QUEUE, { connection, prefix });
    this.#worker = new Worker<WebhookDeliveryData, WebhookAttempt>(WEBHOOK_QUEUE, (job) => this.#send(job), {
      connection,
      prefix,
      concurrency: opts.concurrency,
      lockDuration: opts.lockDurationMs,
      stalledInterval: Math.max(1000, Math.round(opts.lockDurationMs / 2)),
      maxStalledCount: MAX_STALLED_DELIVERIES,
      autorun: false,
    });
    this.#worker.on('error', (error) => opts.logger.error({ err: error }, 'webhook worker error'));
    this.#worker.on('failed', (job, error) => {
      const last =
        error.name === 'UnrecoverableError' || (job && job.attemptsMade >= (job.opts.attempts ?? 1));
      if (job && last)
        opts.logger.warn(
          { jobId: job.data.jobId, delivery: job.id, err: error.message },
          'webhook not delivered',
        );
    });
  }

  /**
   * Queues a finished job's webhook, if it has one. The delivery's id is the job's and the
   * event's, so a job end reported twice queues it once.
   */
  async notify(job: Job<JobData, JobResult>, state: JobState, failure: JobFailure | null): Promise<void> {
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
    const delivery = webhookDeliveryJob(
      {
        jobId: job.id!,
        event,
        url: webhook.url,
        ...(webhook.secret ? { secret: webhook.secret } : {}),
        payload,
      },
      this.#opts.retry,
    );
    await this.#queue.add(delivery.name, delivery.data, delivery.opts);
  }

  /** One attempt: recorded on the delivery, then done, tried again later, or given up. */
  async #send(job: Job<WebhookDeliveryData, WebhookAttempt>): Promise<WebhookAttempt> {
    const { url, secret, event, payload } = job.data;
    const result = await deliverWebhook(
      { url, ...(secret ? { secret } : {}), event, payload, deliveryId: job.id! },
      this.#opts.policy,
    );
    const attempt = job.attemptsMade + 1;
    const record: WebhookAttempt = { attempt, at: Date.now() };
    if (result.status !== undefined) record.status = result.status;
    if (result.error !== undefined) record.error = result.error;
    const delayMs = (job.opts.backoff as { delay?: number } | undefined)?.delay ?? this.#opts.retry.backoffMs;
    if (!result.delivered && result.retry && attempt < (job.opts.attempts ?? 1))
      record.nextTryAt = record.at + webhookBackoffMs(delayMs, attempt);
    await job.updateProgress(record);
    if (result.delivered) return record;
    const why = result.error ?? `the receiver answered ${result.status}`;
    if (!result.retry) throw new UnrecoverableError(why);
    throw new Error(why);
  }

  start(): Promise<void> {
    void this.#worker.run();
    return this.#worker.waitUntilReady().then(() => undefined);
  }

  /** Lets deliveries in flight finish (each is bounded by its request timeout), then closes. */
  async stop(): Promise<void> {
    await this.#worker.close();
    await this.#queue.close();
  }
}
