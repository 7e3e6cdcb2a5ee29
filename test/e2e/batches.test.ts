/**
 * Batches on a real fleet (Redis, S3 server, worker processes, ffmpeg): one template over many
 * inputs, each item an ordinary job; counts, paging, the manifest read back from S3, the
 * webhook at the end, cancel, and a 10 000-item batch accepted and listed; the CLI's batch
 * and chunked submit with local files and downloads.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import {
  type BatchItemsPage,
  type BatchSpec,
  type BatchView,
  batchChildId,
  type JobData,
  jobOptions,
  manifestUrls,
  PIPELINE_PRIORITY,
  PoolRegistry,
  planBatch,
} from '@ffleet/core';
import { FlowProducer, Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ffmpegProcesses, startFleet, type TestFleet, type WorkerProcess } from '../support/fleet.ts';
import { analyseFile, makeSampleClip } from '../support/media.ts';
import { LOCAL_WEBHOOKS, startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts';

const exec = promisify(execFile);
const CLI = new URL('../../services/cli/src/main.ts', import.meta.url).pathname;

let fleet: TestFleet;
let receiver: WebhookReceiver;
let source: string;
let sourceFrames: number;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  fleet = await startFleet({ env: LOCAL_WEBHOOKS });
  source = join(fleet.dir, 'clip.mp4');
  await makeSampleClip(source, { seconds: 1, size: '320x180' });
  sourceFrames = (await analyseFile(source)).video!.frameTimes.length;
  // Two workers of three slots on the intel pool; no worker serves amd.
  for (let i = 0; i < 2; i++) workers.push(await fleet.startWorker('intel', { FFLEET_CONCURRENCY: '3' }));
}, 120_000);

afterAll(async () => {
  await fleet?.stop();
  await receiver?.close();
});

async function batchView(id: string): Promise<BatchView> {
  const { status, body } = await fleet.api<BatchView>('GET', `/v1/batches/${id}`);
  expect(status).toBe(200);
  return body;
}

async function waitForBatch(
  id: string,
  done: (b: BatchView) => boolean,
  timeoutMs: number,
): Promise<BatchView> {
  const deadline = Date.now() + timeoutMs;
  let last: BatchView | undefined;
  while (Date.now() < deadline) {
    last = await batchView(id);
    if (done(last)) return last;
    await sleep(250);
  }
  throw new Error(`batch ${id} did not reach the expected state: ${JSON.stringify(last)}`);
}

/** Every item, page by page. */
async function allItems(
  id: string,
  limit: number,
): Promise<{ items: BatchItemsPage['items']; pages: number }> {
  const items: BatchItemsPage['items'] = [];
  let cursor: string | null = '0';
  let pages = 0;
  while (cursor !== null) {
    const { status, body }: { status: number; body: BatchItemsPage } = await fleet.api<BatchItemsPage>(
      'GET',
      `/v1/batches/${id}/items?cursor=${cursor}&limit=${limit}`,
    );
    expect(status).toBe(200);
    items.push(...body.items);
    cursor = body.nextCursor;
    pages++;
  }
  return { items, pages };
}

function queueOf(pool: string): Queue {
  return new Queue(`ffleet-${pool}`, {
    connection: fleet.redis(),
    prefix: fleet.env.FFLEET_QUEUE_PREFIX,
  });
}

const keyOf = (url: string) => url.replace(`s3://${fleet.bucket}/`, '');

