/**
 * Chunked encodes on a real fleet (Redis, S3 server, worker processes, ffmpeg): the parent plans
 * and cuts, chunks and the audio run as their own jobs on any worker, the parent joins. The
 * output is checked against the source with ffprobe; failures, cancels and a worker killed
 * mid-chunk are checked through BullMQ's state and the timing records.
 */
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeleteObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { planChunks, splitChunks } from '@ffleet/core';
import type { JobView } from '@ffleet/gateway';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  failingFfmpeg,
  ffmpegProcesses,
  finished,
  killWorker,
  shellScript,
  startFleet,
  type TestFleet,
  timingRecords,
  type WorkerProcess,
} from '../support/fleet.ts';
import { analyseFile, ffmpeg, makeSampleClip, packets, psnr } from '../support/media.ts';

const POOL = 'intel';
const SEGMENT = 4;
const OPTIONS = '-c:v libx264 -preset veryfast -crf 26 -threads 1 -c:a aac -b:a 96k';

let fleet: TestFleet;
let workers: WorkerProcess[] = [];
let source: string;

/** Replaces the pool's workers (each with one slot unless told otherwise). */
async function useWorkers(count: number, env: Record<string, string> = {}): Promise<void> {
  await Promise.all(workers.map((w) => killWorker(w)));
  workers = [];
  // One at a time, each kept as soon as it runs, so none is left behind if another fails to start.
  for (let i = 0; i < count; i++)
    workers.push(await fleet.startWorker(POOL, { FFLEET_CONCURRENCY: '1', ...env }));
}

beforeAll(async () => {
  fleet = await startFleet();
  source = join(fleet.dir, 'source.mp4');
  // 20 s with a keyframe every 2 s: five chunks of 4 s.
  await makeSampleClip(source, { seconds: 20, size: '640x360' });
  await fleet.put('inputs/source.mp4', source);
}, 120_000);

afterAll(async () => {
  await fleet?.stop();
});

function chunkedJob(name: string, options = OPTIONS) {
  return {
    name,
    compute: POOL,
    inputs: [{ url: `s3://${fleet.bucket}/inputs/source.mp4` }],
    outputs: [{ url: `s3://${fleet.bucket}/out/${name}.mp4`, options }],
    split: { segmentSeconds: SEGMENT },
  };
}

async function scratchObjects(id: string): Promise<string[]> {
  const listed = await fleet.s3.send(
    new ListObjectsV2Command({ Bucket: fleet.bucket, Prefix: `out/ffleet-scratch/${id}/` }),
  );
  return (listed.Contents ?? []).map((o) => o.Key!);
}

/** Jobs of the pool's queue in BullMQ's `waiting-children` state. */
async function waitingChildren(): Promise<string[]> {
  const queue = new Queue(`ffleet-${POOL}`, {
    connection: fleet.redis(),
    prefix: fleet.env.FFLEET_QUEUE_PREFIX,
  });
  try {
    return (await queue.getWaitingChildren()).map((j) => j.id!);
  } finally {
    await queue.close();
  }
}

