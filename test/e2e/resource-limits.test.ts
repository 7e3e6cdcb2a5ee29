/**
 * A pool's resource limits on real ffmpeg: a job over one (an allocation bomb, an output frame
 * over the pool's size, an input longer than the pool allows) fails once with `resource_limit`
 * naming the limit, is not retried, and the same worker runs the next job; a job asking for
 * more threads than the pool's cap runs with the cap, and one asking for fewer runs with fewer
 * (counted from /proc while ffmpeg runs); the quality pass runs under the same limits.
 */
import { spawn } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
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
import { makeSampleClip, probe } from '../support/media.ts';

const THREAD_CAP = 2;
const MAX_INPUT_SECONDS = 5;
/** 3840×2160. */
const MAX_OUTPUT_PIXELS = 8_294_400;

let fleet: TestFleet;
let worker: WorkerProcess;
let busyClip: string;

beforeAll(async () => {
  fleet = await startFleet();
  const clip = join(fleet.dir, 'sample.mp4');
  const long = join(fleet.dir, 'long.mp4');
  busyClip = join(fleet.dir, 'busy.mp4');
  await Promise.all([
    makeSampleClip(clip, { seconds: 1, size: '320x240' }),
    makeSampleClip(long, { seconds: MAX_INPUT_SECONDS + 1, size: '160x120' }),
    makeSampleClip(busyClip, { seconds: 4, size: '1280x720' }),
  ]);
  await fleet.put('inputs/sample.mp4', clip);
  await fleet.put('inputs/long.mp4', long);
  await fleet.put('inputs/busy.mp4', busyClip);
  worker = await fleet.startWorker('amd', {
    FFLEET_CONCURRENCY: '1',
    FFLEET_FFMPEG_MEMORY_MB: '1024',
    FFLEET_FFMPEG_MAX_ALLOC_MB: '512',
    FFLEET_FFMPEG_THREADS: String(THREAD_CAP),
    FFLEET_MAX_OUTPUT_PIXELS: String(MAX_OUTPUT_PIXELS),
    FFLEET_MAX_INPUT_SECONDS: String(MAX_INPUT_SECONDS),
  });
});

afterAll(async () => {
  await fleet?.stop();
});

function job(name: string, options: string, input = 'sample.mp4', inputOptions?: string) {
  return {
    name,
    compute: 'amd',
    attempts: 3,
    quality: false,
    inputs: [
      { url: `s3://${fleet.bucket}/inputs/${input}`, ...(inputOptions ? { options: inputOptions } : {}) },
    ],
    outputs: [{ url: `s3://${fleet.bucket}/out/${name}.mp4`, options }],
  };
}

async function workerIds(): Promise<string[]> {
  const { body } = await fleet.api<{ pools: { name: string; workers: { id: string }[] }[] }>(
    'GET',
    '/v1/pools',
  );
  return body.pools.find((p) => p.name === 'amd')?.workers.map((w) => w.id) ?? [];
}

/** A job that fails once with resource_limit, its message matching every pattern, and writes nothing. */
async function expectResourceLimit(id: string, name: string, ...message: RegExp[]): Promise<void> {
  const failed = await fleet.waitFor<JobView>(id, finished, 120_000);
  expect(failed.state).toBe('failed');
  expect(failed.error?.code, JSON.stringify(failed.error)).toBe('resource_limit');
  for (const pattern of message) expect(failed.error?.message).toMatch(pattern);
  // Permanent: not retried although the job allows 3 attempts.
  expect(failed.attempts.made).toBe(1);
  expect(await fleet.exists(`out/${name}.mp4`)).toBe(false);
}

/** The same worker, still up, runs an ordinary job to success. */
async function expectWorkerServes(before: string[], name: string): Promise<void> {
  const next = await fleet.submit(job(name, '-c:v libx264 -preset ultrafast'));
  const done = await fleet.waitFor<JobView>(next, finished, 120_000);
  expect(done.state, JSON.stringify(done.error)).toBe('succeeded');
  expect(await fleet.exists(`out/${name}.mp4`)).toBe(true);
  expect(worker.child.exitCode).toBeNull();
  expect(await workerIds()).toEqual(before);
}

/** Runs the busy clip through ffmpeg itself with these options and counts its most threads at once. */
async function peakThreadsWithoutFfleet(inputOptions: string, outputOptions: string): Promise<number> {
  const bare = spawn(
    'ffmpeg',
    [
      ...['-nostdin', '-v', 'error', ...inputOptions.split(' '), '-i', busyClip],
      ...[...outputOptions.split(' '), '-f', 'null', '-'],
    ],
    { stdio: 'ignore' },
  );
  return peakThreads(bare.pid!);
}

