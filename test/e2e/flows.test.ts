/**
 * The engine's BullMQ flow on a real Redis: children go to the queue of their own pool (the
 * parent's or another's), a child that fails for good is reported with the failure its worker
 * logged, wherever it ran, and stopping removes the children not yet started.
 */
import {
  FAILURE_LOG_PREFIX,
  type JobData,
  type JobSpec,
  openRedis,
  PoolRegistry,
  type RedisClient,
} from '@ffleet/core';
import { type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from '../../scripts/lib/stack.ts';
import { BullmqFlow, type FleetQueueSource } from '../../services/worker/src/fleet/bullmq-flow.ts';

// A hash tag, so a Redis Cluster keeps the flow's keys in one slot.
const PREFIX = '{flows}';
let stack: Stack;
let redis: RedisClient;
const queues = new Map<string, Queue<JobData>>();
const pools = PoolRegistry.load();
const source: FleetQueueSource = {
  byName(name) {
    let queue = queues.get(name);
    if (!queue) {
      queue = new Queue<JobData>(name, { connection: redis, prefix: PREFIX });
      queues.set(name, queue);
    }
    return queue;
  },
  byPool: (pool) => source.byName(pools.get(pool)!.queue),
};

beforeAll(async () => {
  stack = await startStack();
  redis = openRedis(stack, { maxRetriesPerRequest: null });
});

afterAll(async () => {
  await Promise.all([...queues.values()].map((q) => q.close()));
  redis?.disconnect();
  await stack?.stop();
});

const spec = (name: string, pool: string): JobSpec => ({
  name,
  compute: pool,
  inputs: [{ url: 's3://media/in.mp4' }],
  outputs: [{ url: 's3://media/out.mp4' }],
});
const child = (id: string, pool: string) => ({
  id,
  name: id,
  data: { spec: spec(id, pool), pool, submittedAt: 0 },
});

async function parentJob(id: string): Promise<Job<JobData, never>> {
  const queue = source.byPool('intel');
  await queue.add('parent', { spec: spec('parent', 'intel'), pool: 'intel', submittedAt: 0 }, { jobId: id });
  return (await queue.getJob(id)) as Job<JobData, never>;
}

describe('a pipeline flow on BullMQ', () => {
  it("adds each child to its own pool's queue under the parent, once however often it is asked", async () => {
    const parent = await parentJob('p1');
    const flow = new BullmqFlow(parent, source, redis, PREFIX);
    const children = [child('p1-c0', 'intel'), child('p1-c1', 'amd'), child('p1-c2', 'amd')];
    await flow.addChildren(children);
    await flow.addChildren(children);

    expect(await source.byPool('intel').getJob('p1-c0')).toMatchObject({
      parentKey: `${PREFIX}:ffleet-intel:p1`,
    });
    expect(await source.byPool('amd').getJob('p1-c1')).toMatchObject({
      parentKey: `${PREFIX}:ffleet-intel:p1`,
    });
    expect(await source.byPool('amd').getJob('p1-c0')).toBeUndefined();
    expect(await parent.getDependenciesCount()).toMatchObject({ unprocessed: 3 });
  });

  it("reports a child that failed for good with its worker's failure, from the child's queue", async () => {
    const parent = await parentJob('p2');
    const flow = new BullmqFlow(parent, source, redis, PREFIX);
    await flow.addChildren([child('p2-c0', 'amd'), child('p2-c1', 'amd')]);
    const failure = { code: 'ffmpeg_failed', message: 'ffmpeg exited with code 1', stderr: ['bad frame'] };
    const connection = openRedis(stack, { maxRetriesPerRequest: null });
    const worker = new Worker<JobData>(
      'ffleet-amd',
      async (job) => {
        if (job.id !== 'p2-c0') return;
        await job.log(FAILURE_LOG_PREFIX + JSON.stringify(failure));
        throw new UnrecoverableError(failure.message);
      },
      { connection, prefix: PREFIX },
    );
    try {
      await expect.poll(() => flow.failedChildren(), { timeout: 10_000 }).toEqual([{ id: 'p2-c0', failure }]);
    } finally {
      await worker.close();
      connection.disconnect();
    }
  });

  it('removes the children not yet started when it stops them, and marks the pipeline stopped', async () => {
    const parent = await parentJob('p3');
    const flow = new BullmqFlow(parent, source, redis, PREFIX);
    await flow.addChildren([child('p3-c0', 'intel'), child('p3-c1', 'amd')]);
    await flow.stopChildren();
    expect(await source.byPool('intel').getJob('p3-c0')).toBeUndefined();
    expect(await source.byPool('amd').getJob('p3-c1')).toBeUndefined();
    expect(await redis.exists(`${PREFIX}:stopped:p3`)).toBe(1);
    expect(await flow.cancelled()).toBe(false);
  });
});
