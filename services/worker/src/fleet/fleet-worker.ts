import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  CANCELLED_REASON,
  closeConnection,
  FAILURE_LOG_PREFIX,
  isJobResult,
  type JobData,
  type JobFailure,
  type JobResult,
  type JobState,
  keys,
  type Logger,
  openRedis,
  type Pool,
  type RedisClient,
  type RedisTarget,
  WORKER_LOST_FAILURE,
  type WorkerMetrics,
} from '@ffleet/core';
import { type Job, Queue, UnrecoverableError, WaitingChildrenError, WaitingError, Worker } from 'bullmq';
import type { Capabilities } from '../ffmpeg/probe.ts';
import { type PipelineDeps, type PipelineJob, SHUTDOWN_REASON } from '../pipeline/context.ts';
import { describeFailure, isPermanent, JobCancelledError, ShutdownError } from '../pipeline/errors.ts';
import { runJob } from '../pipeline/run-job.ts';
import { runBatchJob } from '../pipelines/batch/run-batch.ts';
import { WAIT_FOR_CHILDREN } from '../pipelines/flow.ts';
import { runPipeline } from '../pipelines/run-pipeline.ts';
import { BullmqBatch } from './bullmq-batch.ts';
import { BullmqFlow, type FleetQueueSource } from './bullmq-flow.ts';
import { Heartbeat } from './heartbeat.ts';
import { failureOf, finalFailureState } from './notify.ts';
import { WebhookSender } from './webhook-sender.ts';

/** How long a finished job's result waits for its completion to be recorded (see `keys.finishedResult`). */
const FINISHED_RESULT_TTL_SECONDS = 24 * 60 * 60;

/** What `keys.finishedResult` holds. */
interface FinishedResult {
  /** The BullMQ job's creation time, telling it from a job added later under the same id. */
  createdAt: number;
  result: JobResult;
}

export interface FleetWorkerOptions {
  pool: Pool;
  concurrency: number;
  /** On SIGTERM, how long a running job may take to finish before it goes back to the queue. */
  shutdownGraceMs: number;
  /** BullMQ lock: a worker that dies loses its jobs to others after about this long. */
  lockDurationMs: number;
  /** A job whose worker is lost more often than this fails with `worker_lost` instead of running again. */
  maxStalledCount: number;
  /** Webhook deliveries this process sends at once (see webhook-sender.ts). */
  webhookConcurrency: number;
  capabilities: Capabilities;
  deps: Omit<PipelineDeps, 'workerId' | 'logger'>;
  logger: Logger;
  /** Prometheus metrics of this worker (jobs finished, stage durations, busy slots). */
  metrics?: WorkerMetrics;
}

/**
 * A pool's consumer: one BullMQ Worker with ffleet's rules on top: permanent failures are
 * not retried, cancellation kills ffmpeg, SIGTERM hands running jobs back to the queue.
 */
export class FleetWorker {
  readonly id = `${hostname()}-${randomUUID().slice(0, 8)}`;
  readonly #opts: FleetWorkerOptions;
  readonly #connection: RedisClient;
  readonly #subscriber: RedisClient;
  readonly #worker: Worker<JobData, JobResult>;
  /** Queues pipelines add children to and read them from, by queue name, opened on first use. */
  readonly #queues = new Map<string, Queue<JobData>>();
  readonly #prefix: string;
  /** Pipeline children running here, by parent: a parent's cancel reaches them. */
  readonly #childrenOf = new Map<string, Set<string>>();
  readonly #heartbeat: Heartbeat;
  readonly #webhooks: WebhookSender;
  readonly #log: Logger;
  #stopping?: Promise<void>;
  /** The last failure of each job, kept from the processor until its 'failed' event. */
  readonly #failures = new Map<string, JobFailure>();

