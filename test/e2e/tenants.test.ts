/**
 * Tokens scoped to bucket prefixes on a real gateway, Redis, S3 server and worker: a tenant's
 * token reads, writes and presigns only under its prefix (jobs, ladders, batches and their
 * manifests, uploads), sees only its own jobs (list, get, events, cancel, batches), and gets a
 * 403 `forbidden` naming the problem for anything else, with nothing queued. An unscoped token
 * sees every job, each with the name of the token that submitted it.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ApiToken, JobView } from '@ffleet/gateway';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finished, startFleet, type TestFleet } from '../support/fleet.ts';
import { makeSampleClip, probe } from '../support/media.ts';

let fleet: TestFleet;
let bucket: string;
const TOKENS = {
  a: 'tenant-a-token-0123456789',
  b: 'tenant-b-token-0123456789',
  admin: 'admin-token-0123456789',
};

beforeAll(async () => {
  // The bucket's name is the stack's; the tokens are made once it is known.
  fleet = await startFleet({
    env: { FFLEET_ALLOWED_BUCKETS: 'ffleet-local' },
    gateway: { apiTokens: tokensFor('ffleet-local') },
    apiToken: TOKENS.admin,
  });
  bucket = fleet.bucket;
  expect(bucket).toBe('ffleet-local');
  const clip = join(fleet.dir, 'sample.mp4');
  await makeSampleClip(clip, { seconds: 1, size: '320x240' });
  await fleet.put('tenant-a/in/sample.mp4', clip);
  await fleet.put('tenant-b/in/sample.mp4', clip);
}, 120_000);

afterAll(async () => {
  await fleet?.stop();
});

function tokensFor(name: string): (string | ApiToken)[] {
  return [
    { name: 'tenant-a', token: TOKENS.a, prefixes: [`s3://${name}/tenant-a/`] },
    { name: 'tenant-b', token: TOKENS.b, prefixes: [`s3://${name}/tenant-b/`, `s3://${name}/shared/b/`] },
    TOKENS.admin,
  ];
}

async function api<T = Record<string, unknown>>(
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const response = await fetch(fleet.baseUrl + path, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

function job(name: string, input: string, output: string, extra: Record<string, unknown> = {}) {
  return {
    name,
    compute: 'intel',
    inputs: [{ url: `s3://${bucket}/${input}` }],
    outputs: [{ url: `s3://${bucket}/${output}`, options: '-c:v libx264 -preset ultrafast -an' }],
    ...extra,
  };
}

/** The job once finished, read with the tenant's own token. */
async function waitFor(id: string, timeoutMs: number, token = TOKENS.admin): Promise<JobView> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { status, body } = await api<JobView>(token, 'GET', `/v1/jobs/${id}`);
    if (status === 200 && finished(body)) return body;
    await sleep(200);
  }
  throw new Error(`job ${id} did not finish`);
}

async function queuedJobs(): Promise<number> {
  const { body } = await api<{ pools: { queued: number }[] }>(TOKENS.admin, 'GET', '/v1/pools');
  return body.pools.reduce((sum, p) => sum + p.queued, 0);
}

/** A 403 `forbidden` whose message names the URL (or job), and nothing queued by it. */
async function expectForbidden(token: string, method: string, path: string, body: unknown, mentions: string) {
  const before = await queuedJobs();
  const answer = await api<{ error: string; message: string }>(token, method, path, body);
  expect(answer.status, `${method} ${path} ${JSON.stringify(answer.body)}`).toBe(403);
  expect(answer.body.error).toBe('forbidden');
  expect(answer.body.message).toContain(mentions);
  expect(await queuedJobs()).toBe(before);
}