describe('a batch of 100 items, 3 of them missing', () => {
  it('runs 97, fails 3 with input_missing, counts them, pages through them, writes the manifest and sends the webhook', {
    timeout: 300_000,
  }, async () => {
    const missing = new Set([7, 50, 99]);
    const inputs = Array.from(
      { length: 100 },
      (_, i) => `s3://${fleet.bucket}/b100/in/clip-${String(i).padStart(3, '0')}.mp4`,
    );
    // Up to 16 uploads at a time.
    const present = inputs.filter((_, i) => !missing.has(i));
    for (let i = 0; i < present.length; i += 16)
      await Promise.all(present.slice(i, i + 16).map((url) => fleet.put(keyOf(url), source)));

    const { status, body: accepted } = await fleet.api<{
      id: string;
      items: number;
      links: { self: string };
    }>('POST', '/v1/batches', {
      name: 'b100',
      compute: 'intel',
      items: inputs,
      outputs: [{ url: `s3://${fleet.bucket}/b100/out/{stem}-{index}.mp4`, options: '-c copy' }],
      attempts: 1,
      webhook: { url: receiver.url },
    });
    expect(status).toBe(202);
    expect(accepted.items).toBe(100);
    expect(accepted.links.self).toBe(`/v1/batches/${accepted.id}`);

    const batch = await waitForBatch(accepted.id, (b) => b.state !== 'running', 240_000);
    expect(batch.state).toBe('succeeded');
    expect(batch.counts).toEqual({
      total: 100,
      queued: 0,
      running: 0,
      succeeded: 97,
      failed: 3,
      cancelled: 0,
    });
    expect(batch.manifest).not.toBeNull();

    // Paging: 3 pages of 40, every index once, in order.
    const { items, pages } = await allItems(accepted.id, 40);
    expect(pages).toBe(3);
    expect(items.map((i) => i.index)).toEqual(inputs.map((_, i) => i));
    expect(items.map((i) => i.input)).toEqual(inputs);
    const failed = items.filter((i) => i.state === 'failed');
    expect(failed.map((i) => i.index)).toEqual([...missing]);
    for (const item of failed) expect(item.error?.code).toBe('input_missing');
    expect(items.filter((i) => i.state === 'succeeded')).toHaveLength(97);

    // An item is an ordinary job; its output is real media with every frame of its input.
    const first = await fleet.api<{ state: string; outputs: { url: string; bytes: number }[] }>(
      'GET',
      `/v1/jobs/${items[0]!.jobId}`,
    );
    expect(first.body.state).toBe('succeeded');
    const output = join(fleet.dir, 'item0.mp4');
    await writeFile(output, await fleet.get('b100/out/clip-000-0.mp4'));
    expect((await analyseFile(output)).video!.frameTimes.length).toBe(sourceFrames);

    // The manifest, read back from S3: JSON and CSV.
    const manifest = JSON.parse((await fleet.get(keyOf(batch.manifest!.json))).toString()) as {
      batch: { id: string; state: string; counts: unknown };
      items: {
        index: number;
        input: string;
        state: string;
        outputs: { url: string; bytes: number }[];
        error?: { code: string };
      }[];
    };
    expect(manifest.batch).toMatchObject({ id: accepted.id, state: 'succeeded', counts: batch.counts });
    expect(manifest.items).toHaveLength(100);
    for (const item of manifest.items) {
      expect(item.input).toBe(inputs[item.index]);
      if (missing.has(item.index)) {
        expect(item.state).toBe('failed');
        expect(item.error?.code).toBe('input_missing');
        expect(item.outputs).toEqual([]);
      } else {
        expect(item.state).toBe('succeeded');
        const url = `s3://${fleet.bucket}/b100/out/clip-${String(item.index).padStart(3, '0')}-${item.index}.mp4`;
        expect(item.outputs).toHaveLength(1);
        expect(item.outputs[0]!.url).toBe(url);
        expect(item.outputs[0]!.bytes).toBe((await fleet.get(keyOf(url))).length);
      }
    }
    const csv = (await fleet.get(keyOf(batch.manifest!.csv))).toString().trimEnd().split('\n');
    expect(csv[0]).toBe('index,job_id,input,state,output,bytes,error_code,error_message');
    expect(csv).toHaveLength(101);
    const rows = csv.slice(1).map((line) => line.split(','));
    expect(rows.filter((r) => r[3] === 'succeeded')).toHaveLength(97);
    expect(rows.filter((r) => r[3] === 'failed').map((r) => [Number(r[0]), r[6]])).toEqual(
      [...missing].map((i) => [i, 'input_missing']),
    );

    // One webhook for the batch (items send none), with its counts.
    const deadline = Date.now() + 20_000;
    while (receiver.hooks.length === 0 && Date.now() < deadline) await sleep(100);
    await sleep(500);
    expect(receiver.hooks).toHaveLength(1);
    expect(receiver.hooks[0]!.event).toBe('job.succeeded');
    expect(receiver.hooks[0]!.job.id).toBe(accepted.id);
    expect(receiver.hooks[0]!.job.batch?.counts).toEqual(batch.counts);
    expect(receiver.hooks[0]!.job.batch?.manifest).toEqual(batch.manifest);

    // Lists hide a batch's items and the batch itself.
    const listed = await fleet.api<{ jobs: { id: string }[] }>('GET', '/v1/jobs?limit=500');
    expect(listed.body.jobs.filter((j) => j.id.startsWith(accepted.id))).toEqual([]);
  });
});

