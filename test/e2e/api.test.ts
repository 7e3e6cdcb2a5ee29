/**
 * The gateway's API beyond running jobs: listing and filtering, Server-Sent Events, idempotent
 * submits, presigned uploads, bearer-token auth and the OpenAPI document.
 */

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { JobView } from '@ffleet/gateway';
import { buildGateway } from '@ffleet/gateway';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFleet, type TestFleet } from '../support/fleet.ts';
import { makeSampleClip } from '../support/media.ts';

type Job = JobView;

let fleet: TestFleet;

beforeAll(async () => {
  fleet = await startFleet();
  const clip = join(fleet.dir, 'sample.mp4');
  await makeSampleClip(clip, { seconds: 3, size: '640x360' });
  await fleet.put('inputs/sample.mp4', clip);
});

afterAll(async () => {
  await fleet?.stop();
});

function clipJob(name: string, compute = 'intel') {
  return {
    name,
    compute,
    inputs: [{ url: `s3://${fleet.bucket}/inputs/sample.mp4` }],
    outputs: [
      {
        url: `s3://${fleet.bucket}/out/${name}.mp4`,
        options: '-vf scale=-2:240 -c:v libx264 -preset ultrafast',
      },
    ],
  };
}

describe('listing jobs', () => {
  it('filters by state, pool and name, newest first', async () => {
    const a = (await fleet.api<{ id: string }>('POST', '/v1/jobs', clipJob('list-a', 'nvidia'))).body.id;
    const b = (await fleet.api<{ id: string }>('POST', '/v1/jobs', clipJob('list-b', 'nvidia'))).body.id;
    const queued = await fleet.api<{ jobs: Job[] }>('GET', '/v1/jobs?state=queued&pool=nvidia');
    expect(queued.status).toBe(200);
    expect(queued.body.jobs.map((j) => j.id)).toEqual([b, a]);
    const named = await fleet.api<{ jobs: Job[] }>('GET', '/v1/jobs?name=list-a');
    expect(named.body.jobs.map((j) => j.id)).toEqual([a]);
    expect(
      (await fleet.api<{ jobs: Job[] }>('GET', '/v1/jobs?state=succeeded&pool=nvidia')).body.jobs,
    ).toEqual([]);
    const unknown = await fleet.api<{ error: string }>('GET', '/v1/jobs?pool=sparc');
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toBe('unknown_pool');
    const badState = await fleet.api<{ error: string }>('GET', '/v1/jobs?state=exploded');
    expect(badState.status).toBe(400);
    for (const id of [a, b]) expect((await fleet.api('DELETE', `/v1/jobs/${id}`)).status).toBe(202);
  });

  it('answers 404 for a job that does not exist', async () => {
    const { status, body } = await fleet.api<{ error: string }>('GET', '/v1/jobs/no-such-job');
    expect(status).toBe(404);
    expect(body.error).toBe('not_found');
  });
});

describe('body limits', () => {
  it('refuses a deeply nested job body on both submit routes before its schema is checked', async () => {
    let nested: unknown = 'x';
    for (let i = 0; i < 20; i++) nested = { a: nested };
    for (const path of ['/v1/jobs', '/batch/execute/intel']) {
      const { status, body } = await fleet.api<{ error: string; message: string }>('POST', path, {
        ...clipJob('deep'),
        extra: nested,
      });
      expect(status, path).toBe(400);
      expect(body.error, path).toBe('invalid_job');
      expect(body.message, path).toMatch(/nested deeper than 8 levels/);
    }
  });
});

