/**
 * The hostile corpus (test/security/corpus.ts) end to end: every case is refused by the
 * gateway with a 400 and never queued, and refused again by a worker when written straight
 * into its queue. Cases whose attack is inside an input's bytes (playlists, concat lists,
 * AVI with an embedded playlist) are accepted by the gateway and refused by the worker after
 * download, before ffmpeg runs. A loopback HTTP server stands in for anything a job might try
 * to fetch: it must receive no request. The accepted jobs (demo and AWS sample uses) run.
 */
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { parseStorageUrl } from '@ffleet/core';
import type { JobView } from '@ffleet/gateway';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptedJobs } from '../security/accepted.ts';
import { type HostileCase, hostileCorpus } from '../security/corpus.ts';
import { removeFixtures, writeFixture } from '../security/fixtures.ts';
import { finished, startFleet, type TestFleet } from '../support/fleet.ts';

type Job = JobView;

let fleet: TestFleet;
let loopback: Server;
let loopbackUrl: string;
const loopbackRequests: string[] = [];
let cases: HostileCase[];
const BUCKET = 'ffleet-local';

beforeAll(async () => {
  loopback = createServer((request, response) => {
    loopbackRequests.push(`${request.method} ${request.url}`);
    response.end('#EXTM3U\n');
  });
  await new Promise<void>((resolve) => loopback.listen(0, '127.0.0.1', resolve));
  const address = loopback.address();
  loopbackUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  fleet = await startFleet({ env: { FFLEET_ALLOWED_BUCKETS: BUCKET } });
  cases = hostileCorpus({ bucket: BUCKET, loopbackUrl });
  await writeFixture({ kind: 'av', seconds: 2 }, join(fleet.dir, 'source.mp4'));
  await fleet.put('in/source.mp4', join(fleet.dir, 'source.mp4'));
  await fleet.startWorker('intel');
});

afterAll(async () => {
  await removeFixtures();
  await fleet?.stop();
  loopback?.close();
});

async function putObject(url: string, bytes: Uint8Array) {
  const target = parseStorageUrl(url);
  if (target.scheme !== 's3') throw new Error(url);
  await fleet.s3.send(new PutObjectCommand({ Bucket: target.bucket, Key: target.key, Body: bytes }));
}

async function queueDepth(): Promise<number> {
  const { body } = await fleet.api<{
    pools: { depth: { waiting: number; prioritized: number; delayed: number } }[];
  }>('GET', '/v1/pools');
  return body.pools.reduce((sum, p) => sum + p.depth.waiting + p.depth.prioritized + p.depth.delayed, 0);
}

describe('the hostile corpus', () => {
  it('has at least 40 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
  });

  it('the gateway refuses every option-level attack with a 400 naming it, and queues nothing', async () => {
    for (const c of cases.filter((c) => c.expect.stage === 'validate')) {
      const { status, body } = await fleet.api<{ error: string; message: string }>(
        'POST',
        '/v1/jobs',
        c.body,
      );
      expect(status, `${c.id}: ${JSON.stringify(body)}`).toBe(400);
      expect(body.error, c.id).toBe(c.expect.error);
      expect(body.message, c.id).toMatch(c.expect.message);
    }
    expect(await queueDepth()).toBe(0);
  });

  it('a worker refuses the same jobs written straight into its queue, before downloading anything', async () => {
    const queue = new Queue('ffleet-intel', {
      connection: fleet.redis(),
      prefix: fleet.env.FFLEET_QUEUE_PREFIX,
    });
    const hostile = cases.filter((c) => c.expect.stage === 'validate');
    for (const c of hostile) {
      await queue.add(
        'hostile',
        { spec: c.body, pool: 'intel', submittedAt: Date.now() },
        { jobId: `direct-${c.id}`, attempts: 3 },
      );
    }
    await queue.close();
    for (const c of hostile) {
      const job = await fleet.waitFor<Job>(`direct-${c.id}`, finished);
      expect(job.state, c.id).toBe('failed');
      expect(['unsafe_job', 'invalid_job', 'unknown_compute'], `${c.id}: ${job.error?.code}`).toContain(
        job.error!.code,
      );
      expect(job.attempts.made, c.id).toBe(1);
    }
    expect(await fleet.exists('out/result.mp4')).toBe(false);
  });

  it('attacks inside input files are refused by the worker after download, before ffmpeg runs', async () => {
    const inFiles = cases.filter((c) => c.expect.stage === 'inputs');
    expect(inFiles.length).toBeGreaterThan(0);
    for (const c of inFiles) {
      for (const [url, bytes] of Object.entries(c.objects ?? {})) await putObject(url, bytes);
      const { status, body } = await fleet.api<{ id: string }>('POST', '/v1/jobs', c.body);
      expect(status, `${c.id}: ${JSON.stringify(body)}`).toBe(202);
      const job = await fleet.waitFor<Job>(body.id, finished);
      expect(job.state, c.id).toBe('failed');
      expect(job.error!.code, c.id).toBe('unsafe_job');
      expect(job.error!.message, c.id).toMatch(c.expect.message);
      expect(job.outputs, c.id).toBeNull();
    }
    expect(await fleet.exists('out/result.mp4')).toBe(false);
  });

  it('nothing ever reached the loopback server', () => {
    expect(loopbackRequests).toEqual([]);
  });
});

describe('jobs that must stay accepted', () => {
  it('the demo jobs and the AWS sample uses run to success through the fleet', async () => {
    const runnable = acceptedJobs({ bucket: BUCKET }).filter((j) => !j.needs);
    expect(runnable.length).toBeGreaterThanOrEqual(10);
    const stored = new Set<string>();
    for (const job of runnable) {
      for (const [url, fixture] of Object.entries(job.media)) {
        if (stored.has(url)) continue;
        const file = join(fleet.dir, 'fixtures', encodeURIComponent(url));
        await writeFixture(fixture, file);
        await fleet.put(
          parseStorageUrl(url).scheme === 's3' ? url.replace(`s3://${BUCKET}/`, '') : url,
          file,
        );
        stored.add(url);
      }
    }
    const ids = new Map<string, string>();
    for (const job of runnable) {
      const { status, body } = await fleet.api<{ id: string }>('POST', '/v1/jobs', job.body);
      expect(status, `${job.id}: ${JSON.stringify(body)}`).toBe(202);
      ids.set(job.id, body.id);
    }
    for (const job of runnable) {
      const result = await fleet.waitFor<Job>(ids.get(job.id)!, finished, 120_000);
      expect(result.state, `${job.id}: ${JSON.stringify(result.error)}`).toBe('succeeded');
      for (const output of result.outputs ?? []) {
        const urls = output.files ? output.files.map((f) => f.url) : [output.url];
        for (const url of urls)
          expect(await fleet.exists(url.replace(`s3://${BUCKET}/`, '')), url).toBe(true);
      }
    }
  }, 300_000);
});