describe('a batch of 10 000 items', () => {
  it('is accepted, counted and listed page by page; cancelling it leaves nothing waiting for children', {
    timeout: 300_000,
  }, async () => {
    // No worker serves this pool: the items stay queued.
    const inputs = Array.from({ length: 10_000 }, (_, i) => `s3://${fleet.bucket}/many/in/take-${i}.mov`);
    const { status, body: accepted } = await fleet.api<{ id: string; items: number }>('POST', '/v1/batches', {
      name: 'many',
      compute: 'amd',
      items: inputs,
      outputs: [{ url: `s3://${fleet.bucket}/many/out/{stem}.mp4`, options: '-c copy' }],
    });
    expect(status).toBe(202);
    expect(accepted.items).toBe(10_000);

    const batch = await batchView(accepted.id);
    expect(batch.state).toBe('running');
    expect(batch.counts).toEqual({
      total: 10_000,
      queued: 10_000,
      running: 0,
      succeeded: 0,
      failed: 0,
      cancelled: 0,
    });

    const { items, pages } = await allItems(accepted.id, 1000);
    expect(pages).toBe(10);
    expect(items.map((i) => i.index)).toEqual(inputs.map((_, i) => i));
    expect(items.every((i) => i.state === 'queued')).toBe(true);
    expect(items[9999]!.input).toBe(inputs[9999]);

    const queue = queueOf('amd');
    try {
      expect(await queue.getJobCountByTypes('waiting', 'prioritized')).toBe(10_000);
      const { status: cancelStatus } = await fleet.api('DELETE', `/v1/batches/${accepted.id}`);
      expect(cancelStatus).toBe(202);
      const after = await batchView(accepted.id);
      expect(after.counts.cancelled).toBe(10_000);
      // The items are gone; the batch waits for a worker to write its manifest, not for children.
      expect(await queue.getWaitingChildren()).toEqual([]);
      expect(await queue.getJobCountByTypes('waiting', 'prioritized', 'delayed')).toBe(1);
      // Cancelled again while it waits for a worker: the batch stays, to end with its manifest.
      expect((await fleet.api('DELETE', `/v1/batches/${accepted.id}`)).status).toBe(202);
      expect((await batchView(accepted.id)).counts.cancelled).toBe(10_000);
      expect(await queue.getJobCountByTypes('waiting', 'prioritized', 'delayed')).toBe(1);
    } finally {
      await queue.close();
    }
  });
});

