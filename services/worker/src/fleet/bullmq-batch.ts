import {
  type BatchState,
  batchChildId,
  type JobData,
  type JobFailure,
  type JobResult,
  keys,
  type RedisClient,
  readFailureLogLine,
} from '@ffleet/core';
import type { Job, Queue } from 'bullmq';
import type { BatchRecords } from '../pipelines/batch/batch-records.ts';

const FAILURE_LOG_LINES = 20;

/**
 * A batch parent's records on BullMQ: a child that finishes is written into its parent's
 * `processed` hash (return value) or, with `ignoreDependencyOnFailure`, its `failed` hash
 * (reason), keyed by the child's key; those hashes live as long as the parent.
 */
export class BullmqBatch implements BatchRecords {
  readonly #job: Job<JobData, JobResult>;
  readonly #queue: Queue<JobData>;
  readonly #redis: RedisClient;
  readonly #prefix: string;

  constructor(job: Job<JobData, JobResult>, queue: Queue<JobData>, redis: RedisClient, prefix: string) {
    this.#job = job;
    this.#queue = queue;
    this.#redis = redis;
    this.#prefix = prefix;
  }

  async succeeded(): Promise<Map<number, unknown>> {
    const values = await this.#redis.hgetall(`${this.#queue.toKey(this.#job.id!)}:processed`);
    return this.#byIndex(values, (text) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return undefined;
      }
    });
  }

  async failed(): Promise<Map<number, string>> {
    const reasons = await this.#redis.hgetall(`${this.#queue.toKey(this.#job.id!)}:failed`);
    return this.#byIndex(reasons, (reason) => reason);
  }

  async failureOf(index: number): Promise<JobFailure | undefined> {
    const { logs } = await this.#queue.getJobLogs(
      batchChildId.item(this.#job.id!, index),
      -FAILURE_LOG_LINES,
      -1,
    );
    for (const line of logs.reverse()) {
      const failure = readFailureLogLine(line);
      if (failure) return failure;
    }
    return undefined;
  }

  async cancelled(): Promise<boolean> {
    return (await this.#redis.exists(keys.cancelMarker(this.#prefix, this.#job.id!))) === 1;
  }

  async saveState(state: BatchState): Promise<void> {
    await this.#job.updateData({ ...this.#job.data, pipeline: state });
  }

  #byIndex<T>(hash: Record<string, string>, read: (value: string) => T): Map<number, T> {
    const byIndex = new Map<number, T>();
    for (const [key, value] of Object.entries(hash)) {
      const index = batchChildId.indexOf(this.#job.id!, key);
      if (index !== undefined) byIndex.set(index, read(value));
    }
    return byIndex;
  }
}