describe('trace context with tracing off', () => {
  it("passes a caller's traceparent on to the job, and ignores a malformed one", async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const submit = async (traceparent: string, name: string) => {
      const response = await fetch(`${fleet.baseUrl}/v1/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', traceparent },
        body: JSON.stringify(clipJob(name, 'nvidia')),
      });
      expect(response.status).toBe(202);
      const accepted = (await response.json()) as { id: string; traceId?: string };
      const view = await fleet.api<Job>('GET', `/v1/jobs/${accepted.id}`);
      return { answered: accepted.traceId, stored: view.body.traceId };
    };
    expect(await submit(`00-${traceId}-00f067aa0ba902b7-01`, 'traced-caller')).toEqual({
      answered: traceId,
      stored: traceId,
    });
    expect(await submit(`00-${traceId}-not-a-span-01`, 'malformed-traceparent')).toEqual({
      answered: undefined,
      stored: null,
    });
  });
});

describe('idempotent submits', () => {
  it('the same idempotencyKey returns the first job instead of queueing another', async () => {
    const body = { ...clipJob('idem', 'nvidia'), idempotencyKey: 'order-42' };
    const first = await fleet.api<{ id: string }>('POST', '/v1/jobs', body);
    const again = await fleet.api<{ id: string }>('POST', '/v1/jobs', body);
    expect(first.status).toBe(202);
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    const listed = await fleet.api<{ jobs: Job[] }>('GET', '/v1/jobs?name=idem');
    expect(listed.body.jobs).toHaveLength(1);
    await fleet.api('DELETE', `/v1/jobs/${first.body.id}`);
  });
});

describe('Server-Sent Events', () => {
  it('streams the job as it changes and closes when it finishes', async () => {
    const worker = await fleet.startWorker('intel');
    const { body } = await fleet.api<{ id: string }>('POST', '/v1/jobs', clipJob('sse'));
    const response = await fetch(`${fleet.baseUrl}/v1/jobs/${body.id}/events`);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const text = await response.text(); // ends when the gateway closes the stream
    const events = text
      .split('\n\n')
      .filter((block) => block.startsWith('event: job'))
      .map((block) => JSON.parse(block.split('\ndata: ')[1]!) as Job);
    expect(events.length).toBeGreaterThanOrEqual(2);
    expect(events.at(-1)!.state).toBe('succeeded');
    expect(events.every((e) => e.id === body.id)).toBe(true);
    expect(events.some((e) => e.state === 'running' || e.state === 'queued')).toBe(true);
    worker.child.kill('SIGKILL');
    await worker.exited;
  });

  it('a client reconnecting to a restarted gateway with Last-Event-ID gets the state changes it missed, none twice', async () => {
    // A gateway of its own, to restart (the fleet's keeps serving the API meanwhile).
    const openGateway = async () => {
      const app = await buildGateway({ config: fleet.config() });
      await app.listen({ host: '127.0.0.1', port: 0 });
      const address = app.server.address() as { port: number };
      return { app, url: `http://127.0.0.1:${address.port}` };
    };
    const { body } = await fleet.api<{ id: string }>('POST', '/v1/jobs', clipJob('sse-resume', 'amd'));
    let gateway = await openGateway();
    const away = new AbortController();
    const response = await fetch(`${gateway.url}/v1/jobs/${body.id}/events`, { signal: away.signal });
    const reader = response.body!.getReader();
    let text = '';
    while (!text.includes('\n\n')) text += new TextDecoder().decode((await reader.read()).value);
    const [seen] = parseEvents(text);
    expect(seen).toMatchObject({ event: 'job', data: { id: body.id, state: 'queued' } });
    expect(seen!.id).toMatch(/^\d+-\d+$/);
    away.abort();
    await gateway.app.close();

    // While the client is away the job runs and finishes.
    const worker = await fleet.startWorker('amd');
    expect((await fleet.waitFor<Job>(body.id, (job) => job.state === 'succeeded')).state).toBe('succeeded');
    gateway = await openGateway();
    try {
      const resumed = await fetch(`${gateway.url}/v1/jobs/${body.id}/events`, {
        headers: { 'last-event-id': seen!.id! },
      });
      expect(resumed.status).toBe(200);
      const events = parseEvents(await resumed.text());
      const states = events.filter((e) => e.event === 'state');
      expect(states.map((e) => (e.data as { state: string }).state)).toEqual(['running', 'succeeded']);
      const ids = states.map((e) => e.id!);
      expect([seen!.id!, ...ids].every((id, i, all) => i === 0 || compareIds(all[i - 1]!, id) < 0)).toBe(
        true,
      );
      expect(events.at(-1)).toMatchObject({ event: 'job', data: { state: 'succeeded' } });

      // From the last id there is nothing more to replay: the job's view only.
      const again = parseEvents(
        await (
          await fetch(`${gateway.url}/v1/jobs/${body.id}/events`, {
            headers: { 'last-event-id': ids.at(-1)! },
          })
        ).text(),
      );
      expect(again.map((e) => e.event)).toEqual(['job']);
      const bad = await fetch(`${gateway.url}/v1/jobs/${body.id}/events`, {
        headers: { 'last-event-id': 'x' },
      });
      expect(bad.status).toBe(400);
    } finally {
      await gateway.app.close();
      worker.child.kill('SIGKILL');
      await worker.exited;
    }
  });
});

/** The events of a Server-Sent Events text. */
function parseEvents(text: string): { event?: string; id?: string; data: unknown }[] {
  return text
    .split('\n\n')
    .filter((block) => block.trim() && !block.startsWith(':'))
    .map((block) => {
      const fields = Object.fromEntries(
        block
          .split('\n')
          .map((line) => [line.slice(0, line.indexOf(': ')), line.slice(line.indexOf(': ') + 2)]),
      );
      return { event: fields.event, id: fields.id, data: JSON.parse(fields.data!) };
    });
}

/** Orders Redis stream ids (`<ms>-<seq>`). */
function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt);
  const [bm, bs] = b.split('-').map(BigInt);
  return am! === bm! ? Number(as! - bs!) : am! < bm! ? -1 : 1;
}