/** Runs `body` and counts the most threads its ffmpeg had at once. */
async function peakThreadsOfJob(body: ReturnType<typeof job>): Promise<{ peak: number; done: JobView }> {
  const id = await fleet.submit(body);
  let pid: number | undefined;
  while (pid === undefined) {
    [pid] = await ffmpegProcesses(worker.workDir);
    if (pid === undefined) {
      const { body } = await fleet.api<JobView>('GET', `/v1/jobs/${id}`);
      if (finished(body)) throw new Error(`the job ended before its ffmpeg was seen: ${body.state}`);
      await sleep(10);
    }
  }
  const peak = await peakThreads(pid);
  return { peak, done: await fleet.waitFor<JobView>(id, finished, 120_000) };
}

/** The most threads process `pid` had at once, sampled from /proc/<pid>/task until it ends. */
async function peakThreads(pid: number): Promise<number> {
  let peak = 0;
  for (;;) {
    const tasks = await readdir(`/proc/${pid}/task`).catch(() => undefined);
    if (!tasks) return peak;
    peak = Math.max(peak, tasks.length);
    await sleep(10);
  }
}

describe('resource limits', () => {
  it('fails an allocation bomb once with resource_limit, and the same worker runs the next job', async () => {
    const before = await workerIds();
    expect(before).toHaveLength(1);
    // A 16000×16000 frame inside the graph; the output itself is small, so memory is what stops it.
    const bomb = await fleet.submit(
      job('bomb', '-vf scale=16000:16000,hflip,scale=320:240 -c:v libx264 -preset ultrafast'),
    );
    await expectResourceLimit(
      bomb,
      'bomb',
      /FFLEET_FFMPEG_MEMORY_MB, 1024 MiB/,
      /FFLEET_FFMPEG_MAX_ALLOC_MB, 512 MiB/,
    );
    await expectWorkerServes(before, 'after-bomb');
  });

  it('fails an output frame over the pool’s size once, naming the limit and both sizes', async () => {
    const before = await workerIds();
    const big = await fleet.submit(job('big-frame', '-vf scale=8000:8000 -c:v libx264 -preset ultrafast'));
    await expectResourceLimit(
      big,
      'big-frame',
      /output frame size 8000×8000 \(64000000 pixels\)/,
      /limit of 8294400 pixels \(FFLEET_MAX_OUTPUT_PIXELS\)/,
    );
    // The same worker then runs a job whose frames are at the limit.
    const uhd = await fleet.submit(
      job('uhd-frame', '-vf scale=3840:2160 -c:v libx264 -preset ultrafast -frames:v 2'),
    );
    const done = await fleet.waitFor<JobView>(uhd, finished, 120_000);
    expect(done.state, JSON.stringify(done.error)).toBe('succeeded');
    const uhdFile = join(fleet.dir, 'uhd.mp4');
    await writeFile(uhdFile, await fleet.get('out/uhd-frame.mp4'));
    expect((await probe(uhdFile)).streams.find((s) => s.codec_type === 'video')).toMatchObject({
      width: 3840,
      height: 2160,
    });
    expect(worker.child.exitCode).toBeNull();
    expect(await workerIds()).toEqual(before);
  });

  it('says why even when the job asks ffmpeg to be quiet: its errors are still read', async () => {
    const quiet = await fleet.submit({
      ...job('big-frame-quiet', '-vf scale=8000:8000 -c:v libx264 -preset ultrafast'),
      globalOptions: '-v quiet',
    });
    await expectResourceLimit(
      quiet,
      'big-frame-quiet',
      /output frame size 8000×8000 \(64000000 pixels\)/,
      /limit of 8294400 pixels \(FFLEET_MAX_OUTPUT_PIXELS\)/,
    );
    // A quiet job that fails otherwise still carries ffmpeg's own last lines.
    const broken = await fleet.submit({
      ...job('quiet-broken', '-vf scale=320:240 -c:v libx264 -preset no-such-preset'),
      globalOptions: '-loglevel panic',
    });
    const failed = await fleet.waitFor<JobView>(broken, finished, 120_000);
    expect(failed.state).toBe('failed');
    expect(failed.error?.code).toBe('ffmpeg_failed');
    expect(failed.error?.stderr?.join('\n')).toMatch(/no-such-preset|Error setting/i);
  });

  it('fails an input longer than the pool allows before ffmpeg runs, naming the duration and the limit', async () => {
    const before = await workerIds();
    const long = await fleet.submit(job('long-input', '-c:v libx264 -preset ultrafast', 'long.mp4'));
    await expectResourceLimit(
      long,
      'long-input',
      /inputs\[0\] lasts 6\.\d s/,
      /input duration limit of 5 s \(FFLEET_MAX_INPUT_SECONDS\)/,
    );
    await expectWorkerServes(before, 'after-long-input');
  });

  it('runs a job asking for 16 threads with the pool’s cap of 2, counted from /proc', async () => {
    const asked = '-threads 16 -filter_threads 16 -vf scale=640:360 -c:v libx264 -preset veryfast';
    // The same command without ffleet: what ffmpeg starts when nothing caps it.
    const uncapped = await peakThreadsWithoutFfleet('-threads 16', asked);

    const { peak: capped, done } = await peakThreadsOfJob(job('threads', asked, 'busy.mp4', '-threads 16'));
    expect(done.state, JSON.stringify(done.error)).toBe('succeeded');
    // ffmpeg's threads: its own (main, and in FFmpeg 7 one per demuxer, decoder, filter graph,
    // encoder and muxer) plus up to the cap each for the decoder, the filters and the encoder.
    expect(capped, `capped ${capped}, uncapped ${uncapped}`).toBeLessThanOrEqual(4 * THREAD_CAP + 8);
    expect(uncapped, `capped ${capped}, uncapped ${uncapped}`).toBeGreaterThan(2 * capped);
  });

  it('measures quality under the same limits: the pool’s memory limit and thread cap, read from /proc', async () => {
    const id = await fleet.submit({
      ...job('quality-capped', '-vf scale=640:360 -c:v libx264 -preset veryfast', 'busy.mp4'),
      quality: { mode: 'full' },
    });
    // The quality pass is the worker's ffmpeg comparing with psnr, after the encode.
    let pid: number | undefined;
    while (pid === undefined) {
      for (const candidate of await ffmpegProcesses(worker.workDir)) {
        const cmdline = await readFile(`/proc/${candidate}/cmdline`, 'utf8').catch(() => '');
        if (cmdline.includes('psnr=')) pid = candidate;
      }
      if (pid === undefined) {
        const { body } = await fleet.api<JobView>('GET', `/v1/jobs/${id}`);
        if (finished(body)) throw new Error(`the job ended before its quality pass was seen: ${body.state}`);
        await sleep(5);
      }
    }
    const limits = await readFile(`/proc/${pid}/limits`, 'utf8').catch(() => '');
    const peak = await peakThreads(pid);
    const done = await fleet.waitFor<JobView & { quality: { status: string } | null }>(id, finished, 120_000);
    expect(done.state, JSON.stringify(done.error)).toBe('succeeded');
    expect(done.quality?.status).toBe('measured');
    // Read while it ran (empty if it ended first, which fails here too).
    expect(limits).toMatch(new RegExp(`^Max address space\\s+${1024 * 1024 * 1024}\\s`, 'm'));

    // The same comparison (both decoders, the scale, psnr and ssim) by ffmpeg alone, uncapped.
    const output = join(fleet.dir, 'quality-capped.mp4');
    await writeFile(output, await fleet.get('out/quality-capped.mp4'));
    const graph = '[0:v]scale=1280:720,split=2[a][b];[1:v]split=2[c][d];[a][c]psnr;[b][d]ssim';
    const bare = spawn(
      'ffmpeg',
      ['-nostdin', '-v', 'error', '-i', output, '-i', busyClip, '-filter_complex', graph, '-f', 'null', '-'],
      { stdio: 'ignore' },
    );
    const uncapped = await peakThreads(bare.pid!);
    expect(peak, `capped ${peak}, uncapped ${uncapped}`).toBeLessThan(uncapped);
    expect(peak, `capped ${peak}`).toBeLessThanOrEqual(4 * THREAD_CAP + 2);
  });

  it('runs a job asking for one thread everywhere with one: the cap is a ceiling, not a setting', async () => {
    const one = '-threads 1 -filter_threads 1 -vf scale=640:360 -c:v libx264 -preset veryfast';
    // What ffmpeg itself starts for that command.
    const alone = await peakThreadsWithoutFfleet('-threads 1', one);
    const { peak, done } = await peakThreadsOfJob(job('one-thread', one, 'busy.mp4', '-threads 1'));
    expect(done.state, JSON.stringify(done.error)).toBe('succeeded');
    // With the cap after the job's own counts, this ffmpeg had 6 threads (2 each).
    expect(peak, `in the job ${peak}, alone ${alone}`).toBeLessThanOrEqual(alone + 1);
  });
});
