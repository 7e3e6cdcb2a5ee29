import {
  CANCELLED_TTL_SECONDS,
  type JobData,
  type JobFailure,
  type JobResult,
  jobOptions,
  keys,
  type PipelineState,
  readFailureLogLine,
} from '@ffleet/core';
import type { Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ChildJob, Flow } from '../pipelines/flow.ts';

/** BullMQ takes a bulk in one Redis transaction: small enough not to stall Redis for others. */
const BULK = 500;
const FAILURE_LOG_LINES = 20;

/**
 * A pipeline parent's flow on BullMQ: its children are ordinary jobs of a pool's queue (its own
 * pool's, or another's: a child's `pool` decides) with the parent set, so BullMQ holds the parent in `waiting-children` until they finish. Children are
 * added with `continueParentOnFailure`: the first child that fails for good moves the parent back
 * to its processor at once, where the pipeline applies its policy (stop the rest, fail).
 */
export class BullmqFlow implements Flow {
  readonly #job: Job<JobData, JobResult>;
  readonly #queues: FleetQueueSource;
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(job: Job<JobData, JobResult>, queues: FleetQueueSource, redis: Redis, prefix: string) {
    this.#job = job;
    this.#queues = queues;
    this.#redis = redis;
    this.#prefix = prefix;
  }

  /** Each child goes to the queue of its own pool (the parent's, unless the pipeline says otherwise). */
  async addChildren(children: readonly ChildJob[]): Promise<void> {
    const parent = { id: this.#job.id!, queue: this.#job.queueQualifiedName };
    const byPool = Map.groupBy(children, (child) => child.data.pool);
    for (const [pool, poolChildren] of byPool) {
      const queue = this.#queues.byPool(pool);
      for (let i = 0; i < poolChildren.length; i += BULK) {
        await queue.addBulk(
          poolChildren.slice(i, i + BULK).map((child) => ({
            name: child.name,
            data: child.data,
            opts: { ...jobOptions(child.id, child.data.spec), parent, continueParentOnFailure: true },
          })),
        );
      }
    }
  }

  async saveState(state: PipelineState): Promise<void> {
    await this.#job.updateData({ ...this.#job.data, pipeline: state });
  }

  async childResults(): Promise<Map<string, unknown>> {
    const values = await this.#job.getChildrenValues();
    return new Map(Object.entries(values).map(([key, value]) => [this.#child(key).id, value]));
  }

  async failedChildren(): Promise<{ id: string; failure: JobFailure }[]> {
    const failed = await this.#job.getIgnoredChildrenFailures();
    return Promise.all(
      Object.entries(failed).map(async ([key, reason]) => {
        const { queue, id } = this.#child(key);
        return { id, failure: (await this.#failureOf(queue, id)) ?? { code: 'failed', message: reason } };
      }),
    );
  }

  /**
   * Removes the children still queued and stops the running ones: the parent's stop marker makes
   * a worker that is about to start one of them cancel it, the message kills the ones running.
   */
  async stopChildren(): Promise<void> {
    const id = this.#job.id!;
    await this.#redis.set(keys.stopMarker(this.#prefix, id), '1', 'EX', CANCELLED_TTL_SECONDS);
    await this.#job.removeUnprocessedChildren();
    await this.#redis.publish(keys.cancelChannel(this.#prefix), JSON.stringify({ id }));
  }

  async cancelled(): Promise<boolean> {
    return (await this.#redis.exists(keys.cancelMarker(this.#prefix, this.#job.id!))) === 1;
  }

  /** A child's key is `<prefix>:<queue>:<id>`; neither queue names nor job ids hold a colon. */
  #child(key: string): { queue: string; id: string } {
    const [queue = '', id = ''] = key.slice(this.#prefix.length + 1).split(':');
    return { queue, id };
  }

  /** The failure the child's worker wrote to its log (code, message, stderr), newest first. */
  async #failureOf(queueName: string, id: string): Promise<JobFailure | undefined> {
    const { logs } = await this.#queues.byName(queueName).getJobLogs(id, -FAILURE_LOG_LINES, -1);
    for (const line of logs.reverse()) {
      const failure = readFailureLogLine(line);
      if (failure) return failure;
    }
    return undefined;
  }
}

/** The fleet's queues, opened on first use: by pool (to add children) and by queue name (to read them). */
export interface FleetQueueSource {
  byPool(pool: string): Queue<JobData>;
  byName(name: string): Queue<JobData>;
}
