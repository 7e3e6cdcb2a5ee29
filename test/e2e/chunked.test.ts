/**
 * Chunked encodes on a real fleet (Redis, S3 server, worker processes, ffmpeg): the parent plans
 * and cuts, chunks and the audio run as their own jobs on any worker, the parent joins. The
 * output is checked against the source with ffprobe; failures, cancels and a worker killed
 * mid-chunk are checked through BullMQ's state and the timing records.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { isTimingRecord, planChunks, type TimingRecord } from '@ffleet/core';
import type { JobView } from '@ffleet/gateway';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ffmpegProcesses,
  finished,
  startFleet,
  type TestFleet,
  type WorkerProcess,
} from '../support/fleet.ts';
import { analyseFile, ffmpeg, makeSampleClip, packets, psnr } from '../support/media.ts';

const POOL = 'intel';
const SEGMENT = 4;
const OPTIONS = '-c:v libx264 -preset veryfast -crf 26 -threads 1 -c:a aac -b:a 96k';

let fleet: TestFleet;
let workers: WorkerProcess[] = [];
let source: string;

beforeAll(async () => {
  fleet = await startFleet();
  source = join(fleet.dir, 'source.mp4');
  // 20 s with a keyframe every 2 s: five chunks of 4 s.
  await makeSampleClip(source, { seconds: 20, size: '640x360' });
  await fleet.put('inputs/source.mp4', source);
  workers = await Promise.all([startWorker(), startWorker()]);
}, 120_000);

afterAll(async () => {
  await fleet?.stop();
});

const startWorker = () => fleet.startWorker(POOL, { FFLEET_CONCURRENCY: '1' });

function chunkedJob(name: string, options = OPTIONS) {
  return {
    name,
    compute: POOL,
    inputs: [{ url: `s3://${fleet.bucket}/inputs/source.mp4` }],
    outputs: [{ url: `s3://${fleet.bucket}/out/${name}.mp4`, options }],
    split: { segmentSeconds: SEGMENT },
  };
}

async function submit(body: unknown): Promise<string> {
  const { status, body: accepted } = await fleet.api<{ id: string }>('POST', '/v1/jobs', body);
  expect(status).toBe(202);
  return accepted.id;
}

async function timingRecords(): Promise<TimingRecord[]> {
  const listed = await fleet.s3.send(
    new ListObjectsV2Command({ Bucket: fleet.bucket, Prefix: 'metrics/timings/' }),
  );
  const records = await Promise.all(
    (listed.Contents ?? []).map(async (o) => JSON.parse((await fleet.get(o.Key!)).toString()) as unknown),
  );
  return records.filter(isTimingRecord);
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
    connection: { url: fleet.stack.redisUrl },
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
    const id = await submit(chunkedJob('chunked'));
    const seen = new Set<string>();
    const job = await fleet.waitFor<JobView>(
      id,
      (j) => {
        if (j.pipeline?.chunks && j.pipeline.chunks.running > 0)
          seen.add(`running:${j.pipeline.chunks.running}`);
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
    const records = (await timingRecords()).filter((r) => r.job_id === id || r.job_id.startsWith(`${id}-`));
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
