import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { JobView } from '@ffleet/gateway';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  encoding,
  ffmpegProcesses,
  finished,
  startFleet,
  type TestFleet,
  type WorkerProcess,
} from '../support/fleet.ts';
import { makeSampleClip } from '../support/media.ts';

type Job = JobView;

let fleet: TestFleet;
let bucket: string;

beforeAll(async () => {
  fleet = await startFleet();
  bucket = fleet.bucket;
  const clip = join(fleet.dir, 'sample.mp4');
  await makeSampleClip(clip, { seconds: 4, size: '1920x1080' });
  await fleet.put('inputs/sample.mp4', clip);
});

afterAll(async () => {
  await fleet?.stop();
});

/** A job that keeps one core busy for several seconds. */
function slowJob(name: string, output: string, preset = 'slow') {
  return {
    name,
    compute: 'amd',
    inputs: [{ url: `s3://${bucket}/inputs/sample.mp4` }],
    outputs: [
      {
        url: `s3://${bucket}/${output}`,
        options: `-vf scale=-2:720 -c:v libx264 -preset ${preset} -threads 1`,
      },
    ],
  };
}

async function stopWorker(worker: WorkerProcess, signal: NodeJS.Signals) {
  worker.child.kill(signal);
  return worker.exited;
}

describe('cancel', () => {
  it('removes a queued job: it never runs and GET says cancelled', async () => {
    const id = await fleet.submit(slowJob('cancel-queued', 'out/cancel-queued.mp4'));
    const { status, body } = await fleet.api<Job>('DELETE', `/v1/jobs/${id}`);
    expect(status).toBe(202);
    expect(body.state).toBe('cancelled');
    const worker = await fleet.startWorker('amd');
    await sleep(1500);
    const job = (await fleet.api<Job>('GET', `/v1/jobs/${id}`)).body;
    expect(job.state).toBe('cancelled');
    expect(await fleet.exists('out/cancel-queued.mp4')).toBe(false);
    expect((await fleet.api('DELETE', `/v1/jobs/${id}`)).status).toBe(202);
    await stopWorker(worker, 'SIGKILL');
  });

  it('kills a running ffmpeg and fails the job as cancelled, without retries', async () => {
    const worker = await fleet.startWorker('amd');
    const id = await fleet.submit({
      ...slowJob('cancel-running', 'out/cancel-running.mp4', 'veryslow'),
      attempts: 3,
    });
    await fleet.waitFor<Job>(id, encoding);
    expect(await ffmpegProcesses(worker.workDir)).toHaveLength(1);
    const { status } = await fleet.api<Job>('DELETE', `/v1/jobs/${id}`);
    expect(status).toBe(202);
    const job = await fleet.waitFor<Job>(id, finished, 15_000);
    expect(job.state).toBe('cancelled');
    expect(job.attempts.made).toBe(1);
    expect(await ffmpegProcesses(worker.workDir)).toEqual([]);
    expect(await fleet.exists('out/cancel-running.mp4')).toBe(false);
    // A finished job cannot be cancelled again.
    expect((await fleet.api('DELETE', `/v1/jobs/${id}`)).status).toBe(409);
    await stopWorker(worker, 'SIGKILL');
  });
});

describe('workers that die or are told to stop lose no job', () => {
  it('a worker killed with SIGKILL mid-job: the job completes on another worker', async () => {
    const doomed = await fleet.startWorker('amd');
    const id = await fleet.submit(slowJob('sigkill', 'out/sigkill.mp4'));
    await fleet.waitFor<Job>(id, encoding);
    await stopWorker(doomed, 'SIGKILL');
    // A pod's ffmpeg dies with its container; here we stand in for that.
    for (const pid of await ffmpegProcesses(doomed.workDir)) process.kill(pid, 'SIGKILL');

    const rescuer = await fleet.startWorker('amd');
    const job = await fleet.waitFor<Job & { outputs: { url: string }[] }>(id, finished, 90_000);
    expect(job.state).toBe('succeeded');
    expect(await fleet.exists('out/sigkill.mp4')).toBe(true);
    await stopWorker(rescuer, 'SIGKILL');
  });

  it('SIGTERM mid-job: the job goes back to the queue at once, not as a failed attempt, then completes', async () => {
    const stopping = await fleet.startWorker('amd', { FFLEET_SHUTDOWN_GRACE_SECONDS: '1' });
    const id = await fleet.submit(slowJob('sigterm', 'out/sigterm.mp4'));
    await fleet.waitFor<Job>(id, encoding);
    const signalled = Date.now();
    const code = await stopWorker(stopping, 'SIGTERM');
    const stopMs = Date.now() - signalled;
    expect(code).toBe(0);
    expect(stopMs).toBeLessThan(8000);
    expect(await ffmpegProcesses(stopping.workDir)).toEqual([]);

    const back = (await fleet.api<Job>('GET', `/v1/jobs/${id}`)).body;
    expect(back.state).toBe('queued');
    expect(back.attempts.made).toBe(0);

    const next = await fleet.startWorker('amd');
    const job = await fleet.waitFor<Job>(id, finished, 90_000);
    expect(job.state).toBe('succeeded');
    // Only the run that finished counts as an attempt; the handed-back one does not.
    expect(job.attempts.made).toBe(1);
    expect(await fleet.exists('out/sigterm.mp4')).toBe(true);
    await stopWorker(next, 'SIGKILL');
  });

  it('SIGTERM lets a job that finishes within the grace period complete', async () => {
    const stopping = await fleet.startWorker('amd', { FFLEET_SHUTDOWN_GRACE_SECONDS: '120' });
    const id = await fleet.submit(slowJob('sigterm-graceful', 'out/sigterm-graceful.mp4', 'ultrafast'));
    await fleet.waitFor<Job>(id, (job) => job.state === 'running');
    expect(await stopWorker(stopping, 'SIGTERM')).toBe(0);
    const job = (await fleet.api<Job>('GET', `/v1/jobs/${id}`)).body;
    expect(job.state).toBe('succeeded');
  });
});

describe('Redis restarts', () => {
  it('queued jobs survive a Redis restart; gateway and a connected worker reconnect and run them', async () => {
    const quick = (name: string) => ({
      name,
      compute: 'amd',
      inputs: [{ url: `s3://${bucket}/inputs/sample.mp4` }],
      outputs: [{ url: `s3://${bucket}/out/${name}.mp4`, options: '-t 1 -c copy' }],
    });
    // The gateway answers 503 with Retry-After until it has reconnected; a client waits for that.
    const restartRedis = async () => {
      await fleet.stack.restartRedis();
      const deadline = Date.now() + 30_000;
      while ((await fleet.api('GET', '/readyz')).status !== 200) {
        if (Date.now() > deadline) throw new Error('gateway did not reconnect to Redis');
        await sleep(100);
      }
    };
    const queued = await fleet.submit(quick('before-restart'));
    await restartRedis();
    // The job was persisted (AOF) and the gateway reconnects on its own.
    expect((await fleet.waitFor<Job>(queued, (job) => job.state === 'queued', 15_000)).state).toBe('queued');
    const worker = await fleet.startWorker('amd');
    expect((await fleet.waitFor<Job>(queued, finished)).state).toBe('succeeded');

    // A worker that was connected while Redis went away picks up work again afterwards.
    await restartRedis();
    const after = await fleet.submit(quick('after-restart'));
    expect((await fleet.waitFor<Job>(after, finished, 60_000)).state).toBe('succeeded');
    await stopWorker(worker, 'SIGKILL');
  });
});