describe('a batch over an S3 folder', () => {
  it('lists the folder (suffix filter, in key order), fills {path}, and refuses a folder over its max', async () => {
    const keys = ['a/one.mov', 'a/two.mov', 'b/three.mov', 'notes.txt'];
    for (const key of keys) await fleet.put(`listed/in/${key}`, source);
    const body = {
      name: 'listed',
      compute: 'amd',
      itemsFrom: { prefix: `s3://${fleet.bucket}/listed/in/`, suffix: '.mov' },
      outputs: [{ url: `s3://${fleet.bucket}/listed/out/{path}.mp4`, options: '-c copy' }],
    };
    const { status, body: accepted } = await fleet.api<{ id: string; items: number }>(
      'POST',
      '/v1/batches',
      body,
    );
    expect(status).toBe(202);
    expect(accepted.items).toBe(3);
    const { items } = await allItems(accepted.id, 2);
    expect(items.map((i) => i.input)).toEqual(
      ['a/one.mov', 'a/two.mov', 'b/three.mov'].map((k) => `s3://${fleet.bucket}/listed/in/${k}`),
    );
    const item = await fleet.api<{ spec: { outputs: { url: string }[] } }>(
      'GET',
      `/v1/jobs/${items[2]!.jobId}`,
    );
    expect(item.body.spec.outputs[0]!.url).toBe(`s3://${fleet.bucket}/listed/out/b/three.mp4`);
    expect((await fleet.api('DELETE', `/v1/batches/${accepted.id}`)).status).toBe(202);

    const over = await fleet.api<{ error: string; message: string }>('POST', '/v1/batches', {
      ...body,
      itemsFrom: { ...body.itemsFrom, max: 2 },
    });
    expect(over.status).toBe(400);
    expect(over.body.error).toBe('too_many_inputs');
  });

  it('refuses bad batches with a clear 400 and queues nothing', async () => {
    const queue = queueOf('amd');
    const before = await queue.getJobCountByTypes('waiting', 'prioritized', 'delayed', 'waiting-children');
    const base = {
      name: 'bad',
      compute: 'amd',
      items: [`s3://${fleet.bucket}/x/a.mov`, `s3://${fleet.bucket}/y/a.mov`],
      outputs: [{ url: `s3://${fleet.bucket}/bad/{stem}.mp4`, options: '-c copy' }],
    };
    const cases: [unknown, string, RegExp][] = [
      [base, 'duplicate_output', /items 0 and 1 would both write/],
      [
        { ...base, outputs: [{ url: `s3://${fleet.bucket}/bad/{size}.mp4` }] },
        'invalid_job',
        /unknown placeholder \{size\}/,
      ],
      [
        { ...base, outputs: [{ url: `s3://${fleet.bucket}/bad/fixed.mp4` }] },
        'invalid_job',
        /needs a placeholder/,
      ],
      [
        { ...base, itemsFrom: { prefix: `s3://${fleet.bucket}/x/` } },
        'invalid_job',
        /either items or itemsFrom/,
      ],
      [{ ...base, items: undefined }, 'invalid_job', /needs items or itemsFrom/],
      [
        { ...base, items: [`s3://${fleet.bucket}/x/../../etc/passwd.mov`] },
        'invalid_job',
        /items\[0\]: object key has a "\.\." path segment/,
      ],
      [
        { ...base, outputs: [{ url: `s3://${fleet.bucket}/bad/{stem}.mp4`, options: '-i /etc/passwd' }] },
        'unsafe_job',
        /./,
      ],
    ];
    for (const [body, error, message] of cases) {
      const { status, body: answer } = await fleet.api<{ error: string; message: string }>(
        'POST',
        '/v1/batches',
        body,
      );
      expect(status, JSON.stringify(answer)).toBe(400);
      expect(answer.error, answer.message).toBe(error);
      expect(answer.message).toMatch(message);
    }
    expect(await queue.getJobCountByTypes('waiting', 'prioritized', 'delayed', 'waiting-children')).toBe(
      before,
    );
    await queue.close();
  });
});