describe('a token scoped to a prefix', () => {
  let jobA: string;

  it('uploads through a presigned URL, submits and runs a job inside its prefix', async () => {
    const upload = await api<{ url: string; target: string }>(TOKENS.a, 'POST', '/v1/uploads', {
      url: `s3://${bucket}/tenant-a/in/uploaded.mp4`,
      contentType: 'video/mp4',
    });
    expect(upload.status).toBe(200);
    const bytes = await fleet.get('tenant-a/in/sample.mp4');
    const put = await fetch(upload.body.url, {
      method: 'PUT',
      body: bytes,
      headers: { 'content-type': 'video/mp4' },
    });
    expect(put.status).toBe(200);

    const submitted = await api<{ id: string }>(
      TOKENS.a,
      'POST',
      '/v1/jobs',
      job('a-clip', 'tenant-a/in/uploaded.mp4', 'tenant-a/out/clip.mp4'),
    );
    expect(submitted.status).toBe(202);
    jobA = submitted.body.id;
    await fleet.startWorker('intel');
    const done = await waitFor(jobA, 120_000, TOKENS.a);
    expect(done.state, JSON.stringify(done.error)).toBe('succeeded');
    expect(done.owner).toBe('tenant-a');
    const output = join(fleet.dir, 'a-out.mp4');
    await writeFile(output, await fleet.get('tenant-a/out/clip.mp4'));
    const media = await probe(output);
    expect(media.streams.map((s) => s.codec_name)).toEqual(['h264']);
  }, 180_000);

  it('gets 403 for an input, an output or a presigned upload under another prefix, and nothing is queued', async () => {
    await expectForbidden(
      TOKENS.a,
      'POST',
      '/v1/jobs',
      job('a-reads-b', 'tenant-b/in/sample.mp4', 'tenant-a/out/stolen.mp4'),
      `s3://${bucket}/tenant-b/in/sample.mp4`,
    );
    await expectForbidden(
      TOKENS.a,
      'POST',
      '/v1/jobs',
      job('a-writes-b', 'tenant-a/in/sample.mp4', 'tenant-b/out/overwritten.mp4'),
      `s3://${bucket}/tenant-b/out/overwritten.mp4`,
    );
    // A name that starts like the prefix is not under it.
    await expectForbidden(
      TOKENS.a,
      'POST',
      '/v1/jobs',
      job('a-lookalike', 'tenant-a/in/sample.mp4', 'tenant-a-evil/out.mp4'),
      'tenant-a-evil/out.mp4',
    );
    await expectForbidden(
      TOKENS.a,
      'POST',
      '/v1/uploads',
      { url: `s3://${bucket}/tenant-b/in/planted.mp4` },
      'tenant-b/in/planted.mp4',
    );
    await expectForbidden(
      TOKENS.a,
      'POST',
      '/batch/execute/intel',
      {
        name: 'a-sample',
        input_url: `s3://${bucket}/tenant-b/in/sample.mp4`,
        output_url: `s3://${bucket}/tenant-a/out/sample.mp4`,
        output_file_options: '-c:v libx264 -preset ultrafast',
      },
      'tenant-b/in/sample.mp4',
    );
    // `..` cannot climb out of the prefix: it is refused as unsafe before any prefix is compared.
    const traversal = await api<{ error: string }>(
      TOKENS.a,
      'POST',
      '/v1/jobs',
      job('a-climbs', 'tenant-a/../tenant-b/in/sample.mp4', 'tenant-a/out/x.mp4'),
    );
    expect(traversal.status).toBe(400);
    expect(traversal.body.error).toBe('unsafe_job');
  });

  it('gets 403 for a ladder folder or batch outputs, list or manifest under another prefix', async () => {
    await expectForbidden(
      TOKENS.a,
      'POST',
      '/v1/jobs',
      {
        name: 'a-ladder',
        compute: 'intel',
        inputs: [{ url: `s3://${bucket}/tenant-a/in/sample.mp4` }],
        outputs: [{ url: `s3://${bucket}/tenant-b/ladder/` }],
        ladder: { preset: 'ultrafast' },
      },
      'tenant-b/ladder/',
    );
    const batch = (outputs: string, items: Record<string, unknown>) => ({
      name: 'a-batch',
      compute: 'intel',
      outputs: [{ url: outputs, options: '-c:v libx264 -preset ultrafast' }],
      ...items,
    });
    await expectForbidden(
      TOKENS.a,
      'POST',
      '/v1/batches',
      batch(`s3://${bucket}/tenant-b/out/{stem}.mp4`, { items: [`s3://${bucket}/tenant-a/in/sample.mp4`] }),
      'tenant-b/out/sample.mp4',
    );
    await expectForbidden(
      TOKENS.a,
      'POST',
      '/v1/batches',
      batch(`s3://${bucket}/tenant-a/out/{stem}.mp4`, {
        itemsFrom: { prefix: `s3://${bucket}/tenant-b/in/` },
      }),
      'tenant-b/in/',
    );
    // Every output is inside the prefix, but the manifest would be written beside the pattern's fixed
    // folder, the bucket's top: refused too.
    await expectForbidden(
      TOKENS.a,
      'POST',
      '/v1/batches',
      batch(`s3://${bucket}/tenant-{stem}/out.mp4`, { items: [`s3://${bucket}/tenant-a/a.mp4`] }),
      'manifest.json',
    );
  });

  it('sees only its own jobs: list, get, events and cancel of another tenant are refused', async () => {
    const submitted = await api<{ id: string }>(
      TOKENS.b,
      'POST',
      '/v1/jobs',
      job('b-clip', 'tenant-b/in/sample.mp4', 'shared/b/clip.mp4', { priority: 1 }),
    );
    expect(submitted.status).toBe(202);
    const jobB = submitted.body.id;

    const listA = await api<{ jobs: JobView[] }>(TOKENS.a, 'GET', '/v1/jobs');
    expect(listA.status).toBe(200);
    expect(listA.body.jobs.map((j) => j.id)).toContain(jobA);
    expect(listA.body.jobs.map((j) => j.id)).not.toContain(jobB);
    expect(new Set(listA.body.jobs.map((j) => j.owner))).toEqual(new Set(['tenant-a']));
    const listB = await api<{ jobs: JobView[] }>(TOKENS.b, 'GET', '/v1/jobs');
    expect(listB.body.jobs.map((j) => j.id)).toEqual([jobB]);

    await expectForbidden(TOKENS.a, 'GET', `/v1/jobs/${jobB}`, undefined, jobB);
    await expectForbidden(TOKENS.a, 'GET', `/v1/jobs/${jobB}/events`, undefined, jobB);
    await expectForbidden(TOKENS.a, 'DELETE', `/v1/jobs/${jobB}`, undefined, jobB);
    await expectForbidden(TOKENS.b, 'GET', `/v1/jobs/${jobA}`, undefined, jobA);
    const own = await api<JobView>(TOKENS.b, 'GET', `/v1/jobs/${jobB}`);
    expect(own.status).toBe(200);
    expect(own.body.owner).toBe('tenant-b');

    // The unscoped token sees both, each with who submitted it.
    const all = await api<{ jobs: JobView[] }>(TOKENS.admin, 'GET', '/v1/jobs');
    const owners = Object.fromEntries(all.body.jobs.map((j) => [j.id, j.owner]));
    expect(owners[jobA]).toBe('tenant-a');
    expect(owners[jobB]).toBe('tenant-b');
    // No token value is stored or shown anywhere in a job.
    expect(JSON.stringify(all.body)).not.toContain(TOKENS.a);
    expect(JSON.stringify(all.body)).not.toContain(TOKENS.b);

    await waitFor(jobB, 120_000);
  }, 180_000);

  it("keeps each token's idempotency keys apart", async () => {
    const a = await api<{ id: string }>(
      TOKENS.a,
      'POST',
      '/v1/jobs',
      job('a-idem', 'tenant-a/in/sample.mp4', 'tenant-a/out/idem.mp4', { idempotencyKey: 'same-key' }),
    );
    const b = await api<{ id: string }>(
      TOKENS.b,
      'POST',
      '/v1/jobs',
      job('b-idem', 'tenant-b/in/sample.mp4', 'tenant-b/out/idem.mp4', { idempotencyKey: 'same-key' }),
    );
    expect([a.status, b.status]).toEqual([202, 202]);
    expect(a.body.id).not.toBe(b.body.id);
    const again = await api<{ id: string }>(
      TOKENS.a,
      'POST',
      '/v1/jobs',
      job('a-idem', 'tenant-a/in/sample.mp4', 'tenant-a/out/idem.mp4', { idempotencyKey: 'same-key' }),
    );
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(a.body.id);
    for (const id of [a.body.id, b.body.id]) await waitFor(id, 120_000);
  }, 300_000);

  it("sees only its own batches: another tenant's batch, items and cancel are refused", async () => {
    const created = await api<{ id: string }>(TOKENS.a, 'POST', '/v1/batches', {
      name: 'a-batch',
      compute: 'intel',
      items: [`s3://${bucket}/tenant-a/in/sample.mp4`],
      outputs: [
        { url: `s3://${bucket}/tenant-a/batch/{stem}.mp4`, options: '-c:v libx264 -preset ultrafast' },
      ],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    const id = created.body.id;
    await expectForbidden(TOKENS.b, 'GET', `/v1/batches/${id}`, undefined, id);
    await expectForbidden(TOKENS.b, 'GET', `/v1/batches/${id}/items`, undefined, id);
    await expectForbidden(TOKENS.b, 'DELETE', `/v1/batches/${id}`, undefined, id);
    const own = await api<{ state: string }>(TOKENS.a, 'GET', `/v1/batches/${id}`);
    expect(own.status).toBe(200);
    const deadline = Date.now() + 120_000;
    let state = own.body.state;
    while (state === 'running' && Date.now() < deadline) {
      await sleep(200);
      state = (await api<{ state: string }>(TOKENS.a, 'GET', `/v1/batches/${id}`)).body.state;
    }
    expect(state).toBe('succeeded');
    // The manifest went beside the outputs, inside the prefix.
    const manifest = (await api<{ manifest: { json: string } }>(TOKENS.a, 'GET', `/v1/batches/${id}`)).body
      .manifest.json;
    expect(manifest.startsWith(`s3://${bucket}/tenant-a/batch/`)).toBe(true);
  }, 180_000);
});