  constructor(redis: RedisTarget, prefix: string, opts: FleetWorkerOptions) {
    this.#opts = opts;
    this.#log = opts.logger.child({ pool: opts.pool.name, workerId: this.id });
    this.#connection = openRedis(redis, { maxRetriesPerRequest: null });
    this.#subscriber = openRedis(redis, { maxRetriesPerRequest: null });
    // It reconnects by itself; the worker's own error events already report Redis being away.
    this.#subscriber.on('error', (error) => this.#log.debug({ err: error }, 'cancel subscriber error'));
    const deps: PipelineDeps = { ...opts.deps, workerId: this.id, logger: this.#log };

    this.#worker = new Worker<JobData, JobResult>(
      opts.pool.queue,
      async (job, token, signal) => this.#process(job, token, signal!, deps, prefix),
      {
        connection: this.#connection,
        prefix,
        concurrency: opts.concurrency,
        lockDuration: opts.lockDurationMs,
        stalledInterval: Math.max(1000, Math.round(opts.lockDurationMs / 2)),
        maxStalledCount: opts.maxStalledCount,
        autorun: false,
        name: this.id,
      },
    );
    this.#prefix = prefix;
    this.#worker.on('failed', (job, error) =>
      this.#log.warn({ jobId: job?.id, err: error.message }, 'job failed'),
    );
    // Recorded at last: a result kept for a later attempt is not needed any more.
    const forgetResult = (job?: Job) => {
      if (job?.id) this.#connection.del(keys.finishedResult(prefix, job.id)).catch(() => {});
    };
    this.#worker.on('completed', (job) => {
      this.#log.info({ jobId: job.id, timings: job.returnvalue?.timings }, 'job completed');
      forgetResult(job);
    });
    this.#worker.on('failed', forgetResult);
    this.#worker.on('error', (error) => this.#log.error({ err: error }, 'worker error'));
    this.#webhooks = new WebhookSender(this.#connection, prefix, {
      concurrency: opts.webhookConcurrency,
      policy: opts.deps.config.urlPolicy.webhooks ?? {},
      retry: opts.deps.config.webhookRetry,
      lockDurationMs: opts.lockDurationMs,
      logger: this.#log,
    });
    const notify = (job: Job<JobData, JobResult>, state: JobState, failure: JobFailure | null) =>
      this.#webhooks
        .notify(job, state, failure)
        .catch((error) => this.#log.error({ jobId: job.id, err: error }, 'webhook not queued'));
    this.#worker.on('completed', (job) => void notify(job, 'succeeded', null));
    this.#worker.on('failed', (job, error) => {
      if (!job) return;
      const failure = failureOf(error, this.#failures.get(job.id!));
      this.#failures.delete(job.id!);
      const state = finalFailureState(job, error);
      if (!state) return;
      // A job failed by BullMQ for stalling too often never reached the processor: say why in its log too.
      if (failure.code === WORKER_LOST_FAILURE.code)
        void job.log(FAILURE_LOG_PREFIX + JSON.stringify(failure)).catch(() => {});
      void notify(job, state, failure);
    });

    this.#heartbeat = new Heartbeat({
      redis: this.#connection,
      prefix,
      pool: opts.pool.name,
      workerId: this.id,
      concurrency: opts.concurrency,
      capabilities: opts.capabilities,
      busy: () => this.busy,
    });

    // Cancellation requests reach every worker; only the one running the job acts.
    this.#subscriber
      .subscribe(keys.cancelChannel(prefix))
      .catch((error) => this.#log.error({ err: error }, 'subscribe failed'));
    this.#subscriber.on('message', (_channel, message) => {
      try {
        const { id } = JSON.parse(message) as { id: string };
        for (const jobId of [id, ...(this.#childrenOf.get(id) ?? [])])
          if (this.#worker.cancelJob(jobId, CANCELLED_REASON)) this.#log.info({ jobId }, 'cancelling job');
      } catch {
        /* not ours to parse */
      }
    });
  }

  #active = 0;
  get busy(): number {
    return this.#active;
  }

  async #process(
    job: Job<JobData, JobResult>,
    token: string | undefined,
    signal: AbortSignal,
    deps: PipelineDeps,
    prefix: string,
  ): Promise<JobResult> {
    // A batch's gate came due: the gateway adding the batch's items is gone, so the batch goes on
    // with the items it has (see the gateway's FleetBatches).
    if (job.data.role?.kind === 'gate')
      return {
        outputs: [],
        timings: { download: 0, ffmpeg: 0, upload: 0, total: 0 },
        inputBytes: 0,
        worker: this.id,
      };
    const earlier = await this.#finishedEarlier(job, prefix);
    if (earlier) {
      this.#log.info(
        { jobId: job.id, attempt: job.attemptsMade + 1, ranOn: earlier.worker },
        'job had already run to success: recording its completion, not running it again',
      );
      return earlier;
    }
    this.#active++;
    const metrics = this.#opts.metrics;
    const idle = metrics?.jobStarted();
    try {
      const parentId = job.data.role?.parentId;
      if (parentId) this.#trackChild(parentId, job.id!, true);
      // A batch's parent runs when cancelled too: it writes the manifest, then ends as cancelled.
      const batch = job.data.pipeline?.kind === 'batch';
      if (!batch && (await this.#cancelledBeforeStart(job.id!, parentId, prefix)))
        throw new JobCancelledError();
      const result = job.data.pipeline
        ? await this.#runPipeline(job, token, signal, deps, prefix)
        : await runJob(pipelineJob(job), deps, signal);
      if (metrics) {
        metrics.observeTimings(result.timings);
        if (result.speed) metrics.ffmpegSpeed.observe({ pool: this.#opts.pool.name }, result.speed);
        metrics.finished('succeeded');
      }
      await this.#keepFinished(job, result, prefix);
      // Before BullMQ records the completion: `make soak` counts these to find work done twice.
      this.#log.info({ jobId: job.id, attempt: job.attemptsMade + 1 }, 'job ran to success');
      return result;
    } catch (error) {
      // A pipeline's parent waiting for its children: not finished, nothing to record.
      if (error instanceof WaitingChildrenError) throw error;
      metrics?.finished(
        error instanceof ShutdownError
          ? 'requeued'
          : error instanceof JobCancelledError
            ? 'cancelled'
            : 'failed',
      );
      if (error instanceof ShutdownError) {
        // Back to the queue without counting an attempt; another worker starts it afresh.
        await job.moveToWait(token);
        this.#log.info({ jobId: job.id }, 'job handed back to the queue on shutdown');
        throw new WaitingError();
      }
      const failure = describeFailure(error);
      this.#failures.set(job.id!, failure);
      await job.log(FAILURE_LOG_PREFIX + JSON.stringify(failure)).catch(() => {});
      if (error instanceof JobCancelledError)
        throw new UnrecoverableError(`${CANCELLED_REASON}: ${failure.message}`);
      if (isPermanent(error)) throw new UnrecoverableError(failure.message);
      throw error;
    } finally {
      const parentId = job.data.role?.parentId;
      if (parentId) this.#trackChild(parentId, job.id!, false);
      this.#active--;
      idle?.();
    }
  }

  /**
   * A pipeline's parent: a batch writes its manifest (its items have all finished). A chunked
   * encode runs its current step; when the step has handed work to children it
   * waits for them in BullMQ's `waiting-children` (the worker slot is free meanwhile), unless
   * every child already finished or one failed for good: then the next step runs at once.
   */
  async #runPipeline(
    job: Job<JobData, JobResult>,
    token: string | undefined,
    signal: AbortSignal,
    deps: PipelineDeps,
    prefix: string,
  ): Promise<JobResult> {
    if (job.data.pipeline?.kind === 'batch') {
      const records = new BullmqBatch(job, this.#queueSource.byPool(job.data.pool), this.#connection, prefix);
      return runBatchJob(pipelineJob(job), records, deps, signal);
    }
    const flow = new BullmqFlow(job, this.#queueSource, this.#connection, prefix);
    for (;;) {
      const outcome = await runPipeline(pipelineJob(job), flow, deps, signal);
      if (outcome !== WAIT_FOR_CHILDREN) return outcome;
      const failed = (await flow.failedChildren()).length > 0;
      if (!failed && (await job.moveToWaitingChildren(token!))) throw new WaitingChildrenError();
    }
  }

  readonly #queueSource: FleetQueueSource = {
    byName: (name) => {
      let queue = this.#queues.get(name);
      if (!queue) {
        queue = new Queue<JobData>(name, { connection: this.#connection, prefix: this.#prefix });
        this.#queues.set(name, queue);
      }
      return queue;
    },
    byPool: (pool) => {
      const queue = this.#opts.deps.config.pools.get(pool)?.queue;
      if (!queue) throw new Error(`no pool named ${pool}`);
      return this.#queueSource.byName(queue);
    },
  };

  /**
   * Keeps a finished job's result until BullMQ records its completion, which it refuses when the
   * job's lock ran out meanwhile (Redis away for longer than the lock): the job then goes back to
   * the queue, and its next attempt records this result instead of encoding again. Without it
   * the job would only run again, so a failure to keep it is logged, not the job's.
   */
  async #keepFinished(job: Job<JobData, JobResult>, result: JobResult, prefix: string): Promise<void> {
    // With the job's creation time: a job added again later under the same id is not this one.
    const kept: FinishedResult = { createdAt: job.timestamp, result };
    await this.#connection
      .set(keys.finishedResult(prefix, job.id!), JSON.stringify(kept), 'EX', FINISHED_RESULT_TTL_SECONDS)
      .catch((error) => this.#log.warn({ jobId: job.id, err: error }, 'finished result not kept'));
  }

  /** The result of an earlier attempt of this job that ran to success but whose completion was refused. */
  async #finishedEarlier(job: Job<JobData, JobResult>, prefix: string): Promise<JobResult | undefined> {
    const kept = await this.#connection.get(keys.finishedResult(prefix, job.id!));
    if (!kept) return undefined;
    try {
      const { createdAt, result } = JSON.parse(kept) as Partial<FinishedResult>;
      return createdAt === job.timestamp && isJobResult(result) ? result : undefined;
    } catch {
      return undefined; // not a kept result: the job runs again
    }
  }

  /** The job, or the pipeline it belongs to, was cancelled or stopped before it started. */
  async #cancelledBeforeStart(id: string, parentId: string | undefined, prefix: string): Promise<boolean> {
    const markers = [keys.cancelMarker(prefix, id)];
    if (parentId) markers.push(keys.cancelMarker(prefix, parentId), keys.stopMarker(prefix, parentId));
    return (await this.#connection.exists(...markers)) > 0;
  }

  #trackChild(parentId: string, id: string, running: boolean): void {
    const children = this.#childrenOf.get(parentId) ?? new Set<string>();
    if (running) children.add(id);
    else children.delete(id);
    if (children.size > 0) this.#childrenOf.set(parentId, children);
    else this.#childrenOf.delete(parentId);
  }

  async start(): Promise<void> {
    await this.#heartbeat.start();
    await this.#webhooks.start();
    void this.#worker.run();
    await this.#worker.waitUntilReady();
    this.#log.info({ queue: this.#opts.pool.queue, concurrency: this.#opts.concurrency }, 'worker ready');
  }

  /**
   * Graceful stop: take no new jobs, let running ones finish within the grace period, then
   * hand the rest back to the queue (not a failed attempt) and exit.
   */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#log.info({ graceMs: this.#opts.shutdownGraceMs, busy: this.busy }, 'stopping');
      const grace = setTimeout(() => this.#worker.cancelAllJobs(SHUTDOWN_REASON), this.#opts.shutdownGraceMs);
      await this.#worker.close();
      await Promise.all([...this.#queues.values()].map((q) => q.close()));
      clearTimeout(grace);
      // After the pool's jobs: the webhooks of those that finished meanwhile are queued by now.
      await this.#webhooks.stop();
      await this.#heartbeat.stop().catch(() => {});
      await Promise.all([closeConnection(this.#subscriber), closeConnection(this.#connection)]);
    })();
    return this.#stopping;
  }
}

/** What the job pipelines see of a BullMQ job. */
function pipelineJob(job: Job<JobData, JobResult>): PipelineJob {
  return {
    id: job.id!,
    data: job.data,
    attemptsStarted: job.attemptsStarted,
    attemptsMade: job.attemptsMade,
    updateProgress: (p) => job.updateProgress(p),
  };
}
