/**
 * Redis away: paused (SIGSTOP, as a hung server or a network partition) and killed. Every
 * route that needs Redis answers 503 `unavailable` with Retry-After within the configured
 * bound, /healthz stays up, and after Redis is back the same worker runs jobs again: no job
 * lost, none run twice, a submission retried with its idempotency key queued once.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { keys } from '@ffleet/core';
import { buildGateway, type JobView } from '@ffleet/gateway';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encoding, finished, startFleet, type TestFleet, type WorkerProcess } from '../support/fleet.ts';
import { makeSampleClip } from '../support/media.ts';

const BOUND_MS = 2000;
// A 503 comes within the bound; the slack is for a machine busy with other work, far below
// the endless wait of a gateway that does not bound its Redis calls.
const ANSWER_WITHIN_MS = BOUND_MS + 3000;

let fleet: TestFleet;
let worker: WorkerProcess;

beforeAll(async () => {
  fleet = await startFleet({ gateway: { redisTimeoutMs: BOUND_MS } });
  const clip = join(fleet.dir, 'sample.mp4');
  await makeSampleClip(clip, { seconds: 1, size: '320x240' });
  await fleet.put('inputs/sample.mp4', clip);
  worker = await fleet.startWorker('amd');
});

afterAll(async () => {
  fleet?.stack.signalRedis('SIGCONT');
  await fleet?.stop();
});

function job(name: string, idempotencyKey?: string) {
  return {
    name,
    compute: 'amd',
    ...(idempotencyKey ? { idempotencyKey } : {}),
    inputs: [{ url: `s3://${fleet.bucket}/inputs/sample.mp4` }],
    outputs: [{ url: `s3://${fleet.bucket}/out/${name}.mp4`, options: '-c:v libx264 -preset ultrafast' }],
  };
}

/** One request with how long its answer took; it is aborted well after the bound. */
async function timed(method: string, path: string, body?: unknown) {
  const started = Date.now();
  const response = await fetch(fleet.baseUrl + path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(ANSWER_WITHIN_MS + 20_000),
  });
  const text = await response.text();
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    body: text ? JSON.parse(text) : undefined,
    ms: Date.now() - started,
  };
}