describe('a chunked encode', () => {
  it('matches the source: frames, duration, a keyframe at each chunk start, A/V aligned, audio continuous, PSNR of a single pass', {
    timeout: 300_000,
  }, async () => {
    await useWorkers(2);
    const id = await fleet.submit(chunkedJob('chunked'));
    const seen = new Set<string>();
    const job = await fleet.waitFor<JobView>(
      id,
      (j) => {
        if ((splitChunks(j.pipeline)?.running ?? 0) > 0)
          seen.add(`running:${splitChunks(j.pipeline)!.running}`);
        return finished(j);
      },
      240_000,
    );
    expect(job.error).toBeNull();
    expect(job.state).toBe('succeeded');
    const media = await analyseFile(source);
    const chunks = planChunks(media.video!, SEGMENT);
    expect(job.pipeline).toMatchObject({
      kind: 'split',
      step: 'join',
      chunks: { total: chunks.length, done: chunks.length, running: 0, failed: 0 },
      frames: { done: media.video!.frameTimes.length, total: media.video!.frameTimes.length },
      audio: 'done',
    });
    // Two workers each took chunks at the same time.
    expect(seen.has('running:2')).toBe(true);
    // The audio (the whole running time in one job) was queued right after the first four
    // chunks, not behind every chunk: here after chunks 0 to 3, before chunk 4's piece was put.
    const queuedAt = async (child: string) =>
      Date.parse((await fleet.api<JobView>('GET', `/v1/jobs/${id}-${child}`)).body.createdAt);
    expect(chunks).toHaveLength(5);
    const firstBatch = await Promise.all(['c0', 'c1', 'c2', 'c3'].map(queuedAt));
    const audioQueued = await queuedAt('a');
    expect(audioQueued).toBeGreaterThanOrEqual(Math.max(...firstBatch));
    expect(audioQueued).toBeLessThan(await queuedAt('c4'));

    const output = join(fleet.dir, 'chunked.mp4');
    await writeFile(output, await fleet.get('out/chunked.mp4'));
    const video = await packets(output, 'v:0');
    const audio = await packets(output, 'a:0');
    const frame = 1 / 25;
    expect(video).toHaveLength(media.video!.frameTimes.length);
    const videoEnd = video.at(-1)!.pts + video.at(-1)!.duration;
    expect(Math.abs(videoEnd - (media.video!.endSeconds - media.video!.startSeconds))).toBeLessThanOrEqual(
      frame,
    );
    for (const chunk of chunks)
      expect(
        video.find((p) => Math.abs(p.pts - (chunk.startSeconds - media.video!.startSeconds)) < 1e-3)?.key,
      ).toBe(true);
    expect(Math.abs(audio[0]!.pts - video[0]!.pts)).toBeLessThanOrEqual(frame);
    expect(Math.abs(audio.at(-1)!.pts + audio.at(-1)!.duration - videoEnd)).toBeLessThanOrEqual(frame);
    for (let i = 1; i < audio.length; i++)
      expect(Math.abs(audio[i]!.pts - (audio[i - 1]!.pts + audio[i - 1]!.duration))).toBeLessThan(1e-4);

    const single = join(fleet.dir, 'single.mp4');
    await ffmpeg(['-i', source, ...OPTIONS.split(' '), single]);
    const [chunked, whole] = await Promise.all([psnr(source, output), psnr(source, single)]);
    expect(Math.abs(chunked - whole)).toBeLessThanOrEqual(0.5);

    // One record per chunk, the audio and the parent; scratch is gone; nothing waits for children.
    const records = (await timingRecords(fleet)).filter(
      (r) => r.job_id === id || r.job_id.startsWith(`${id}-`),
    );
    expect(records.map((r) => r.job_id).sort()).toEqual(
      [id, `${id}-a`, ...chunks.map((c) => `${id}-c${c.index}`)].sort(),
    );
    expect(await scratchObjects(id)).toEqual([]);
    expect(await waitingChildren()).toEqual([]);
    // Children are not listed as jobs of their own.
    const { body: list } = await fleet.api<{ jobs: JobView[] }>('GET', `/v1/jobs?pool=${POOL}`);
    expect(list.jobs.filter((j) => j.id.startsWith(`${id}-`))).toEqual([]);
  });
});

describe('a chunked encode of a phone video (coded landscape, shown upright)', () => {
  it('is upright like a single pass, with every frame, and its quality is measured against the upright source', {
    timeout: 300_000,
  }, async () => {
    await useWorkers(2);
    const phone = join(fleet.dir, 'phone.mp4');
    await ffmpeg(['-i', source, '-c', 'copy', '-metadata:s:v:0', 'rotate=90', phone]);
    await fleet.put('inputs/phone.mp4', phone);
    const id = await fleet.submit({
      ...chunkedJob('phone'),
      inputs: [{ url: `s3://${fleet.bucket}/inputs/phone.mp4` }],
      quality: true,
    });
    const job = await fleet.waitFor<JobView>(id, finished, 240_000);
    expect(job.state, JSON.stringify(job.error)).toBe('succeeded');

    const output = join(fleet.dir, 'phone-chunked.mp4');
    await writeFile(output, await fleet.get('out/phone.mp4'));
    const [original, chunked] = await Promise.all([analyseFile(phone), analyseFile(output)]);
    expect(chunked.video).toMatchObject({ width: 360, height: 640, rotation: 0 });
    expect(chunked.video!.frameTimes).toHaveLength(original.video!.frameTimes.length);
    const single = join(fleet.dir, 'phone-single.mp4');
    await ffmpeg(['-i', phone, ...OPTIONS.split(' '), single]);
    const [chunkedPsnr, singlePsnr] = await Promise.all([psnr(phone, output), psnr(phone, single)]);
    expect(Math.abs(chunkedPsnr - singlePsnr)).toBeLessThanOrEqual(0.5);
    // The worker's own (sampled) measurement agrees with ffmpeg's over every frame.
    expect(job.quality, JSON.stringify(job.quality)).toMatchObject({ status: 'measured' });
    expect(Math.abs(job.quality!.psnr! - chunkedPsnr)).toBeLessThanOrEqual(1);
    // The join downloaded the chunks and the audio, then the source to measure against: the
    // bytes of both count.
    const [record] = (await timingRecords(fleet)).filter((r) => r.job_id === id);
    expect(record!.input_bytes).toBeGreaterThan((await stat(phone)).size);
  });
});