describe('a batch whose gateway stopped while adding its items', () => {
  it('goes on when its gate comes due: the items it has run, the rest are failed as not_queued', {
    timeout: 120_000,
  }, async () => {
    // What a gateway lost after the first bulk leaves in Redis: the parent behind its gate, two
    // of three items, the gate never removed (here due in 1 s rather than 10 min).
    await fleet.put('lost/in/a.mp4', source);
    await fleet.put('lost/in/b.mp4', source);
    const spec: BatchSpec = {
      name: 'lost',
      compute: 'intel',
      outputs: [{ url: `s3://${fleet.bucket}/lost/out/{stem}.mp4`, options: '-c copy' }],
    };
    const inputs = ['a', 'b', 'c'].map((n) => `s3://${fleet.bucket}/lost/in/${n}.mp4`);
    const { items } = planBatch(spec, inputs, PoolRegistry.load(), {});
    const id = randomUUID();
    const queue = queueOf('intel');
    const flows = new FlowProducer({
      connection: fleet.redis(),
      prefix: fleet.env.FFLEET_QUEUE_PREFIX,
    });
    try {
      const base = { pool: 'intel', submittedAt: Date.now() };
      const parent: JobData = {
        ...base,
        spec: items[0]!.spec,
        pipeline: { kind: 'batch', inputs, manifest: manifestUrls(spec, id) },
      };
      await flows.add({
        name: 'lost',
        queueName: queue.name,
        data: parent,
        opts: { ...jobOptions(id, spec), priority: PIPELINE_PRIORITY },
        children: [
          {
            name: 'gate',
            queueName: queue.name,
            data: { ...base, spec: items[0]!.spec, role: { kind: 'gate', parentId: id } },
            opts: { jobId: batchChildId.gate(id), delay: 1000, attempts: 1, ignoreDependencyOnFailure: true },
          },
        ],
      });
      await queue.addBulk(
        items.slice(0, 2).map((item) => ({
          name: 'lost',
          data: { ...base, spec: item.spec, role: { kind: 'item', parentId: id, index: item.index } },
          opts: {
            ...jobOptions(batchChildId.item(id, item.index), item.spec),
            parent: { id, queue: queue.qualifiedName },
            ignoreDependencyOnFailure: true,
          },
        })),
      );
      const batch = await waitForBatch(id, (b) => b.state !== 'running', 90_000);
      expect(batch.state).toBe('succeeded');
      expect(batch.counts).toEqual({
        total: 3,
        queued: 0,
        running: 0,
        succeeded: 2,
        failed: 1,
        cancelled: 0,
      });
      const page = await allItems(id, 10);
      expect(page.items.map((i) => [i.state, i.error?.code ?? null])).toEqual([
        ['succeeded', null],
        ['succeeded', null],
        ['failed', 'not_queued'],
      ]);
      const manifest = JSON.parse((await fleet.get(keyOf(batch.manifest!.json))).toString()) as {
        items: { state: string; error?: { code: string } }[];
      };
      expect(manifest.items[2]).toMatchObject({ state: 'failed', error: { code: 'not_queued' } });
      expect(await queue.getWaitingChildren()).toEqual([]);
    } finally {
      await flows.close();
      await queue.close();
    }
  });
});

describe('cancelling a running batch', () => {
  it('stops its running items (no ffmpeg left after 2 s), removes the queued ones and ends cancelled with a manifest', {
    timeout: 300_000,
  }, async () => {
    const slowSource = join(fleet.dir, 'slow.mp4');
    await makeSampleClip(slowSource, { seconds: 30, size: '640x360' });
    const inputs = Array.from({ length: 8 }, (_, i) => `s3://${fleet.bucket}/slow/in/long-${i}.mp4`);
    await Promise.all(inputs.map((url) => fleet.put(keyOf(url), slowSource)));
    const { body: accepted } = await fleet.api<{ id: string }>('POST', '/v1/batches', {
      name: 'slow',
      compute: 'intel',
      items: inputs,
      webhook: { url: receiver.url },
      outputs: [
        {
          url: `s3://${fleet.bucket}/slow/out/{stem}.mp4`,
          options: '-c:v libx264 -preset slow -threads 1 -an',
        },
      ],
    });
    await waitForBatch(accepted.id, (b) => b.counts.running >= 2, 120_000);
    const { status } = await fleet.api('DELETE', `/v1/batches/${accepted.id}`);
    expect(status).toBe(202);
    await sleep(2000);
    for (const worker of workers) expect(await ffmpegProcesses(worker.workDir)).toEqual([]);

    const batch = await waitForBatch(accepted.id, (b) => b.state !== 'running', 60_000);
    expect(batch.state).toBe('cancelled');
    expect(batch.counts.cancelled).toBe(8);
    expect(batch.manifest).not.toBeNull();
    const manifest = JSON.parse((await fleet.get(keyOf(batch.manifest!.json))).toString()) as {
      batch: { state: string };
      items: { state: string }[];
    };
    expect(manifest.batch.state).toBe('cancelled');
    expect(manifest.items.map((i) => i.state)).toEqual(Array(8).fill('cancelled'));
    const queue = queueOf('intel');
    try {
      expect(await queue.getWaitingChildren()).toEqual([]);
    } finally {
      await queue.close();
    }
    const deadline = Date.now() + 20_000;
    while (!receiver.hooks.some((h) => h.job.id === accepted.id) && Date.now() < deadline) await sleep(100);
    const hook = receiver.hooks.find((h) => h.job.id === accepted.id);
    expect(hook?.event).toBe('job.cancelled');
    expect(hook?.job.batch?.counts.cancelled).toBe(8);
  });
});

