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
 * A pipeline parent's flow on BullMQ: its children are ordinary jobs of its pool's queue with the
 * parent set, so BullMQ holds the parent in `waiting-children` until they finish. Children are
 * added with `continueParentOnFailure`: the first child that fails for good moves the parent back
 * to its processor at once, where the pipeline applies its policy (stop the rest, fail).
 */
export class BullmqFlow implements Flow {
  readonly #job: Job<JobData, JobResult>;
  readonly #queue: Queue<JobData>;
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(job: Job<JobData, JobResult>, queue: Queue<JobData>, redis: Redis, prefix: string) {
    this.#job = job;
    this.#queue = queue;
    this.#redis = redis;
    this.#prefix = prefix;
  }

  async addChildren(children: readonly ChildJob[]): Promise<void> {
    const parent = { id: this.#job.id!, queue: this.#job.queueQualifiedName };
    for (let i = 0; i < children.length; i += BULK) {
      await this.#queue.addBulk(
        children.slice(i, i + BULK).map((child) => ({
          name: child.name,
          data: child.data,
          opts: { ...jobOptions(child.id, child.data.spec), parent, continueParentOnFailure: true },
        })),
      );
    }
  }

  async saveState(state: PipelineState): Promise<void> {
    await this.#job.updateData({ ...this.#job.data, pipeline: state });
  }

  async failedChildren(): Promise<{ id: string; failure: JobFailure }[]> {
    const failed = await this.#job.getIgnoredChildrenFailures();
    return Promise.all(
      Object.entries(failed).map(async ([key, reason]) => {
        const id = this.#childId(key);
        return { id, failure: (await this.#failureOf(id)) ?? { code: 'failed', message: reason } };
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

  /** A child's key is `<prefix>:<queue>:<id>`; ids never hold a colon (see the pipelines' ids). */
  #childId(key: string): string {
    return key.slice(key.lastIndexOf(':') + 1);
  }

  /** The failure the child's worker wrote to its log (code, message, stderr), newest first. */
  async #failureOf(id: string): Promise<JobFailure | undefined> {
    const { logs } = await this.#queue.getJobLogs(id, -FAILURE_LOG_LINES, -1);
    for (const line of logs.reverse()) {
      const failure = readFailureLogLine(line);
      if (failure) return failure;
    }
    return undefined;
  }
}
