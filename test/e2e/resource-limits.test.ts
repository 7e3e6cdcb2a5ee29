/**
 * A job over the pool's memory limits (an allocation bomb: a 16000×16000 frame) fails once
 * with `resource_limit` naming the limit, is not retried, and the same worker runs the next job.
 */
import { join } from 'node:path';
import type { JobView } from '@ffleet/gateway';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finished, startFleet, type TestFleet, type WorkerProcess } from '../support/fleet.ts';
import { makeSampleClip } from '../support/media.ts';

let fleet: TestFleet;
let worker: WorkerProcess;

beforeAll(async () => {
  fleet = await startFleet();
  const clip = join(fleet.dir, 'sample.mp4');
  await makeSampleClip(clip, { seconds: 1, size: '320x240' });
  await fleet.put('inputs/sample.mp4', clip);
  worker = await fleet.startWorker('amd', {
    FFLEET_CONCURRENCY: '1',
    FFLEET_FFMPEG_MEMORY_MB: '1024',
    FFLEET_FFMPEG_MAX_ALLOC_MB: '512',
  });
});

afterAll(async () => {
  await fleet?.stop();
});

function job(name: string, options: string) {
  return {
    name,
    compute: 'amd',
    attempts: 3,
    inputs: [{ url: `s3://${fleet.bucket}/inputs/sample.mp4` }],
    outputs: [{ url: `s3://${fleet.bucket}/out/${name}.mp4`, options }],
  };
}

async function submit(body: unknown): Promise<string> {
  const { status, body: accepted } = await fleet.api<{ id: string }>('POST', '/v1/jobs', body);
  expect(status).toBe(202);
  return accepted.id;
}

async function workerIds(): Promise<string[]> {
  const { body } = await fleet.api<{ pools: { name: string; workers: { id: string }[] }[] }>(
    'GET',
    '/v1/pools',
  );
  return body.pools.find((p) => p.name === 'amd')?.workers.map((w) => w.id) ?? [];
}

describe('resource limits', () => {
  it('fails an allocation bomb once with resource_limit, and the same worker runs the next job', async () => {
    const before = await workerIds();
    expect(before).toHaveLength(1);

    const bomb = await submit(job('bomb', '-vf scale=16000:16000 -c:v libx264 -preset ultrafast'));
    const failed = await fleet.waitFor<JobView>(bomb, finished, 120_000);
    expect(failed.state).toBe('failed');
    expect(failed.error?.code, JSON.stringify(failed.error)).toBe('resource_limit');
    expect(failed.error?.message).toMatch(/FFLEET_FFMPEG_MEMORY_MB, 1024 MiB/);
    expect(failed.error?.message).toMatch(/FFLEET_FFMPEG_MAX_ALLOC_MB, 512 MiB/);
    // Permanent: not retried although the job allows 3 attempts.
    expect(failed.attempts.made).toBe(1);
    expect(await fleet.exists('out/bomb.mp4')).toBe(false);

    const next = await submit(job('after-bomb', '-c:v libx264 -preset ultrafast'));
    const done = await fleet.waitFor<JobView>(next, finished, 120_000);
    expect(done.state, JSON.stringify(done.error)).toBe('succeeded');
    expect(await fleet.exists('out/after-bomb.mp4')).toBe(true);
    expect(worker.child.exitCode).toBeNull();
    expect(await workerIds()).toEqual(before);
  });
});