/** `ffleet …` as a user runs it: against the fleet's gateway, with its S3 settings, not on a terminal. */
async function ffleet(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return exec(process.execPath, [CLI, ...args], {
    cwd: fleet.dir,
    env: { PATH: process.env.PATH, ...fleet.stack.env, FFLEET_GATEWAY: fleet.baseUrl },
    timeout: 240_000,
  });
}

describe('the CLI', () => {
  it('ffleet batch over local files uploads them, follows the counts and downloads the outputs and the manifest', {
    timeout: 300_000,
  }, async () => {
    const clips = join(fleet.dir, 'clips');
    await mkdir(clips, { recursive: true });
    const names = ['alpha', 'beta', 'gamma'];
    for (const name of names) await copyFile(source, join(clips, `${name}.mov`));
    const out = join(fleet.dir, 'downloads-batch');
    const { stdout, stderr } = await ffleet(
      'batch',
      ...names.map((n) => `clips/${n}.mov`),
      '-c',
      'intel',
      '-n',
      'cli-batch',
      '-o',
      `s3://${fleet.bucket}/cli/out/{stem}.mp4`,
      '--output-options',
      '-c copy',
      '--download',
      out,
    );
    const id = stdout.split('\n')[0]!;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    // Uploaded under one new folder, keeping their names; a progress line of counts per change.
    for (const name of names)
      expect(stderr).toMatch(
        new RegExp(`uploaded clips/${name}.mov -> s3://${fleet.bucket}/uploads/[0-9a-f]{8}/${name}.mov`),
      );
    expect(stderr).toContain(`${id} succeeded 3/3 queued=0 running=0 succeeded=3 failed=0 cancelled=0`);
    expect(stdout).toContain('state=succeeded');
    const files = (await readdir(out)).sort();
    expect(files).toEqual(
      [
        'alpha.mp4',
        'beta.mp4',
        `cli-batch-${id}.manifest.csv`,
        `cli-batch-${id}.manifest.json`,
        'gamma.mp4',
      ].sort(),
    );
    for (const name of names)
      expect((await analyseFile(join(out, `${name}.mp4`))).video!.frameTimes.length).toBe(sourceFrames);
  });

  it('ffleet submit --split uploads a local file, shows chunks done of total, and downloads the joined output', {
    timeout: 300_000,
  }, async () => {
    const local = join(fleet.dir, 'six.mp4');
    await makeSampleClip(local, { seconds: 6, size: '320x180' });
    const frames = (await analyseFile(local)).video!.frameTimes.length;
    const out = join(fleet.dir, 'downloads-split');
    const { stdout, stderr } = await ffleet(
      'submit',
      '-c',
      'intel',
      '-n',
      'cli-split',
      '-i',
      local,
      '-o',
      `s3://${fleet.bucket}/cli/split.mp4`,
      '--output-options',
      '-c:v libx264 -preset ultrafast -threads 1 -c:a aac',
      '--split',
      '2',
      '--download',
      out,
    );
    const id = stdout.split('\n')[0]!;
    expect(stderr).toMatch(
      new RegExp(`${id} succeeded done 100% \\| chunks 3/3 \\| frames ${frames}/${frames}`),
    );
    expect(stdout).toContain(`downloaded ${join(out, 'split.mp4')}`);
    expect((await analyseFile(join(out, 'split.mp4'))).video!.frameTimes.length).toBe(frames);
  });
});
