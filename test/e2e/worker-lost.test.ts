/**
 * The stall limit: a job that takes its worker down each time it runs (here the worker is
 * SIGKILLed whenever it runs the job) goes back to the queue FFLEET_MAX_STALLED_COUNT times,
 * then fails with `worker_lost` instead of cycling through the fleet; its view and its
 * webhook say so, and the worker that ended it goes on with other jobs.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { JobView } from '@ffleet/gateway';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ffmpegProcesses,
  finished,
  startFleet,
  type TestFleet,
  type WorkerProcess,
} from '../support/fleet.ts';
import { makeSampleClip } from '../support/media.ts';
import { LOCAL_WEBHOOKS, startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts';

let fleet: TestFleet;
let receiver: WebhookReceiver;
/** Each worker here may see the job lose its worker once; the second time fails it. */
const LIMIT = { FFLEET_MAX_STALLED_COUNT: '1' };

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  fleet = await startFleet({ env: LOCAL_WEBHOOKS });
  const clip = join(fleet.dir, 'sample.mp4');
  await makeSampleClip(clip, { seconds: 4, size: '1920x1080' });
  await fleet.put('inputs/sample.mp4', clip);
});

afterAll(async () => {
  await fleet?.stop();
  await receiver?.close();
});

/** SIGKILLs a worker and its ffmpeg (a pod's ffmpeg dies with its container). */
async function kill(worker: WorkerProcess): Promise<void> {
  worker.child.kill('SIGKILL');
  await worker.exited;
  for (const pid of await ffmpegProcesses(worker.workDir)) process.kill(pid, 'SIGKILL');
}

/** Waits until `worker` runs an ffmpeg (it took the job). */
async function running(worker: WorkerProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  while ((await ffmpegProcesses(worker.workDir)).length === 0) {
    if (Date.now() > deadline) throw new Error(`the worker did not take the job: ${worker.output()}`);
    await sleep(100);
  }
}

describe('stall limit', () => {
  it('a job whose worker dies each time ends failed with worker_lost after the limit; the fleet goes on', async () => {
    const { body } = await fleet.api<{ id: string }>('POST', '/v1/jobs', {
      name: 'worker-killer',
      compute: 'amd',
      attempts: 3,
      inputs: [{ url: `s3://${fleet.bucket}/inputs/sample.mp4` }],
      outputs: [
        {
          url: `s3://${fleet.bucket}/out/worker-killer.mp4`,
          options: '-vf scale=-2:720 -c:v libx264 -preset veryslow -threads 1',
        },
      ],
      webhook: { url: receiver.url },
    });
    const id = body.id;
    // Lost once: back to the queue, taken by the next worker. Lost twice: over the limit of 1.
    let worker = await fleet.startWorker('amd', LIMIT);
    await running(worker);
    await kill(worker);
    worker = await fleet.startWorker('amd', LIMIT);
    await running(worker);
    await kill(worker);
    const survivor = await fleet.startWorker('amd', LIMIT);

    const job = await fleet.waitFor<JobView>(id, finished, 90_000);
    expect(job.state).toBe('failed');
    expect(job.error!.code).toBe('worker_lost');
    expect(job.error!.message).toMatch(/stall limit/);
    expect(await ffmpegProcesses(survivor.workDir)).toEqual([]);
    expect(await fleet.exists('out/worker-killer.mp4')).toBe(false);

    const deadline = Date.now() + 30_000;
    while (!receiver.hooks.some((r) => r.job.id === id) && Date.now() < deadline) await sleep(100);
    const hooks = receiver.hooks.filter((r) => r.job.id === id);
    expect(hooks).toHaveLength(1);
    expect(hooks[0]).toMatchObject({
      event: 'job.failed',
      job: { state: 'failed', error: { code: 'worker_lost' } },
    });

    // The worker that failed it goes on with other jobs.
    const next = await fleet.api<{ id: string }>('POST', '/v1/jobs', {
      name: 'after-worker-killer',
      compute: 'amd',
      inputs: [{ url: `s3://${fleet.bucket}/inputs/sample.mp4` }],
      outputs: [{ url: `s3://${fleet.bucket}/out/after-worker-killer.mp4`, options: '-t 1 -c copy' }],
    });
    expect((await fleet.waitFor<JobView>(next.body.id, finished, 60_000)).state).toBe('succeeded');
    await kill(survivor);
  });
});