describe('a chunked encode whose source is gone by the time its output is measured', () => {
  it('is published and succeeds, its quality saying why there is none', { timeout: 300_000 }, async () => {
    await useWorkers(2);
    // No audio: the audio job would read the source itself.
    const silent = join(fleet.dir, 'vanishing.mp4');
    await ffmpeg(['-i', source, '-an', '-c', 'copy', silent]);
    await fleet.put('inputs/vanishing.mp4', silent);
    const id = await fleet.submit({
      ...chunkedJob('vanishing', OPTIONS.replace(' -c:a aac -b:a 96k', '')),
      inputs: [{ url: `s3://${fleet.bucket}/inputs/vanishing.mp4` }],
      quality: true,
    });
    // Once the plan is stored, the chunks read their pieces from scratch, never the source.
    const planned = await fleet.waitFor<JobView>(
      id,
      (j) => Boolean(splitChunks(j.pipeline)) || finished(j),
      120_000,
    );
    expect(planned.state).toBe('running');
    await fleet.s3.send(new DeleteObjectCommand({ Bucket: fleet.bucket, Key: 'inputs/vanishing.mp4' }));
    const job = await fleet.waitFor<JobView>(id, finished, 240_000);
    expect(job.state, JSON.stringify(job.error)).toBe('succeeded');
    expect((await fleet.get('out/vanishing.mp4')).length).toBeGreaterThan(0);
    expect(job.quality).toEqual({
      status: 'failed',
      reason: expect.stringMatching(/^the source could not be read again to measure the output: /),
    });
    expect(job.metricsUrl).toBeNull();
  });
});

/** Options slow enough (on one thread) that a chunk is still encoding when the test acts. */
const SLOW = '-vf scale=960:540 -c:v libx264 -preset slow -threads 1 -c:a aac';

describe('a worker killed mid-chunk', () => {
  it('costs only its chunk: the job completes and every other chunk was encoded exactly once', {
    timeout: 400_000,
  }, async () => {
    await useWorkers(2);
    const id = await fleet.submit(chunkedJob('killed', SLOW));
    // Wait until a chunk is done and another is encoding, then kill the worker encoding it.
    await fleet.waitFor<JobView>(
      id,
      (j) => (splitChunks(j.pipeline)?.done ?? 0) >= 1 && (splitChunks(j.pipeline)?.running ?? 0) >= 1,
      240_000,
    );
    let victim: WorkerProcess | undefined;
    while (!victim) {
      for (const w of workers) if ((await ffmpegProcesses(w.workDir)).length > 0) victim = w;
      if (!victim) await sleep(100);
    }
    await killWorker(victim);
    workers = [
      ...workers.filter((w) => w !== victim),
      await fleet.startWorker(POOL, { FFLEET_CONCURRENCY: '1' }),
    ];

    const job = await fleet.waitFor<JobView>(id, finished, 300_000);
    expect(job.error).toBeNull();
    expect(job.state).toBe('succeeded');
    const chunkRecords = (await timingRecords(fleet)).filter((r) =>
      new RegExp(`^${id}-c\\d+$`).test(r.job_id),
    );
    expect(chunkRecords).toHaveLength(splitChunks(job.pipeline)!.total);
    // A chunk's attempt counts its starts: the killed one started twice, every other one once.
    const attempts = chunkRecords.map((r) => r.attempt).sort();
    expect(attempts.filter((a) => a === 1)).toHaveLength(chunkRecords.length - 1);
    expect(attempts.at(-1)).toBe(2);
    expect(chunkRecords.every((r) => r.state === 'succeeded')).toBe(true);
  });
});

