import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { JobView } from '@ffleet/gateway';
import { ffqmKey, type QualityRecord, type TimingRecord, timingKey } from '@ffleet/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finished, startFleet, type TestFleet } from '../support/fleet.ts';
import { ffmpeg, makeSampleClip } from '../support/media.ts';

type Job = JobView;
const METRICS_BUCKET = 'ffleet-metrics';

let fleet: TestFleet;
let bucket: string;
/** Every ffmpeg and ffprobe the arm worker starts, with the environment it got. */
let toolLog: string;

beforeAll(async () => {
  fleet = await startFleet();
  bucket = fleet.bucket;
  await fleet.s3.send(new CreateBucketCommand({ Bucket: METRICS_BUCKET }));
  const clip = join(fleet.dir, 'sample.mp4');
  await makeSampleClip(clip, { seconds: 2, size: '640x360' });
  await fleet.put('inputs/sample.mp4', clip);
  const corrupt = join(fleet.dir, 'corrupt.mp4');
  await writeFile(corrupt, Buffer.from('not a video at all '.repeat(200)));
  await fleet.put('inputs/corrupt.mp4', corrupt);
  // intel: the test fleet's settings (quality only when a job asks, records beside the outputs).
  await fleet.startWorker('intel');
  // amd: quality on by default and measured in full, records in a bucket of their own.
  await fleet.startWorker('amd', {
    FFLEET_QUALITY_DEFAULT: 'true',
    FFLEET_QUALITY_MODE: 'full',
    FFLEET_METRICS_BUCKET: METRICS_BUCKET,
  });
  // arm: a vendor-style build that needs a variable of its own, with ffmpeg and ffprobe behind
  // wrappers that write down the environment and arguments of every run before starting the real tool.
  toolLog = join(fleet.dir, 'tools.log');
  const wrapper = async (tool: string) => {
    const path = join(fleet.dir, `${tool}-wrapper`);
    const line = `${tool}\tXILINX_XRT=\${XILINX_XRT:-unset}\tAWS_SECRET_ACCESS_KEY=\${AWS_SECRET_ACCESS_KEY:-unset}\t$*`;
    await writeFile(path, `#!/bin/sh\nprintf '%s\\n' "${line}" >> '${toolLog}'\nexec ${tool} "$@"\n`, {
      mode: 0o755,
    });
    return path;
  };
  await fleet.startWorker('arm', {
    FFMPEG_PATH: await wrapper('ffmpeg'),
    FFPROBE_PATH: await wrapper('ffprobe'),
    FFLEET_FFMPEG_ENV: 'XILINX_XRT',
    XILINX_XRT: '/opt/xilinx/xrt',
  });
});

afterAll(async () => {
  await fleet?.stop();
});

async function run(body: Record<string, unknown>): Promise<Job> {
  const { status, body: accepted } = await fleet.api<{ id: string }>('POST', '/v1/jobs', {
    inputs: [{ url: `s3://${bucket}/inputs/sample.mp4` }],
    ...body,
  });
  expect(status, JSON.stringify(accepted)).toBe(202);
  return fleet.waitFor<Job>(accepted.id, finished);
}

async function readJson<T>(inBucket: string, key: string): Promise<T> {
  const response = await fleet.s3.send(new GetObjectCommand({ Bucket: inBucket, Key: key }));
  return JSON.parse(await response.Body!.transformToString()) as T;
}

async function keys(inBucket: string, prefix: string): Promise<string[]> {
  const listed = await fleet.s3.send(new ListObjectsV2Command({ Bucket: inBucket, Prefix: prefix }));
  return (listed.Contents ?? []).map((o) => o.Key!);
}

/** The record key of a job, dated when it finished (a second earlier, should it straddle midnight). */
function expectRecordKey(key: string, make: (at: Date) => string, job: Job) {
  const at = Date.parse(job.finishedAt!);
  expect([make(new Date(at)), make(new Date(at - 1000))]).toContain(key);
}

