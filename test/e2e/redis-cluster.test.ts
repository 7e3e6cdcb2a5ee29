/**
 * The fleet on a Redis Cluster (as ElastiCache runs in cluster mode): three masters started
 * from Debian's redis-server, the queue prefix with a hash tag. Jobs, a chunked encode (a
 * BullMQ flow), a batch, idempotent submission, cancel, the worker registry and a restart of
 * every master, with real workers and ffmpeg. `make test-redis-cluster` runs the whole
 * end-to-end suite this way.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadFleetConfig } from '@ffleet/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finished, startFleet, type TestFleet } from '../support/fleet.ts';
import { analyseFile, makeSampleClip } from '../support/media.ts';

const POOL = 'intel';

let fleet: TestFleet;
let sourceFrames: number;

beforeAll(async () => {
  fleet = await startFleet({ redisCluster: true });
  const source = join(fleet.dir, 'source.mp4');
  await makeSampleClip(source, { seconds: 8, size: '320x180' });
  sourceFrames = (await analyseFile(source)).video!.frameTimes.length;
  await fleet.put('inputs/source.mp4', source);
  await fleet.startWorker(POOL, { FFLEET_CONCURRENCY: '2' });
}, 120_000);

afterAll(async () => {
  await fleet?.stop();
});

function job(name: string, extra: Record<string, unknown> = {}, compute = POOL) {
  return {
    name,
    compute,
    inputs: [{ url: `s3://${fleet.bucket}/inputs/source.mp4` }],
    outputs: [
      {
        url: `s3://${fleet.bucket}/out/${name}.mp4`,
        options: '-c:v libx264 -preset ultrafast -threads 1 -c:a copy',
      },
    ],
    ...extra,
  };
}

async function outputFrames(name: string): Promise<number> {
  const file = join(fleet.dir, `${name}.mp4`);
  await writeFile(file, await fleet.get(`out/${name}.mp4`));
  return (await analyseFile(file)).video!.frameTimes.length;
}

describe('on a three-master Redis Cluster', () => {
  it('is a real cluster: three masters share the slots', async () => {
    const info = String(await fleet.redis().cluster('INFO'));
    expect(info).toMatch(/cluster_state:ok/);
    expect(info).toMatch(/cluster_size:3/);
  });

  it('runs a job and a chunked encode whose chunks are a flow across the queue', async () => {
    const single = await fleet.submit(job('single'));
    const chunked = await fleet.submit(job('chunked', { split: { segmentSeconds: 2 } }));
    for (const id of [single, chunked])
      expect((await fleet.waitFor(id, finished, 180_000)).state).toBe('succeeded');
    expect(await outputFrames('single')).toBe(sourceFrames);
    expect(await outputFrames('chunked')).toBe(sourceFrames);
  }, 240_000);

  it('runs a batch, keeps submissions idempotent, cancels, and lists the worker', async () => {
    const items = ['a', 'b', 'c'].map(() => `s3://${fleet.bucket}/inputs/source.mp4`);
    const { status, body: batch } = await fleet.api<{ id: string }>('POST', '/v1/batches', {
      name: 'cluster-batch',
      compute: POOL,
      items,
      outputs: [{ url: `s3://${fleet.bucket}/batch/{index}.mp4`, options: '-c copy' }],
    });
    expect(status).toBe(202);

    const first = await fleet.submit(job('idem', { idempotencyKey: 'cluster-key' }));
    const again = await fleet.api<{ id: string }>(
      'POST',
      '/v1/jobs',
      job('idem', { idempotencyKey: 'cluster-key' }),
    );
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first);

    // A pool with no worker here: the job waits, and is cancelled there.
    const waiting = await fleet.submit(job('never', {}, 'nvidia'));
    expect((await fleet.api('DELETE', `/v1/jobs/${waiting}`)).status).toBe(202);
    expect((await fleet.waitFor(waiting, finished)).state).toBe('cancelled');

    const deadline = Date.now() + 180_000;
    let view: { state: string; counts: { succeeded: number } } | undefined;
    while (Date.now() < deadline) {
      view = (await fleet.api<typeof view>('GET', `/v1/batches/${batch.id}`)).body;
      if (view && view.state !== 'running') break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(view?.state).toBe('succeeded');
    expect(view?.counts.succeeded).toBe(3);
    expect((await fleet.waitFor(first, finished, 120_000)).state).toBe('succeeded');

    const { body } = await fleet.api<{ pools: { name: string; workers: unknown[] }[] }>('GET', '/v1/pools');
    expect(body.pools.find((p) => p.name === POOL)?.workers).toHaveLength(1);
  }, 240_000);

  it('goes on after every master restarts', async () => {
    await fleet.stack.restartRedis();
    // Clients follow Retry-After until the gateway is ready again.
    await expect.poll(async () => (await fleet.api('GET', '/readyz')).status, { timeout: 30_000 }).toBe(200);
    const id = await fleet.submit(job('after-restart'));
    expect((await fleet.waitFor(id, finished, 120_000)).state).toBe('succeeded');
  }, 180_000);

  it('refuses to start without a hash tag in the queue prefix', () => {
    expect(() =>
      loadFleetConfig({ ...fleet.env, FFLEET_QUEUE_PREFIX: 'ffleet', FFLEET_REDIS_CLUSTER: 'true' }),
    ).toThrow(/must carry a hash tag such as \{ffleet\}/);
  });
});