describe('a chunk that fails for good', () => {
  it('fails the parent with its error, removes the siblings not yet run and leaves nothing behind', {
    timeout: 300_000,
  }, async () => {
    // A worker whose ffmpeg fails every chunk encode (and only those), like a broken node would.
    const wrapper = await failingFfmpeg(fleet.dir, 'ffmpeg-failing-chunks', '*force_key_frames*');
    await useWorkers(1, { FFMPEG_PATH: wrapper });
    const id = await fleet.submit(chunkedJob('failing-chunk'));
    const job = await fleet.waitFor<JobView>(id, finished, 240_000);
    expect(job.state).toBe('failed');
    expect(job.error).toMatchObject({ code: 'ffmpeg_failed' });
    expect(job.error!.message).toMatch(new RegExp(`^${id}-c\\d+ failed: ffmpeg exited with code 1`));
    expect(job.error!.stderr).toContain('simulated encoder fault');
    expect(splitChunks(job.pipeline)!.failed).toBe(1);
    expect(splitChunks(job.pipeline)!.done).toBe(0);

    const queue = new Queue(`ffleet-${POOL}`, {
      connection: fleet.redis(),
      prefix: fleet.env.FFLEET_QUEUE_PREFIX,
    });
    try {
      // The siblings that had not run are gone; none ran after the failure.
      const total = splitChunks(job.pipeline)!.total;
      const children = await Promise.all(
        Array.from({ length: total }, (_, i) => queue.getJob(`${id}-c${i}`)),
      );
      expect(children.filter(Boolean).length).toBe(1);
      expect(await queue.getJob(`${id}-a`)).toBeUndefined();
      expect(await queue.getWaitingChildrenCount()).toBe(0);
    } finally {
      await queue.close();
    }
    await expect.poll(() => scratchObjects(id), { timeout: 10_000 }).toEqual([]);
  });
});

describe('a chunk encode that loses frames', () => {
  it('fails the job with chunk_mismatch, naming the frames written and planned', {
    timeout: 300_000,
  }, async () => {
    // A worker whose chunk encodes stop after 7 frames (an option slipped in before the output),
    // and which otherwise runs ffmpeg as it is: the encode itself succeeds.
    const wrapper = await shellScript(fleet.dir, 'ffmpeg-short-chunks', [
      'case "$*" in *force_key_frames*) ;; *) exec ffmpeg "$@";; esac',
      'n=$#',
      'for arg do',
      '  [ "$n" -eq 1 ] && set -- "$@" -frames:v 7',
      '  set -- "$@" "$arg"',
      '  shift',
      '  n=$((n - 1))',
      'done',
      'exec ffmpeg "$@"',
    ]);
    await useWorkers(1, { FFMPEG_PATH: wrapper });
    const id = await fleet.submit(chunkedJob('short-chunk'));
    const job = await fleet.waitFor<JobView>(id, finished, 240_000);
    expect(job.state).toBe('failed');
    expect(job.error).toMatchObject({ code: 'chunk_mismatch' });
    // 4 s chunks of a 25 fps source: 100 frames planned for each.
    expect(job.error!.message).toMatch(
      new RegExp(`^${id}-c\\d+ failed: the chunk encode wrote 7 frames where the plan has 100$`),
    );
    expect(await waitingChildren()).toEqual([]);
    await expect.poll(() => scratchObjects(id), { timeout: 10_000 }).toEqual([]);
  });
});

describe('cancelling a chunked encode', () => {
  it('stops its running chunks (no ffmpeg left after 2 s), removes the queued ones and ends cancelled', {
    timeout: 300_000,
  }, async () => {
    await useWorkers(2);
    const id = await fleet.submit(chunkedJob('cancelled', SLOW));
    await fleet.waitFor<JobView>(id, (j) => (splitChunks(j.pipeline)?.running ?? 0) >= 2, 240_000);
    const { status } = await fleet.api('DELETE', `/v1/jobs/${id}`);
    expect(status).toBe(202);
    await sleep(2000);
    const running = (await Promise.all(workers.map((w) => ffmpegProcesses(w.workDir)))).flat();
    expect(running).toEqual([]);
    const job = await fleet.waitFor<JobView>(id, finished, 60_000);
    expect(job.state).toBe('cancelled');
    expect(await waitingChildren()).toEqual([]);
    await expect.poll(() => scratchObjects(id), { timeout: 10_000 }).toEqual([]);
  });
});