describe('quality metrics of a job', () => {
  it('writes PSNR/SSIM per frame and summarised, with VMAF unavailable and why', async () => {
    const job = await run({
      name: 'quality-720',
      compute: 'intel',
      quality: { mode: 'full' },
      outputs: [
        {
          url: `s3://${bucket}/out/q.mp4`,
          options: '-vf scale=-2:180 -c:v libx264 -preset ultrafast -crf 30',
        },
      ],
    });
    expect(job.state, JSON.stringify(job.error)).toBe('succeeded');

    // The record sits at metrics/ffqm/year=/month=/day=/<pool>_<jobId>.json beside the outputs.
    const [key, ...others] = await keys(bucket, 'metrics/ffqm/');
    expect(others).toEqual([]);
    expect(key).toMatch(
      new RegExp(`^metrics/ffqm/year=\\d{4}/month=\\d{2}/day=\\d{2}/intel_${job.id}\\.json$`),
    );
    expectRecordKey(key!, (at) => ffqmKey('intel', job.id, at), job);
    expect(job.metricsUrl).toBe(`s3://${bucket}/${key}`);

    const record = await readJson<QualityRecord>(bucket, key!);
    expect(record.psnr).toHaveLength(50);
    expect(record.ssim).toHaveLength(50);
    expect(Object.keys(record.psnr[0]!).sort()).toEqual(
      ['mse_avg', 'mse_u', 'mse_v', 'mse_y', 'n', 'psnr_avg', 'psnr_u', 'psnr_v', 'psnr_y'].sort(),
    );
    for (const stats of [
      record.global.psnr.psnr_avg,
      record.global.psnr.psnr_y,
      record.global.ssim.ssim_avg,
    ]) {
      expect(Object.keys(stats!).sort()).toEqual(['average', 'max', 'median', 'min', 'stdev']);
      expect(stats!.min).toBeLessThanOrEqual(stats!.average);
      expect(stats!.average).toBeLessThanOrEqual(stats!.max);
    }
    const psnr = record.global.psnr.psnr_avg!.average;
    const ssim = record.global.ssim.ssim_avg!.average;
    // A 640x360 test pattern squeezed to 320x180 and scaled back: visibly lossy, far from identical.
    expect(psnr).toBeGreaterThan(15);
    expect(psnr).toBeLessThan(45);
    expect(ssim).toBeGreaterThan(0.5);
    expect(ssim).toBeLessThan(0.999);
    // This ffmpeg has no libvmaf: no number, a reason.
    expect(record.vmaf).toBeUndefined();
    expect(record.global.vmaf).toBeUndefined();
    expect(record.ffleet.vmaf).toEqual({ available: false, reason: expect.stringContaining('libvmaf') });
    expect(record.ffleet.scaled).toEqual({ from: '320x180', to: '640x360' });
    expect(record).toMatchObject({
      AWS_BATCH_JOB_ID: job.id,
      AWS_BATCH_JQ_NAME: 'intel',
      input_file_ref: `s3://${bucket}/inputs/sample.mp4`,
      input_file_dist: `s3://${bucket}/out/q.mp4`,
      ffleet: {
        job_id: job.id,
        job_name: 'quality-720',
        pool: 'intel',
        frames: 50,
        mode: 'full',
        subsample: 1,
      },
    });

    // The job view summarises the same numbers.
    expect(job.quality).toEqual({
      status: 'measured',
      psnr,
      ssim,
      frames: 50,
      mode: 'full',
      subsample: 1,
      vmafUnavailable: record.ffleet.vmaf.available ? undefined : record.ffleet.vmaf.reason,
    });
    expect(job.timings!.quality).toBeGreaterThan(0);

    // And the timing record carries the stages, including quality, and the averages.
    const [timing] = await keys(bucket, 'metrics/timings/');
    expectRecordKey(timing!, (at) => timingKey('intel', job.id, at), job);
    const times = await readJson<TimingRecord>(bucket, timing!);
    expect(times).toMatchObject({
      job_id: job.id,
      job_name: 'quality-720',
      pool: 'intel',
      state: 'succeeded',
      attempt: 1,
      quality: { psnr, ssim },
    });
    expect(times.stages_ms.quality).toBe(job.timings!.quality);
    expect(times.stages_ms.ffmpeg).toBe(job.timings!.ffmpeg);
    expect(times.stages_ms.queue).toBeGreaterThanOrEqual(0);
    expect(times.media_duration_seconds).toBeCloseTo(2, 0);
  });

  it('compares every 7th frame of a clip too short for windows, within 0.5 dB and 0.005 of comparing every frame', async () => {
    const options = '-vf scale=-2:180 -c:v libx264 -preset ultrafast -crf 30';
    const [full, sampled] = await Promise.all(
      (['full', undefined] as const).map((mode, i) =>
        run({
          name: `quality-${mode ?? 'default'}`,
          compute: 'intel',
          quality: mode ? { mode } : true,
          outputs: [{ url: `s3://${bucket}/out/modes-${i}.mp4`, options }],
        }),
      ),
    );
    expect(sampled!.quality).toMatchObject({ status: 'measured', mode: 'sampled', subsample: 7, frames: 8 });
    const record = await readJson<QualityRecord>(bucket, new URL(sampled!.metricsUrl!).pathname.slice(1));
    expect(record.ffleet).toMatchObject({ mode: 'sampled', subsample: 7, frames: 8 });
    // The output's own frame numbers, the same pairs the full measurement compares.
    expect(record.psnr.map((f) => f.n)).toEqual([1, 8, 15, 22, 29, 36, 43, 50]);
    const fullRecord = await readJson<QualityRecord>(bucket, new URL(full!.metricsUrl!).pathname.slice(1));
    expect(record.psnr).toEqual(fullRecord.psnr.filter((f) => [1, 8, 15, 22, 29, 36, 43, 50].includes(f.n!)));
    expect(Math.abs(sampled!.quality!.psnr! - full!.quality!.psnr!)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(sampled!.quality!.ssim! - full!.quality!.ssim!)).toBeLessThanOrEqual(0.005);

    const refused = await fleet.api<{ error: string; message: string }>('POST', '/v1/jobs', {
      name: 'bad-mode',
      compute: 'intel',
      quality: { mode: 'fast' },
      inputs: [{ url: `s3://${bucket}/inputs/sample.mp4` }],
      outputs: [{ url: `s3://${bucket}/out/never.mp4` }],
    });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({
      error: 'invalid_job',
      message: expect.stringContaining('/quality'),
    });
  });

  it('compares a few windows of consecutive frames on a clip long enough for them, and says so', async () => {
    const clip = join(fleet.dir, 'long.mp4');
    await makeSampleClip(clip, { seconds: 15, size: '320x180' });
    await fleet.put('inputs/long.mp4', clip);
    const job = await run({
      name: 'quality-windows',
      compute: 'intel',
      quality: true,
      inputs: [{ url: `s3://${bucket}/inputs/long.mp4` }],
      outputs: [{ url: `s3://${bucket}/out/long.mp4`, options: '-c:v libx264 -preset ultrafast -crf 30' }],
    });
    // Three 1 s windows of the 25 fps output, every frame in them compared.
    expect(job.quality).toMatchObject({
      status: 'measured',
      mode: 'sampled',
      subsample: 1,
      windows: 3,
      frames: 75,
    });
    const record = await readJson<QualityRecord>(bucket, new URL(job.metricsUrl!).pathname.slice(1));
    expect(record.ffleet).toMatchObject({ mode: 'sampled', subsample: 1, frames: 75 });
    expect(record.ffleet.windows!.map((w) => w.frames)).toEqual([25, 25, 25]);
    // The per-frame n are the output's own numbers, window after window.
    expect(record.psnr.map((f) => f.n)).toEqual(
      record.ffleet.windows!.flatMap((w) => Array.from({ length: w.frames }, (_, i) => w.first_frame + i)),
    );
    expect(record.ffleet.windows!.at(-1)!.first_frame).toBeGreaterThan(250);
  });

  it('follows the fleet default unless the job says otherwise, and writes records to the metrics bucket', async () => {
    const byDefault = await run({
      name: 'default-on',
      compute: 'amd',
      outputs: [{ url: `s3://${bucket}/out/default.mp4`, options: '-c:v libx264 -preset ultrafast' }],
    });
    expect(byDefault.quality).toMatchObject({ status: 'measured', mode: 'full', subsample: 1, frames: 50 });
    expect(byDefault.metricsUrl).toMatch(
      new RegExp(
        `^s3://${METRICS_BUCKET}/metrics/ffqm/year=\\d{4}/month=\\d{2}/day=\\d{2}/amd_${byDefault.id}\\.json$`,
      ),
    );

    const optedOut = await run({
      name: 'opted-out',
      compute: 'amd',
      quality: false,
      outputs: [{ url: `s3://${bucket}/out/opted-out.mp4`, options: '-c:v libx264 -preset ultrafast' }],
    });
    expect(optedOut.state).toBe('succeeded');
    expect(optedOut.quality).toBeNull();
    expect(optedOut.metricsUrl).toBeNull();
    expect(optedOut.timings!.quality).toBeUndefined();

    const sampled = await run({
      name: 'asks-sampled',
      compute: 'amd',
      quality: { mode: 'sampled' },
      outputs: [{ url: `s3://${bucket}/out/asks-sampled.mp4`, options: '-c:v libx264 -preset ultrafast' }],
    });
    expect(sampled.quality).toMatchObject({ status: 'measured', mode: 'sampled', subsample: 7, frames: 8 });

    const ffqm = await keys(METRICS_BUCKET, 'metrics/ffqm/');
    expect(ffqm.map((k) => k.split('/').pop()).sort()).toEqual(
      [`amd_${byDefault.id}.json`, `amd_${sampled.id}.json`].sort(),
    );
    // Every job gets a timing record, quality or not.
    const timings = (await keys(METRICS_BUCKET, 'metrics/timings/')).map((k) => k.split('/').pop()).sort();
    expect(timings).toEqual(
      [`amd_${byDefault.id}.json`, `amd_${optedOut.id}.json`, `amd_${sampled.id}.json`].sort(),
    );
  });

  it('measures a phone video, coded landscape and shown upright, against the upright picture', async () => {
    // The sample with a display matrix turning it a quarter turn, as phones write it.
    const phone = join(fleet.dir, 'phone.mp4');
    await ffmpeg(['-i', join(fleet.dir, 'sample.mp4'), '-c', 'copy', '-metadata:s:v:0', 'rotate=90', phone]);
    await fleet.put('inputs/phone.mp4', phone);
    const job = await run({
      name: 'phone-upright',
      compute: 'intel',
      quality: { mode: 'full' },
      inputs: [{ url: `s3://${bucket}/inputs/phone.mp4` }],
      outputs: [
        { url: `s3://${bucket}/out/phone.mp4`, options: '-vf scale=180:320 -c:v libx264 -preset ultrafast' },
      ],
    });
    expect(job.state, JSON.stringify(job.error)).toBe('succeeded');
    expect(job.quality, JSON.stringify(job.quality)).toMatchObject({ status: 'measured', frames: 50 });
    expect(job.quality!.psnr).toBeGreaterThan(25);
    expect(job.quality!.ssim).toBeGreaterThan(0.8);
  });

  it('never fails a job over quality: it says why there is no measurement', async () => {
    const audioOnly = await run({
      name: 'audio-only',
      compute: 'intel',
      quality: true,
      outputs: [{ url: `s3://${bucket}/out/audio.m4a`, options: '-vn -c:a aac' }],
    });
    expect(audioOnly.state).toBe('succeeded');
    expect(audioOnly.quality).toEqual({
      status: 'not_applicable',
      reason: expect.stringContaining('no video'),
    });
    expect(audioOnly.metricsUrl).toBeNull();
    expect(audioOnly.timings!.quality).toBeUndefined();

    const shifted = await run({
      name: 'clip-later',
      compute: 'intel',
      quality: true,
      inputs: [{ url: `s3://${bucket}/inputs/sample.mp4`, options: '-ss 1' }],
      outputs: [{ url: `s3://${bucket}/out/later.mp4`, options: '-c:v libx264 -preset ultrafast' }],
    });
    expect(shifted.state).toBe('succeeded');
    expect(shifted.quality).toEqual({ status: 'not_applicable', reason: expect.stringContaining('-ss') });

    const folder = await run({
      name: 'hls-quality',
      compute: 'intel',
      quality: true,
      outputs: [
        { url: `s3://${bucket}/out/hls/`, options: '-c:v libx264 -preset ultrafast -f hls -hls_time 1' },
      ],
    });
    expect(folder.state).toBe('succeeded');
    expect(folder.quality).toEqual({ status: 'not_applicable', reason: expect.stringContaining('folder') });
  });

  it('records a failed attempt in a timing record too', async () => {
    const job = await run({
      name: 'broken-input',
      compute: 'intel',
      quality: true,
      inputs: [{ url: `s3://${bucket}/inputs/corrupt.mp4` }],
      outputs: [{ url: `s3://${bucket}/out/broken.mp4` }],
    });
    expect(job.state).toBe('failed');
    const key = (await keys(bucket, 'metrics/timings/')).find((k) => k.endsWith(`intel_${job.id}.json`));
    expect(key).toBeDefined();
    const times = await readJson<TimingRecord>(bucket, key!);
    expect(times).toMatchObject({ job_id: job.id, state: 'failed', pool: 'intel' });
    expect(times.quality).toBeUndefined();
  });
});