/** Every route that needs Redis answers 503 unavailable in time; liveness stays up. */
async function expectUnavailable(knownId: string, key: string) {
  const requests: [string, string, unknown?][] = [
    ['POST', '/v1/jobs', job(`during-${key}`, key)],
    ['GET', '/v1/jobs'],
    ['GET', `/v1/jobs/${knownId}`],
    ['DELETE', `/v1/jobs/${knownId}`],
    ['GET', '/v1/pools'],
  ];
  for (const [method, path, body] of requests) {
    const answer = await timed(method, path, body);
    expect(answer.status, `${method} ${path}`).toBe(503);
    expect(answer.body.error).toBe('unavailable');
    expect(Number(answer.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(answer.ms, `${method} ${path} answered in ${answer.ms} ms`).toBeLessThan(ANSWER_WITHIN_MS);
  }
  const ready = await timed('GET', '/readyz');
  expect(ready.status).toBe(503);
  expect(ready.ms).toBeLessThan(ANSWER_WITHIN_MS);
  const live = await timed('GET', '/healthz');
  expect(live.status).toBe(200);
}

async function waitReady() {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if ((await timed('GET', '/readyz')).status === 200) return;
    await sleep(200);
  }
  throw new Error('gateway did not become ready again');
}

async function submit(body: unknown): Promise<string> {
  const { status, body: accepted } = await fleet.api<{ id: string }>('POST', '/v1/jobs', body);
  expect([200, 202]).toContain(status);
  return accepted.id;
}

/** The jobs of one name: exactly one means the submission was queued once. */
async function jobsNamed(name: string): Promise<JobView[]> {
  const { status, body } = await fleet.api<{ jobs: JobView[] }>('GET', `/v1/jobs?name=${name}&limit=500`);
  expect(status).toBe(200);
  return body.jobs;
}

async function succeededOnce(id: string) {
  const done = await fleet.waitFor<JobView>(id, finished, 60_000).catch(async (error) => {
    throw new Error(
      `${error.message}\n${JSON.stringify(await timed('GET', `/v1/jobs/${id}`))}\nworker: ${worker.output().slice(-3000)}`,
    );
  });
  expect(done.state, JSON.stringify(done.error)).toBe('succeeded');
  expect(done.attempts.made).toBe(1);
  return done;
}

describe('Redis away', { timeout: 300_000 }, () => {
  it('paused: bounded 503s, then the retried submission is queued once and every job runs once', async () => {
    const before = await submit(job('paused-before'));
    await succeededOnce(before);

    fleet.stack.signalRedis('SIGSTOP');
    try {
      await expectUnavailable(before, 'paused-key');
    } finally {
      fleet.stack.signalRedis('SIGCONT');
    }
    await waitReady();

    // The client retries what got a 503 with its idempotency key: one job, whatever reached Redis.
    const retried = await submit(job('during-paused-key', 'paused-key'));
    const after = await submit(job('paused-after'));
    await succeededOnce(retried);
    await succeededOnce(after);
    expect((await jobsNamed('during-paused-key')).map((j) => j.id)).toEqual([retried]);
    expect((await jobsNamed('paused-before')).map((j) => j.state)).toEqual(['succeeded']);
    expect(worker.child.exitCode).toBeNull();
  });

  it('killed and restarted: bounded 503s, then the same worker runs new jobs and none is lost', async () => {
    const before = await submit(job('killed-before'));
    await succeededOnce(before);
    // Past the append-only file's once-a-second sync, as a Redis that has been up a while.
    await sleep(1500);

    fleet.stack.signalRedis('SIGKILL');
    await expectUnavailable(before, 'killed-key');
    await fleet.stack.restartRedis();
    await waitReady();

    const retried = await submit(job('during-killed-key', 'killed-key'));
    const after = await submit(job('killed-after'));
    await succeededOnce(retried);
    await succeededOnce(after);
    expect((await jobsNamed('during-killed-key')).map((j) => j.id)).toEqual([retried]);
    expect((await jobsNamed('killed-before')).map((j) => j.state)).toEqual(['succeeded']);
    // The worker waited for Redis and took jobs again by itself.
    expect(worker.child.exitCode).toBeNull();
    expect(worker.output()).not.toMatch(/uncaught|unhandled/i);
    expect(worker.output()).not.toMatch(/"level":60/); // nothing fatal
  });
});

/** How many of a worker's log lines about job `id` say `msg`. */
function timesLogged(worker: WorkerProcess, id: string, msg: string): number {
  return worker
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{') && line.includes(id))
    .map((line) => JSON.parse(line) as { jobId?: string; msg?: string })
    .filter((line) => line.jobId === id && line.msg?.startsWith(msg)).length;
}

describe('Redis away for longer than a running job holds its lock', () => {
  it('the refused completion is recorded by the next attempt, which does not run the job again', {
    timeout: 180_000,
  }, async () => {
    // One job at a time, and its log lines: the second attempt waits for the first to end.
    const witness = await fleet.startWorker('intel', { FFLEET_CONCURRENCY: '1', LOG_LEVEL: 'info' });
    const clip = join(fleet.dir, 'long.mp4');
    await makeSampleClip(clip, { seconds: 4, size: '1280x720' });
    await fleet.put('inputs/long.mp4', clip);
    const { status, body } = await fleet.api<{ id: string }>('POST', '/v1/jobs', {
      name: 'lock-lost',
      compute: 'intel',
      inputs: [{ url: `s3://${fleet.bucket}/inputs/long.mp4` }],
      outputs: [
        {
          url: `s3://${fleet.bucket}/out/lock-lost.mp4`,
          options: '-c:v libx264 -preset veryfast -threads 1',
        },
      ],
    });
    expect(status).toBe(202);
    await fleet.waitFor<JobView>(body.id, encoding, 60_000);

    // Paused for twice the 4 s lock: the lock runs out while ffmpeg goes on, so BullMQ refuses
    // the completion and the job goes back to the queue.
    fleet.stack.signalRedis('SIGSTOP');
    try {
      await sleep(8000);
    } finally {
      fleet.stack.signalRedis('SIGCONT');
    }
    const done = await fleet.waitFor<JobView>(body.id, finished, 90_000);
    expect(done.state, JSON.stringify(done.error)).toBe('succeeded');
    expect(await fleet.exists('out/lock-lost.mp4')).toBe(true);

    expect(timesLogged(witness, body.id, 'job ran to success'), witness.output()).toBe(1);
    // The case under test happened: a second attempt found the first one's result.
    expect(timesLogged(witness, body.id, 'job had already run to success'), witness.output()).toBe(1);
    // Once the completion is recorded, the kept result goes.
    const kept = keys.finishedResult(fleet.env.FFLEET_QUEUE_PREFIX!, body.id);
    const deadline = Date.now() + 10_000;
    while ((await fleet.redis().exists(kept)) && Date.now() < deadline) await sleep(100);
    expect(await fleet.redis().exists(kept)).toBe(0);
    witness.child.kill('SIGKILL');
    await witness.exited;
  });

  it('a kept result is used only by the job it came from, not by a job added later under the same id', {
    timeout: 120_000,
  }, async () => {
    // Queued while no worker serves the pool, so the kept results are in place before either starts.
    const submit = async (name: string) => {
      const { status, body } = await fleet.api<{ id: string }>('POST', '/v1/jobs', {
        name,
        compute: 'intel',
        inputs: [{ url: `s3://${fleet.bucket}/inputs/sample.mp4` }],
        outputs: [{ url: `s3://${fleet.bucket}/out/${name}.mp4`, options: '-c:v libx264 -preset ultrafast' }],
      });
      expect(status).toBe(202);
      return body.id;
    };
    const [own, other] = [await submit('kept-own'), await submit('kept-other')];
    const prefix = fleet.env.FFLEET_QUEUE_PREFIX!;
    const queue = new Queue('ffleet-intel', { connection: fleet.redis(), prefix });
    const keptResult = {
      outputs: [{ url: `s3://${fleet.bucket}/out/kept-elsewhere.mp4`, bytes: 1234 }],
      timings: { download: 1, ffmpeg: 2, upload: 3, total: 6 },
      inputBytes: 99,
      worker: 'an-earlier-worker',
    };
    const keep = async (id: string, createdAt: number) =>
      fleet.redis().set(keys.finishedResult(prefix, id), JSON.stringify({ createdAt, result: keptResult }));
    await keep(own, (await queue.getJob(own))!.timestamp);
    await keep(other, (await queue.getJob(other))!.timestamp - 1);

    const worker = await fleet.startWorker('intel', { LOG_LEVEL: 'info' });
    const [ownDone, otherDone] = await Promise.all([
      fleet.waitFor<JobView>(own, finished, 60_000),
      fleet.waitFor<JobView>(other, finished, 60_000),
    ]);
    expect(ownDone.state).toBe('succeeded');
    expect(otherDone.state).toBe('succeeded');
    // Its own kept result: recorded as it was, with nothing encoded.
    expect(ownDone.outputs).toEqual(keptResult.outputs);
    expect(timesLogged(worker, own, 'job ran to success')).toBe(0);
    expect(await fleet.exists('out/kept-own.mp4')).toBe(false);
    // Another job's: ignored, and the job ran.
    expect(otherDone.outputs?.[0]?.url).toBe(`s3://${fleet.bucket}/out/kept-other.mp4`);
    expect(timesLogged(worker, other, 'job ran to success')).toBe(1);
    expect(await fleet.exists('out/kept-other.mp4')).toBe(true);
    await queue.close();
    worker.child.kill('SIGKILL');
    await worker.exited;
  });
});

describe('Redis there, the route slow', () => {
  it('a batch that takes longer than the bound to queue is answered 202 with every item, not 503 half-queued', {
    timeout: 120_000,
  }, async () => {
    const submit = async (redisTimeoutMs: number, name: string) => {
      const gateway = await buildGateway({ config: fleet.config(), redisTimeoutMs });
      try {
        const started = Date.now();
        const response = await gateway.inject({
          method: 'POST',
          url: '/v1/batches',
          payload: {
            name,
            compute: 'nvidia',
            items: Array.from({ length: 10_000 }, (_, i) => `s3://${fleet.bucket}/${name}/in/${i}.mov`),
            outputs: [{ url: `s3://${fleet.bucket}/${name}/out/{stem}.mp4`, options: '-c copy' }],
          },
        });
        const took = Date.now() - started;
        expect(response.statusCode, response.body).toBe(202);
        const { id } = response.json<{ id: string }>();
        const view = await gateway.inject({ method: 'GET', url: `/v1/batches/${id}` });
        expect(view.json<{ counts: { total: number; queued: number } }>().counts).toMatchObject({
          total: 10_000,
          queued: 10_000,
        });
        await gateway.inject({ method: 'DELETE', url: `/v1/batches/${id}` });
        return took;
      } finally {
        await gateway.close();
      }
    };
    // How long queueing 10 000 items takes on this machine, then a bound a quarter of that: about
    // five times what one of its 20 bulks takes, so no single Redis command meets it, with Redis
    // answering all along.
    const unbounded = await submit(30_000, 'slow-route-timed');
    const bound = Math.max(50, Math.round(unbounded / 4));
    const took = await submit(bound, 'slow-route');
    // The case under test: the answer came after the bound.
    expect(took, `bound ${bound} ms`).toBeGreaterThan(bound);
  });
});
