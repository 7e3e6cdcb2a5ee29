/**
 * What a job keeps in BullMQ (its progress, its result, its failure log line) and a cancelled
 * job's tombstone cross Redis, so the gateway checks each against its schema before showing it.
 * Here they are written straight into Redis, as a stranger (or a worker of another version)
 * could, and the job view shows only what passes.
 */
import { keys, type RedisClient } from '@ffleet/core';
import { type Job, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finished, startFleet, type TestFleet } from '../support/fleet.ts';

let fleet: TestFleet;
let redis: RedisClient;

beforeAll(async () => {
  fleet = await startFleet();
  redis = fleet.redis();
});

afterAll(async () => {
  redis?.disconnect();
  await fleet?.stop();
});

/** A job for a pool no ffleet worker serves here, so only the test touches it. */
async function submit(name: string, compute: string): Promise<string> {
  const { status, body } = await fleet.api<{ id: string }>('POST', '/v1/jobs', {
    name,
    compute,
    attempts: 1,
    inputs: [{ url: `s3://${fleet.bucket}/inputs/none.mp4` }],
    outputs: [{ url: `s3://${fleet.bucket}/out/${name}.mp4` }],
  });
  expect(status).toBe(202);
  return body.id;
}

const view = async (id: string) => (await fleet.api<Record<string, unknown>>('GET', `/v1/jobs/${id}`)).body;

describe('the job view checks what workers stored', () => {
  it('shows progress only when it is ffleet progress', async () => {
    const id = await submit('progress', 'nvidia');
    const job = (await fleet.gateway.queues.queue('nvidia').getJob(id))!;
    await job.updateProgress({ stage: 'warp', percent: 'half' });
    expect((await view(id)).progress).toBeNull();
    await job.updateProgress(42);
    expect((await view(id)).progress).toBeNull();
    await job.updateProgress({ stage: 'ffmpeg', percent: 42, fps: 30 });
    expect((await view(id)).progress).toEqual({ stage: 'ffmpeg', percent: 42, fps: 30 });
    expect((await fleet.api('DELETE', `/v1/jobs/${id}`)).status).toBe(202);
  });

  it('shows a result only when it is a JobResult, and a failure only when it is a JobFailure', async () => {
    const queue = fleet.gateway.queues.queue('xilinx');
    const good = await submit('good-failure', 'xilinx');
    const bad = await submit('bad-failure', 'xilinx');
    const odd = await submit('odd-result', 'xilinx');
    // A stand-in worker that stores what it likes.
    const connection = fleet.redis();
    const worker = new Worker(
      queue.name,
      async (job: Job) => {
        if (job.id === odd) return { outputs: 'none', timings: { ffmpeg: 'fast' } };
        await job.log(
          job.id === good
            ? 'ffleet-failure {"code":"input_missing","message":"no such object","exitCode":null}'
            : 'ffleet-failure {"code":5}',
        );
        throw new Error('stand-in failure');
      },
      { connection, prefix: fleet.env.FFLEET_QUEUE_PREFIX },
    );
    try {
      const [goodView, badView, oddView] = await Promise.all(
        [good, bad, odd].map((id) => fleet.waitFor<Record<string, unknown>>(id, finished)),
      );
      expect(goodView).toMatchObject({
        state: 'failed',
        error: { code: 'input_missing', message: 'no such object', exitCode: null },
      });
      expect(badView).toMatchObject({
        state: 'failed',
        error: { code: 'failed', message: 'stand-in failure' },
      });
      expect(oddView).toMatchObject({
        state: 'succeeded',
        outputs: null,
        timings: null,
        media: null,
        quality: null,
        metricsUrl: null,
      });
    } finally {
      await worker.close();
      connection.disconnect();
    }
  });

  it('answers 404 for a cancelled job whose tombstone is not a job view', async () => {
    const id = 'not-a-real-job';
    const marker = keys.cancelMarker(fleet.env.FFLEET_QUEUE_PREFIX!, id);
    await redis.set(marker, JSON.stringify({ id, state: 'cancelled' }), 'EX', 60);
    expect((await fleet.api('GET', `/v1/jobs/${id}`)).status).toBe(404);
    await redis.del(marker);
  });
});
