import { randomUUID } from 'node:crypto';
import {
  type BatchAccepted,
  type BatchCounts,
  type BatchItem,
  type BatchItemsPage,
  type BatchItemView,
  type BatchSpec,
  type BatchState,
  type BatchView,
  batchChildId,
  batchItemState,
  countBatchItems,
  FfleetError,
  type ItemFacts,
  type JobData,
  jobOptions,
  keys,
  MAX_BATCH_ITEMS,
  manifestUrls,
  NOT_QUEUED,
  PIPELINE_PRIORITY,
  type PoolRegistry,
  parseStorageUrl,
  planBatch,
  type RedisClient,
  readFailureLogLine,
  type S3Store,
  type UrlPolicy,
} from '@ffleet/core';
import { FlowProducer, type Job, type Queue } from 'bullmq';
import type { FleetQueues, Submitter } from './fleet-queues.ts';

/** Items per addBulk: one Redis transaction each, short enough not to stall Redis for others. */
const BULK = 500;
/**
 * The gate holds the batch back while its items are added. It is delayed this long: should the
 * gateway die mid-add, a worker then runs it (a no-op) and the batch goes on with the items it has.
 */
export const GATE_DELAY_MS = 10 * 60 * 1000;
/** Finished items are kept as long as finished jobs, however many there are (no count cap). */
const ITEM_RETENTION = {
  removeOnComplete: { age: 7 * 24 * 3600 },
  removeOnFail: { age: 14 * 24 * 3600 },
};
const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;
const FAILURE_LOG_LINES = 20;

/**
 * Batches on the pools' queues: a batch is a parent job (kind `batch`) whose children are its
 * items, ordinary jobs of the pool with `ignoreDependencyOnFailure`, so an item failing for good
 * is recorded on the parent and the others go on. Everything about a batch is read from the
 * parent's records (BullMQ's hashes of finished children) and the queue's active list.
 */
export class FleetBatches {
  readonly #queues: FleetQueues;
  readonly #redis: RedisClient;
  readonly #prefix: string;
  /** Made on the first batch: a gateway that never takes one opens nothing for it. */
  #flows: FlowProducer | undefined;

  constructor(queues: FleetQueues, redis: RedisClient, prefix: string) {
    this.#queues = queues;
    this.#redis = redis;
    this.#prefix = prefix;
  }

  /**
   * The inputs of a batch: its list, or the objects under its prefix (listed here, with a cap).
   * Exactly one of the two.
   */
  async inputsOf(
    batch: BatchSpec,
    policy: UrlPolicy,
    s3: S3Store,
  ): Promise<{ inputs: string[]; listedPrefix?: string }> {
    if (batch.items && batch.itemsFrom)
      throw new FfleetError('invalid_job', 'give either items or itemsFrom, not both', 400);
    if (batch.items) return { inputs: batch.items };
    if (!batch.itemsFrom) throw new FfleetError('invalid_job', 'a batch needs items or itemsFrom', 400);
    const { prefix, suffix, max } = batch.itemsFrom;
    const folder = parseStorageUrl(prefix, { ...policy, allowFile: false });
    if (folder.scheme !== 's3' || !folder.folder)
      throw new FfleetError('invalid_job', 'itemsFrom.prefix must be an s3:// folder URL ending in /', 400);
    const found = await s3.list(folder, max ?? MAX_BATCH_ITEMS, suffix);
    if (found.length === 0) throw new FfleetError('empty_batch', `no objects under ${prefix}`, 400);
    return { inputs: found.map((key) => `s3://${folder.bucket}/${key}`), listedPrefix: prefix };
  }