describe("a vendor build's environment", () => {
  it('reaches every ffmpeg and ffprobe the worker starts, the quality pass included, and nothing else does', async () => {
    const job = await run({
      name: 'vendor-env',
      compute: 'arm',
      quality: true,
      outputs: [{ url: `s3://${bucket}/out/vendor.mp4`, options: '-c:v libx264 -preset ultrafast -crf 30' }],
    });
    expect(job.state, JSON.stringify(job.error)).toBe('succeeded');
    expect(job.quality?.status).toBe('measured');
    const runs = (await readFile(toolLog, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => {
        const [tool, xrt, secret, args] = line.split('\t');
        return { tool, xrt, secret, args: args ?? '' };
      });
    const started = (tool: string, args: RegExp) => runs.filter((r) => r.tool === tool && args.test(r.args));
    // Capability probe, duration probe, the job's command, and the quality pass's probes and measurement.
    expect(started('ffmpeg', /-encoders/)).not.toHaveLength(0);
    expect(started('ffprobe', /format=duration/)).not.toHaveLength(0);
    expect(started('ffmpeg', /-progress pipe:1/)).toHaveLength(1);
    expect(started('ffprobe', /stream=width,height,pix_fmt/)).toHaveLength(2);
    expect(started('ffmpeg', /psnr=stats_file/)).toHaveLength(1);
    for (const r of runs) {
      expect(r.xrt, `${r.tool} ${r.args}`).toBe('XILINX_XRT=/opt/xilinx/xrt');
      expect(r.secret, `${r.tool} ${r.args}`).toBe('AWS_SECRET_ACCESS_KEY=unset');
    }
  });
});