describe('presigned uploads', () => {
  it('gives a PUT URL that stores a new input without S3 credentials', async () => {
    const target = `s3://${fleet.bucket}/uploads/new.mp4`;
    const { status, body } = await fleet.api<{ url: string; method: string }>('POST', '/v1/uploads', {
      url: target,
      contentType: 'video/mp4',
    });
    expect(status).toBe(200);
    expect(body.method).toBe('PUT');
    const bytes = await readFile(join(fleet.dir, 'sample.mp4'));
    const put = await fetch(body.url, {
      method: 'PUT',
      body: bytes,
      headers: { 'content-type': 'video/mp4' },
    });
    expect(put.status).toBe(200);
    expect((await fleet.get('uploads/new.mp4')).equals(bytes)).toBe(true);
    const traversal = await fleet.api<{ error: string }>('POST', '/v1/uploads', {
      url: `s3://${fleet.bucket}/../etc/passwd`,
    });
    expect(traversal.status).toBe(400);
  });
});

describe('auth and docs', () => {
  it('with API tokens, /v1 and /batch need a bearer token; probes and docs stay open', async () => {
    const app = await buildGateway({
      config: fleet.config(),
      apiTokens: ['s3cret-token'],
    });
    try {
      const open = await app.inject({ method: 'GET', url: '/healthz' });
      expect(open.statusCode).toBe(200);
      const denied = await app.inject({ method: 'GET', url: '/v1/pools' });
      expect(denied.statusCode).toBe(401);
      expect(denied.json()).toMatchObject({ error: 'unauthorized' });
      const wrong = await app.inject({
        method: 'GET',
        url: '/v1/pools',
        headers: { authorization: 'Bearer nope' },
      });
      expect(wrong.statusCode).toBe(401);
      const batch = await app.inject({ method: 'POST', url: '/batch/execute/intel', payload: {} });
      expect(batch.statusCode).toBe(401);
      // Refused submissions are counted by their code; a refused read is not a submission.
      const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(metrics).toMatch(/^ffleet_jobs_rejected_total\{reason="unauthorized"[^}]*\} 1$/m);
      const allowed = await app.inject({
        method: 'GET',
        url: '/v1/pools',
        headers: { authorization: 'Bearer s3cret-token' },
      });
      expect(allowed.statusCode).toBe(200);
      const spec = await app.inject({ method: 'GET', url: '/docs/json' });
      expect(spec.statusCode).toBe(200);
      const paths = Object.keys(spec.json().paths);
      for (const path of [
        '/v1/jobs',
        '/v1/jobs/{id}',
        '/v1/jobs/{id}/events',
        '/v1/pools',
        '/v1/uploads',
        '/batch/execute/{compute}',
      ]) {
        expect(paths).toContain(path);
      }
    } finally {
      await app.close();
    }
  });
});

describe("the gateway's connections", () => {
  // Counts the clients of one server: a cluster spreads them over its masters.
  it.skipIf(process.env.FFLEET_TEST_REDIS_CLUSTER === '1')(
    'closes every Redis connection it opened (queues, queue events) when it closes',
    async () => {
      const admin = new Redis(fleet.stack.redisUrl);
      const clients = async () =>
        String(await admin.client('LIST'))
          .split('\n')
          .filter(Boolean).length;
      try {
        const before = await clients();
        const app = await buildGateway({ config: fleet.config() });
        await app.ready();
        // An event stream opens its own connection per pool.
        await app.poolEvents.get('intel').waitUntilReady();
        expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
        expect(await clients()).toBeGreaterThan(before);
        await app.close();
        await expect.poll(clients, { timeout: 5000 }).toBe(before);
      } finally {
        admin.disconnect();
      }
    },
  );

  it('closes right after it was built without rejecting the replies still on their way', async () => {
    // Queues send start-up checks nobody awaits; cutting the connection under them rejected
    // each one with "Connection is closed", unhandled.
    const unhandled: unknown[] = [];
    const collect = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', collect);
    try {
      for (let round = 0; round < 5; round++) {
        const app = await buildGateway({ config: fleet.config() });
        await app.inject({ method: 'GET', url: '/docs/json' });
        await app.close();
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', collect);
    }
  });
});

describe('priorities', () => {
  it('runs urgent jobs first, unset (500) next, low priority last', async () => {
    const submit = async (name: string, priority?: number) =>
      (
        await fleet.api<{ id: string }>('POST', '/v1/jobs', {
          ...clipJob(name, 'amd'),
          outputs: [{ url: `s3://${fleet.bucket}/out/${name}.mp4`, options: '-t 1 -c copy' }],
          ...(priority ? { priority } : {}),
        })
      ).body.id;
    // Queued while no amd worker runs, in the opposite of the order they should run.
    const low = await submit('prio-low', 900);
    const normal = await submit('prio-unset');
    const urgent = await submit('prio-urgent', 1);
    const worker = await fleet.startWorker('amd', { FFLEET_CONCURRENCY: '1' });
    const started: Record<string, string> = {};
    for (const id of [low, normal, urgent]) {
      const job = await fleet.waitFor<Job & { startedAt: string }>(id, (j) => j.state === 'succeeded');
      started[id] = job.startedAt;
    }
    const order = [low, normal, urgent].sort((a, b) => started[a]!.localeCompare(started[b]!));
    expect(order).toEqual([urgent, normal, low]);
    worker.child.kill('SIGKILL');
    await worker.exited;
  });
});
