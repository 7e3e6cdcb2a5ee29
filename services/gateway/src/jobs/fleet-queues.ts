import { randomUUID } from 'node:crypto';
import {
  CANCELLED_REASON,
  CANCELLED_TTL_SECONDS,
  FfleetError,
  isJobView,
  type JobData,
  type JobLinks,
  type JobSpec,
  type JobState,
  type JobView,
  jobOptions,
  keys,
  PIPELINE_PRIORITY,
  type Pool,
  type PoolRegistry,
  QUEUED_STATES,
  queueDepth,
  type RedisClient,
  TooBusyError,
  type WebhookRetry,
  webhookEventFor,
  webhookPayload,
} from '@ffleet/core';
import { type Job, type JobType, Queue } from 'bullmq';
import { pipelineView } from './pipeline-view.ts';
import { jobLinks, stateOf, toJobView } from './view.ts';
import { WebhookDeliveries } from './webhook-deliveries.ts';

const STATE_TYPES: Record<JobState, JobType[]> = {
  queued: ['waiting', 'prioritized', 'delayed'],
  running: ['active', 'waiting-children'],
  succeeded: ['completed'],
  failed: ['failed'],
  cancelled: ['failed'],
};
const LOG_LINES = 50;
const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;
const STARTING_TIMEOUT_MS = 2000;
/** When a client told the queue is full comes back: long enough for workers to take some jobs. */
export const QUEUE_FULL_RETRY_AFTER_SECONDS = 30;
/**
 * Far from its cap, a pool's depth as read up to this long ago (plus what this gateway added since)
 * decides a submission, saving a Redis round trip on each; within the last tenth of the cap, every
 * submission reads it afresh.
 */
const DEPTH_READING_MS = 1000;
const FAR_FROM_CAP = 0.9;

/** Who submits a job: the request's trace context and its token's name. */
export interface Submitter {
  traceparent?: string;
  owner?: string;
}
/** Drops an idempotency claim (KEYS[1]) still naming this submission (ARGV[1]) whose job (KEYS[2]) does not exist. */
const RELEASE_CLAIM = `if redis.call('get', KEYS[1]) == ARGV[1] and redis.call('exists', KEYS[2]) == 0 then
  return redis.call('del', KEYS[1])
end
return 0`;

/**
 * Sent after a failed submission, behind its own commands on the same connection: a paused
 * Redis runs them in order when it resumes, so a claim whose job was added late stays (a
 * retry with the key finds that job) and one whose job never came goes (a retry queues it).
 */
function releaseClaim(redis: RedisClient, key: string, id: string, jobKey: string): void {
  redis.eval(RELEASE_CLAIM, 2, key, jobKey, id).catch(() => {});
}

export interface PoolStatus {
  name: string;
  family: string;
  queue: string;
  arch: string;
  accelerator: string;
  instanceTypes: string[];
  depth: {
    waiting: number;
    prioritized: number;
    delayed: number;
    active: number;
    completed: number;
    failed: number;
  };
  /** Jobs waiting for a worker (waiting, prioritized, delayed, paused), what `maxQueued` caps. */
  queued: number;
  /** The cap on `queued` (submissions past it get a 429), or null for none. */
  maxQueued: number | null;
  workers: WorkerInfo[];
  capabilities: { encoders: string[]; hwaccels: string[]; expectedEncoders: string[] };
}

export interface WorkerInfo {
  id: string;
  host: string;
  concurrency: number;
  busy: number;
  arch: string;
  encoders: string[];
  hwaccels: string[];
  /** The quality metrics its ffmpeg can measure (vmaf needs libvmaf); absent from older workers. */
  qualityMetrics?: string[];
  /** Its ffmpeg can tone-map an HDR source for ladders and previews (zscale, tonemap); absent from older workers. */
  toneMapping?: boolean;
  startedAt: string;
}

/**
 * The gateway's side of the per-pool BullMQ queues: enqueue, look up, list, cancel. What
 * workers store in a job (its result) is untrusted here: views check it against its schema.
 */
export class FleetQueues {
  readonly #queues = new Map<string, Queue<JobData, unknown>>();
  readonly #redis: RedisClient;
  readonly #prefix: string;
  readonly #pools: PoolRegistry;
  readonly #traceUiUrl: string | undefined;
  /** Webhook deliveries: queued here for jobs cancelled while queued, shown in the job view. */
  readonly webhooks: WebhookDeliveries;
  /** Per pool: its queue's depth when last read, plus the jobs this gateway has let in since. */
  readonly #depths = new Map<string, { readAt: number; depth: number }>();