  /**
   * Queues a batch: the parent with its gate (one FlowProducer call, so the parent is born
   * waiting for children), then the items in bulks, then the gate removed, which lets the parent
   * run once the items are done. A batch cancelled meanwhile stops adding; one that cannot be
   * added in full is cancelled, and the error answers the request.
   */
  async create(
    batch: BatchSpec,
    inputs: { inputs: string[]; listedPrefix?: string },
    pools: PoolRegistry,
    policy: UrlPolicy,
    from: Submitter = {},
  ): Promise<{ id: string; created: boolean; items: number; pool: string }> {
    const { items, template } = planBatch(batch, inputs.inputs, pools, policy, inputs.listedPrefix);
    const pool = template.pool;
    const id = randomUUID();
    const idempotencyKey = batch.idempotencyKey
      ? keys.idempotency(this.#prefix, batch.idempotencyKey, from.owner)
      : undefined;
    if (idempotencyKey) {
      const claimed = await this.#redis.set(idempotencyKey, id, 'EX', IDEMPOTENCY_TTL_SECONDS, 'NX');
      if (claimed === null) {
        const existing = await this.#redis.get(idempotencyKey);
        if (existing) return { id: existing, created: false, items: items.length, pool: pool.name };
      }
    }
    try {
      // Every item waits in the pool's queue: a batch that would take it past its cap is refused whole.
      await this.#queues.checkRoom(pool, items.length);
    } catch (error) {
      if (idempotencyKey) await this.#redis.del(idempotencyKey);
      throw error;
    }
    const queue = this.#queues.queue(pool.name);
    const submittedAt = Date.now();
    const submitter = {
      ...(from.traceparent ? { traceparent: from.traceparent } : {}),
      ...(from.owner ? { owner: from.owner } : {}),
    };
    const pipeline: BatchState = { kind: 'batch', inputs: inputs.inputs, manifest: manifestUrls(batch, id) };
    // The parent's spec is the first item's, named as the batch, with the batch's webhook.
    const parentSpec = { ...items[0]!.spec, ...(batch.webhook ? { webhook: batch.webhook } : {}) };
    const parent: JobData = { spec: parentSpec, pool: pool.name, submittedAt, ...submitter, pipeline };
    const gate: JobData = {
      spec: items[0]!.spec,
      pool: pool.name,
      submittedAt,
      role: { kind: 'gate', parentId: id },
    };
    this.#flows ??= new FlowProducer({ connection: this.#redis, prefix: this.#prefix });
    await this.#flows.add({
      name: batch.name,
      queueName: queue.name,
      data: parent,
      opts: { ...jobOptions(id, batch), priority: PIPELINE_PRIORITY },
      children: [
        {
          name: 'gate',
          queueName: queue.name,
          data: gate,
          opts: {
            jobId: batchChildId.gate(id),
            delay: GATE_DELAY_MS,
            attempts: 1,
            ignoreDependencyOnFailure: true,
            removeOnComplete: true,
            removeOnFail: true,
          },
        },
      ],
    });
    try {
      await this.#addItems(queue, id, items, {
        name: batch.name,
        pool: pool.name,
        submittedAt,
        ...submitter,
      });
    } catch (error) {
      // The caller gets an error, not an id: nothing of this batch may run unseen.
      await this.#queues.cancel(id).catch(() => {});
      if (idempotencyKey) await this.#redis.del(idempotencyKey);
      throw error;
    }
    return { id, created: true, items: items.length, pool: pool.name };
  }

  /** The items in bulks, then the gate removed; a batch cancelled meanwhile stops adding. */
  async #addItems(
    queue: Queue<JobData, unknown>,
    id: string,
    items: readonly BatchItem[],
    base: { name: string; pool: string; submittedAt: number; traceparent?: string; owner?: string },
  ): Promise<void> {
    const { name, ...shared } = base;
    const parent = { id, queue: queue.qualifiedName };
    for (let i = 0; i < items.length; i += BULK) {
      if (await this.#cancelled(id)) break;
      await queue.addBulk(
        items.slice(i, i + BULK).map((item) => ({
          name,
          data: {
            ...shared,
            spec: item.spec,
            role: { kind: 'item' as const, parentId: id, index: item.index },
          },
          opts: {
            ...jobOptions(batchChildId.item(id, item.index), item.spec),
            ...ITEM_RETENTION,
            parent,
            ignoreDependencyOnFailure: true,
          },
        })),
      );
    }
    // Removing the last pending child moves the parent on (BullMQ's removeParentDependencyKey).
    await queue.remove(batchChildId.gate(id));
  }

  accepted(id: string, items: number, pool: string, traceId?: string): BatchAccepted {
    return {
      id,
      state: 'running',
      pool,
      items,
      links: this.links(id, traceId),
      ...(traceId ? { traceId } : {}),
    };
  }

  links(id: string, traceId?: string): BatchView['links'] {
    const job = this.#queues.links(id, traceId);
    return {
      self: `/v1/batches/${id}`,
      items: `/v1/batches/${id}/items`,
      job: job.self,
      ...(job.trace ? { trace: job.trace } : {}),
    };
  }

  /** A batch's parent job, or a 404. */
  async #parent(id: string): Promise<Job<JobData, unknown> & { data: { pipeline: BatchState } }> {
    const job = await this.#queues.find(id);
    if (job?.data.pipeline?.kind !== 'batch')
      throw new FfleetError('not_found', `batch ${id} does not exist`, 404);
    return job as Job<JobData, unknown> & { data: { pipeline: BatchState } };
  }

  async view(id: string): Promise<BatchView> {
    const job = await this.#parent(id);
    const view = await this.#queues.view(id);
    if (!view) throw new FfleetError('not_found', `batch ${id} does not exist`, 404);
    const state = job.data.pipeline;
    const finished = view.state !== 'queued' && view.state !== 'running';
    const counts = state.counts ?? (await this.#counts(job));
    return {
      id,
      name: view.name,
      pool: view.pool,
      // A batch is never queued (its items are): its parent waiting for a worker to write the manifest is still running.
      state: view.state === 'queued' ? 'running' : view.state,
      counts,
      createdAt: view.createdAt,
      finishedAt: view.finishedAt,
      manifest: finished && state.counts ? state.manifest : null,
      error: view.error ? { code: view.error.code, message: view.error.message } : null,
      traceId: view.traceId,
      links: this.links(id, view.traceId ?? undefined),
    };
  }

  async #counts(job: Job<JobData, unknown> & { data: { pipeline: BatchState } }): Promise<BatchCounts> {
    const queue = this.#queues.queue(job.data.pool);
    const parentKey = queue.toKey(job.id!);
    const [processed, failed, active, cancelled] = await Promise.all([
      this.#redis.hkeys(`${parentKey}:processed`),
      this.#redis.hgetall(`${parentKey}:failed`),
      this.#redis.lrange(queue.toKey('active'), 0, -1),
      this.#cancelled(job.id!),
    ]);
    const total = job.data.pipeline.inputs.length;
    const facts: ItemFacts[] = Array.from({ length: total }, () => ({ succeeded: false, running: false }));
    const at = (idOrKey: string) => {
      const index = batchChildId.indexOf(job.id!, idOrKey);
      return index !== undefined && index < total ? facts[index] : undefined;
    };
    for (const key of processed) {
      const item = at(key);
      if (item) item.succeeded = true;
    }
    for (const [key, reason] of Object.entries(failed)) {
      const item = at(key);
      if (item) item.failedReason = reason;
    }
    for (const childId of active) {
      const item = at(childId);
      if (item) item.running = true;
    }
    return countBatchItems(
      facts.map((f) => batchItemState(f, cancelled)),
      total,
    );
  }

  /** A page of items: `cursor` is the index to start from (as returned in `nextCursor`). */
  async items(id: string, cursor: number, limit: number): Promise<BatchItemsPage> {
    const job = await this.#parent(id);
    const { inputs } = job.data.pipeline;
    // The manifest's counts are written when the batch ends.
    const ended = job.data.pipeline.counts !== undefined;
    const queue = this.#queues.queue(job.data.pool);
    const parentKey = queue.toKey(id);
    const end = Math.min(inputs.length, cursor + limit);
    if (cursor >= end) return { items: [], nextCursor: null };
    const ids = Array.from({ length: end - cursor }, (_, i) => batchChildId.item(id, cursor + i));
    const childKeys = ids.map((childId) => queue.toKey(childId));
    const [processed, failed, active, cancelled] = await Promise.all([
      this.#redis.hmget(`${parentKey}:processed`, ...childKeys),
      this.#redis.hmget(`${parentKey}:failed`, ...childKeys),
      this.#redis.lrange(queue.toKey('active'), 0, -1),
      this.#cancelled(id),
    ]);
    const running = new Set(active);
    const items = await Promise.all(
      ids.map(async (jobId, i): Promise<BatchItemView> => {
        const failedReason = failed[i] ?? undefined;
        const state = batchItemState(
          { succeeded: processed[i] !== null, running: running.has(jobId), failedReason },
          cancelled,
          ended,
        );
        const error =
          state !== 'failed'
            ? null
            : failedReason === undefined
              ? NOT_QUEUED
              : await failureOf(queue, jobId, failedReason);
        return { index: cursor + i, input: inputs[cursor + i]!, jobId, state, error };
      }),
    );
    return { items, nextCursor: end < inputs.length ? String(end) : null };
  }

  /** Cancels a batch: its queued items are removed, its running ones stopped (see FleetQueues.cancel). */
  async cancel(id: string): Promise<BatchView> {
    await this.#parent(id);
    await this.#queues.cancel(id);
    return this.view(id);
  }

  #cancelled(id: string): Promise<boolean> {
    return this.#redis.exists(keys.cancelMarker(this.#prefix, id)).then((n) => n === 1);
  }

  async close(): Promise<void> {
    await this.#flows?.close();
  }
}

/** An item's failure as its worker logged it (code and message), else BullMQ's reason. */
async function failureOf(
  queue: Queue<JobData, unknown>,
  jobId: string,
  reason: string,
): Promise<{ code: string; message: string }> {
  const { logs } = await queue.getJobLogs(jobId, -FAILURE_LOG_LINES, -1);
  for (const line of logs.reverse()) {
    const failure = readFailureLogLine(line);
    if (failure) return { code: failure.code, message: failure.message };
  }
  return { code: 'failed', message: reason };
}