  /** `traceUiUrl`: the tracing UI's address of a trace without its id, for job links. */
  constructor(
    pools: PoolRegistry,
    redis: RedisClient,
    prefix: string,
    options: { traceUiUrl?: string; webhookRetry: WebhookRetry },
  ) {
    this.webhooks = new WebhookDeliveries(redis, prefix, options.webhookRetry);
    this.#pools = pools;
    this.#redis = redis;
    this.#prefix = prefix;
    this.#traceUiUrl = options.traceUiUrl;
    for (const pool of pools.pools) {
      this.#queues.set(pool.name, new Queue<JobData, unknown>(pool.queue, { connection: redis, prefix }));
    }
  }

  queue(pool: string): Queue<JobData, unknown> {
    const queue = this.#queues.get(pool);
    if (!queue) throw new Error(`no queue for pool ${pool}`);
    return queue;
  }

  links(id: string, traceId?: string): JobLinks {
    return jobLinks(id, traceId, this.#traceUiUrl);
  }

  /**
   * Queues a validated job. Returns the existing job's id when the idempotency key was seen (a
   * token's keys are its own); a 429 `queue_full` when the pool's queue is at its cap.
   */
  async enqueue(spec: JobSpec, pool: Pool, from: Submitter = {}): Promise<{ id: string; created: boolean }> {
    const id = randomUUID();
    const queue = this.queue(pool.name);
    const key = spec.idempotencyKey
      ? keys.idempotency(this.#prefix, spec.idempotencyKey, from.owner)
      : undefined;
    try {
      if (key) {
        const claimed = await this.#redis.set(key, id, 'EX', IDEMPOTENCY_TTL_SECONDS, 'NX');
        if (claimed === null) {
          const existing = await this.#redis.get(key);
          if (existing) return { id: existing, created: false };
        }
      }
      await this.checkRoom(pool, 1);
      return await this.#add(spec, pool, id, from);
    } catch (error) {
      // Redis failed or did not answer in time: the claim must not name a job that never came.
      if (key) releaseClaim(this.#redis, key, id, queue.toKey(id));
      throw error;
    }
  }

  /**
   * A 429 `queue_full` (with Retry-After) when `count` more jobs would take the pool's queue past
   * its `maxQueued`. Read then added, not atomic: submissions racing at the cap may pass it by a few.
   */
  async checkRoom(pool: Pool, count: number): Promise<void> {
    if (pool.maxQueued === undefined) return;
    const reading = this.#depths.get(pool.name);
    if (
      reading &&
      Date.now() - reading.readAt < DEPTH_READING_MS &&
      reading.depth + count <= pool.maxQueued * FAR_FROM_CAP
    ) {
      reading.depth += count;
      return;
    }
    const queued = await this.queued(pool.name);
    const room = queued + count <= pool.maxQueued;
    this.#depths.set(pool.name, { readAt: Date.now(), depth: room ? queued + count : queued });
    if (!room) {
      throw new TooBusyError(
        'queue_full',
        `pool ${pool.name} has ${queued} jobs waiting, its cap is ${pool.maxQueued}` +
          (count > 1 ? ` (this submission adds ${count})` : '') +
          `; try again in ${QUEUE_FULL_RETRY_AFTER_SECONDS} s`,
        QUEUE_FULL_RETRY_AFTER_SECONDS,
        { pool: pool.name, queued, cap: pool.maxQueued, adding: count },
      );
    }
  }

  /** Jobs waiting for a worker in a pool's queue (what `maxQueued` caps). */
  async queued(pool: string): Promise<number> {
    return queueDepth(await this.queue(pool).getJobCounts(...QUEUED_STATES));
  }

  async #add(
    spec: JobSpec,
    pool: Pool,
    id: string,
    from: Submitter,
  ): Promise<{ id: string; created: boolean }> {
    const data: JobData = { spec, pool: pool.name, submittedAt: Date.now() };
    if (from.traceparent) data.traceparent = from.traceparent;
    if (from.owner) data.owner = from.owner;
    const options = jobOptions(id, spec);
    // A pipeline's parent: its steps are short and unblock its children, so it goes first.
    if (spec.split) data.pipeline = { kind: 'split', step: 'plan' };
    else if (spec.ladder) data.pipeline = { kind: 'ladder', step: 'plan' };
    else if (spec.previews) data.pipeline = { kind: 'previews', step: 'plan' };
    if (data.pipeline) options.priority = PIPELINE_PRIORITY;
    await this.queue(pool.name).add(spec.name, data, options);
    return { id, created: true };
  }

  async find(id: string): Promise<Job<JobData, unknown> | undefined> {
    const found = await Promise.all([...this.#queues.values()].map((q) => q.getJob(id)));
    return found.find((job): job is Job<JobData, unknown> => Boolean(job));
  }

  /** A job's view, with its webhook deliveries when it has a webhook and has finished. */
  async view(id: string): Promise<JobView | undefined> {
    const view = await this.#findView(id);
    const event = view?.spec.webhook ? webhookEventFor(view.state) : undefined;
    if (!view || !event) return view;
    return { ...view, webhookDeliveries: await this.webhooks.list(id, event) };
  }

  async #findView(id: string): Promise<JobView | undefined> {
    const job = await this.find(id);
    if (!job) {
      const tombstone = await this.#redis.get(keys.cancelMarker(this.#prefix, id));
      return tombstone && tombstone !== '1' ? readTombstone(tombstone) : undefined;
    }
    return this.#toView(job);
  }

  async #toView(fetched: Job<JobData, unknown>): Promise<JobView> {
    const state = await fetched.getState();
    // The job may have finished between reading it and reading its state: a finished job's
    // data is final, so read it again to report the state and data of the same moment.
    const job =
      (state === 'completed' || state === 'failed') && !fetched.finishedOn
        ? ((await this.queue(fetched.data.pool).getJob(fetched.id!)) ?? fetched)
        : fetched;
    const logs =
      state === 'failed' ? (await this.queue(job.data.pool).getJobLogs(job.id!, -LOG_LINES, -1)).logs : [];
    // A batch is viewed through /v1/batches; chunked encodes and ladders show their children here.
    const pipeline =
      job.data.pipeline && job.data.pipeline.kind !== 'batch'
        ? await pipelineView(this.#redis, this.queue(job.data.pool), job)
        : undefined;
    return toJobView(job, state, logs, this.#traceUiUrl, pipeline);
  }

  /** Newest first; with `owner`, only that token's jobs (among the newest `limit` of each pool). */
  async list(filter: {
    state?: JobState;
    pool?: string;
    name?: string;
    owner?: string;
    limit: number;
  }): Promise<JobView[]> {
    const pools = filter.pool ? [filter.pool] : [...this.#queues.keys()];
    const types = filter.state
      ? STATE_TYPES[filter.state]
      : ([
          'waiting',
          'prioritized',
          'delayed',
          'active',
          'waiting-children',
          'completed',
          'failed',
        ] as JobType[]);
    const views: JobView[] = [];
    for (const pool of pools) {
      const jobs = await this.queue(pool).getJobs(types, 0, filter.limit - 1, false);
      for (const job of jobs) {
        // A pipeline's children are listed through their parent, not on their own; a batch has its own routes.
        if (
          !job?.id ||
          job.data.role ||
          job.data.pipeline?.kind === 'batch' ||
          (filter.name && job.data.spec.name !== filter.name) ||
          (filter.owner !== undefined && job.data.owner !== filter.owner)
        )
          continue;
        const view = await this.#toView(job);
        if (!filter.state || view.state === filter.state) views.push(view);
      }
    }
    return views.sort((a, b) => b.createdAt.localeCompare(a.createdAt)).slice(0, filter.limit);
  }

  /**
   * Cancels a job: a queued job is removed (a tombstone keeps answering GET), a running job's
   * worker is told over pub/sub to kill ffmpeg. Finished jobs cannot be cancelled.
   */
  async cancel(id: string): Promise<JobView> {
    const job = await this.find(id);
    if (!job) {
      const view = await this.view(id);
      if (view) return view;
      throw new FfleetError('not_found', `job ${id} does not exist`, 404);
    }
    const state = await job.getState();
    const current = stateOf(state, job.failedReason);
    if (current !== 'queued' && current !== 'running') {
      throw new FfleetError('conflict', `job ${id} is already ${current}`, 409, { state: current });
    }
    // The marker also stops a worker that picks the job up while we remove it.
    await this.#redis.set(keys.cancelMarker(this.#prefix, id), '1', 'EX', CANCELLED_TTL_SECONDS);
    // A batch waiting for a worker to write its manifest stays: the manifest step ends it as cancelled.
    if (current === 'queued' && job.data.pipeline?.kind !== 'batch') {
      let removed = false;
      try {
        await job.remove();
        removed = true;
      } catch {
        // Taken by a worker meanwhile (locked): cancel it as a running job.
      }
      if (removed) {
        const tombstone: JobView = {
          ...toJobView(job, state, [], this.#traceUiUrl),
          state: 'cancelled',
          progress: null,
          finishedAt: new Date().toISOString(),
          error: { code: 'cancelled', message: `${CANCELLED_REASON}: removed from the queue` },
        };
        await this.#redis.set(
          keys.cancelMarker(this.#prefix, id),
          JSON.stringify(tombstone),
          'EX',
          CANCELLED_TTL_SECONDS,
        );
        await this.#notifyCancelled(id, job.data, job.attemptsMade, tombstone.error);
        return tombstone;
      }
    }
    // A pipeline's parent: its queued children go now (the last one gone wakes the parent, which
    // ends as cancelled); the message stops its running ones, wherever they run.
    if (state === 'waiting-children') await job.removeUnprocessedChildren();
    await this.#redis.publish(keys.cancelChannel(this.#prefix), JSON.stringify({ id }));
    return await this.#toView(job);
  }

  /** A queued job never reaches a worker, so its cancellation webhook is queued from here. */
  async #notifyCancelled(
    id: string,
    data: JobData,
    attempts: number,
    error: JobView['error'],
  ): Promise<void> {
    if (!data.spec.webhook) return;
    const { url, secret } = data.spec.webhook;
    await this.webhooks.add({
      jobId: id,
      event: 'job.cancelled',
      url,
      ...(secret ? { secret } : {}),
      payload: webhookPayload(id, data, 'cancelled', attempts, null, error),
    });
  }

  async poolStatus(pool: Pool): Promise<PoolStatus> {
    const counts = await this.queue(pool.name).getJobCounts(
      'waiting',
      'prioritized',
      'delayed',
      'active',
      'completed',
      'failed',
    );
    const workers = await this.#workers(pool.name);
    const queued = await this.queued(pool.name);
    return {
      name: pool.name,
      family: pool.family,
      queue: pool.queue,
      arch: pool.arch,
      accelerator: pool.accelerator,
      instanceTypes: pool.instanceTypes,
      depth: {
        waiting: counts.waiting ?? 0,
        prioritized: counts.prioritized ?? 0,
        delayed: counts.delayed ?? 0,
        active: counts.active ?? 0,
        completed: counts.completed ?? 0,
        failed: counts.failed ?? 0,
      },
      queued,
      maxQueued: pool.maxQueued ?? null,
      workers,
      capabilities: {
        encoders: [...new Set(workers.flatMap((w) => w.encoders))].sort(),
        hwaccels: [...new Set(workers.flatMap((w) => w.hwaccels))].sort(),
        expectedEncoders: pool.encoders,
      },
    };
  }

  /**
   * Why a job asking for VMAF cannot run on `pool`, or undefined when it can: refused when
   * workers of the pool are online and any of them cannot measure VMAF (the job could land on
   * it). With none online (a pool scaled to zero) the job is taken, and the worker that runs it
   * fails it with `vmaf_unavailable` if its ffmpeg has no libvmaf.
   */
  async vmafRefusal(pool: Pool): Promise<string | undefined> {
    const workers = await this.#workers(pool.name);
    const without = workers.filter((w) => !w.qualityMetrics?.includes('vmaf'));
    if (without.length === 0) return undefined;
    return (
      `pool ${pool.name} cannot measure VMAF: ${without.length} of its ${workers.length} online workers ` +
      `have an ffmpeg without libvmaf; ask for ssim or psnr, or send the job to a pool whose image has libvmaf`
    );
  }

  /** Workers that sent a heartbeat recently (see the worker's registry). */
  async #workers(pool: string): Promise<WorkerInfo[]> {
    const ids = await this.#redis.zrangebyscore(
      keys.workers(this.#prefix, pool),
      Date.now() - 30_000,
      '+inf',
    );
    if (ids.length === 0) return [];
    const values = await this.#redis.mget(ids.map((id) => keys.worker(this.#prefix, id)));
    return values.filter((v): v is string => v !== null).map((v) => JSON.parse(v) as WorkerInfo);
  }

  async close(): Promise<void> {
    const queues = [...this.#queues.values(), this.webhooks.queue];
    // A queue still starting has its Redis checks in flight on the shared connection, and BullMQ
    // leaves their rejection unhandled if that connection closes under them: let them finish
    // (or give up on a Redis that is down).
    await Promise.all(
      queues.map((q) => withTimeout(q.waitUntilReady(), STARTING_TIMEOUT_MS).catch(() => {})),
    );
    await Promise.all(queues.map((q) => q.close()));
  }
}

/** A cancelled job's stored view; anything else under its key is not one. */
function readTombstone(text: string): JobView | undefined {
  try {
    const view: unknown = JSON.parse(text);
    return isJobView(view) ? view : undefined;
  } catch {
    return undefined;
  }
}

/** `promise`, or a rejection after `ms` (the timer does not keep the process alive). */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    timer.unref();
    promise.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}
