/**
 * Quality targets on a real fleet (Redis, S3 server, worker processes, ffmpeg): the worker
 * searches the CRF with probe encodes, keeps the chosen probe as the output, and says how it
 * chose. Outputs are measured again here, in full, with ffmpeg's own ssim filter.
 */

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MAX_PROBES, type QualityRecord, type TargetQualityResult } from '@ffleet/core';
import type { JobView } from '@ffleet/gateway';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finished, startFleet, type TestFleet } from '../support/fleet.ts';
import { ffmpeg, makeSampleClip, packets, probe, ssim } from '../support/media.ts';

const X264 = '-c:v libx264 -preset veryfast -threads 1';
/** A window both sources can reach, at very different CRFs. */
const TARGET = { metric: 'ssim', min: 0.96, max: 0.97 } as const;

let fleet: TestFleet;
const sources: Record<string, string> = {};

beforeAll(async () => {
  fleet = await startFleet();
  const make = async (name: string, lavfi: string) => {
    const file = join(fleet.dir, `${name}.mkv`);
    // Lossless sources, so the scores are of the target's encode alone.
    await ffmpeg(['-f', 'lavfi', '-i', lavfi, '-pix_fmt', 'yuv420p', '-c:v', 'ffv1', file]);
    await fleet.put(`inputs/${name}.mkv`, file);
    sources[name] = file;
  };
  await make('still', 'smptehdbars=s=160x90:r=25:d=2');
  await make('noise', 'color=c=gray:s=160x90:r=25:d=2,noise=alls=60:allf=t+u');
  const clip = join(fleet.dir, 'clip.mp4');
  await makeSampleClip(clip, { seconds: 10, size: '160x90' });
  await fleet.put('inputs/clip.mp4', clip);
  sources.clip = clip;
  const long = join(fleet.dir, 'long.mp4');
  await makeSampleClip(long, { seconds: 60, size: '160x90' });
  await fleet.put('inputs/long.mp4', long);
  sources.long = long;
  await fleet.startWorker('intel');
  await fleet.startWorker('intel');
}, 120_000);

afterAll(async () => {
  await fleet?.stop();
});

function targetJob(
  name: string,
  source: string,
  targetQuality: Record<string, unknown>,
  extra: Record<string, unknown> = {},
) {
  return {
    name,
    compute: 'intel',
    inputs: [{ url: `s3://${fleet.bucket}/inputs/${source}` }],
    outputs: [{ url: `s3://${fleet.bucket}/out/${name}.mp4`, options: X264 }],
    targetQuality,
    ...extra,
  };
}

async function run(body: unknown): Promise<JobView & { targetQuality?: TargetQualityResult }> {
  const { status, body: accepted } = await fleet.api<{ id: string }>('POST', '/v1/jobs', body);
  expect(status).toBe(202);
  return fleet.waitFor<JobView & { targetQuality?: TargetQualityResult }>(accepted.id, finished, 240_000);
}

async function download(name: string): Promise<string> {
  const file = join(fleet.dir, `${name}.mp4`);
  await writeFile(file, await fleet.get(`out/${name}.mp4`));
  return file;
}

describe('a quality target', () => {
  it('chooses clearly different CRFs for a still image and heavy noise, and both outputs meet it on a full measurement', {
    timeout: 300_000,
  }, async () => {
    const [still, noise] = await Promise.all([
      // The still also asks for its quality record: the chosen probe's measurement, with the search.
      run(targetJob('still', 'still.mkv', TARGET, { quality: true })),
      run(targetJob('noise', 'noise.mkv', TARGET)),
    ]);
    for (const [job, name] of [
      [still, 'still'],
      [noise, 'noise'],
    ] as const) {
      expect(job.state, JSON.stringify(job.error)).toBe('succeeded');
      const t = job.targetQuality!;
      expect(t).toMatchObject({ metric: 'ssim', min: 0.96, max: 0.97, encoder: 'libx264', met: true });
      expect(t.probes.length).toBeGreaterThanOrEqual(1);
      expect(t.probes.length).toBeLessThanOrEqual(MAX_PROBES);
      // A 2 s clip is probed whole: the chosen probe is the output, encoded once.
      expect(t).toMatchObject({ probedOn: 'whole', reused: true });
      expect(t.probes.map((p) => p.crf)).toContain(t.crf);
      const full = await ssim(sources[name]!, await download(name));
      expect(full).toBeGreaterThanOrEqual(TARGET.min);
      expect(t.score).toBeCloseTo(full, 3);
      // The size saved is against the probe at x264's default CRF (the search's first).
      expect(t.probes[0]!.crf).toBe(23);
      expect(typeof t.savedPercent).toBe('number');
      expect((await packets(await download(name), 'v:0')).length).toBe(50);
    }
    expect(still.quality).toMatchObject({ status: 'measured', mode: 'full', frames: 50 });
    expect(still.quality!.ssim).toBeCloseTo(still.targetQuality!.score!, 6);
    const key = still.metricsUrl!.replace(`s3://${fleet.bucket}/`, '');
    const record = JSON.parse((await fleet.get(key)).toString()) as QualityRecord;
    expect(record.ffleet.target_quality).toEqual(still.targetQuality);
    // Bars survive coarse quantizers, noise needs fine ones.
    expect(still.targetQuality!.crf - noise.targetQuality!.crf).toBeGreaterThan(10);
    // The still's saving is real: a larger CRF than the default made a smaller file.
    expect(still.targetQuality!.savedPercent).toBeGreaterThan(0);
  });

  it('probes a long input on samples, then encodes it once at the chosen CRF and measures the result', {
    timeout: 180_000,
  }, async () => {
    const job = await run(targetJob('long', 'long.mp4', TARGET));
    expect(job.state, JSON.stringify(job.error)).toBe('succeeded');
    const t = job.targetQuality!;
    expect(t).toMatchObject({
      probedOn: 'samples',
      samples: { count: 3, seconds: 6 },
      reused: false,
      met: true,
    });
    expect(t.probes.length).toBeLessThanOrEqual(MAX_PROBES);
    expect(job.timings?.probe).toBeGreaterThan(0);
    // The final encode's own score, and an independent full measurement of it.
    const full = await ssim(sources.long!, await download('long'));
    expect(t.score).toBeGreaterThan(0);
    expect(full).toBeGreaterThanOrEqual(TARGET.min - 0.005);
  });

  it('searches a phone video (coded landscape, shown upright) on the upright picture, and its output is upright', {
    timeout: 180_000,
  }, async () => {
    const phone = join(fleet.dir, 'phone-source.mp4');
    await ffmpeg(['-i', sources.clip!, '-c', 'copy', '-metadata:s:v:0', 'rotate=90', phone]);
    await fleet.put('inputs/phone.mp4', phone);
    const job = await run(targetJob('phone', 'phone.mp4', TARGET));
    expect(job.state, JSON.stringify(job.error)).toBe('succeeded');
    const t = job.targetQuality!;
    expect(t, JSON.stringify(t)).toMatchObject({ probedOn: 'whole', reused: true });
    expect(t.probes.every((p) => p.score > 0.5)).toBe(true);
    const output = await download('phone');
    const video = (await probe(output)).streams.find((s) => s.codec_type === 'video');
    expect([video?.width, video?.height]).toEqual([90, 160]);
    // The search's score is the output's, measured the right way up.
    expect(t.score).toBeCloseTo(await ssim(phone, output), 3);
  });

  it('an impossible target falls back to the stated CRF and says so', { timeout: 180_000 }, async () => {
    const job = await run(targetJob('impossible', 'noise.mkv', { metric: 'psnr', min: 99, fallbackCrf: 30 }));
    expect(job.state, JSON.stringify(job.error)).toBe('succeeded');
    const t = job.targetQuality!;
    expect(t).toMatchObject({ met: false, crf: 30, reused: false });
    expect(t.fallback).toMatch(/no probe reached psnr 99.*fallback CRF 30/);
    expect(t.probes.length).toBeLessThanOrEqual(MAX_PROBES);
    expect(t.probes.every((p) => p.score < 99)).toBe(true);
    // The fallback encode's own score, measured after it.
    expect(t.score).toBeGreaterThan(20);
    expect(t.score).toBeLessThan(99);
  });

  it('a chunked encode searches each chunk: at most 4 probes per chunk, at least 90% of chunks in the window', {
    timeout: 300_000,
  }, async () => {
    const target = { metric: 'ssim', min: 0.95, max: 0.96 };
    const job = await run({
      ...targetJob('chunked', 'clip.mp4', target),
      outputs: [{ url: `s3://${fleet.bucket}/out/chunked.mp4`, options: `${X264} -c:a aac` }],
      split: { segmentSeconds: 2 },
    });
    expect(job.state, JSON.stringify(job.error)).toBe('succeeded');
    const t = job.targetQuality!;
    const chunks = t.chunks!;
    expect(chunks.map((c) => c.index)).toEqual([0, 1, 2, 3, 4]);
    for (const chunk of chunks) {
      expect(chunk.probes.length).toBeLessThanOrEqual(MAX_PROBES);
      expect(chunk.probes.map((p) => p.crf)).toContain(chunk.crf);
    }
    const inWindow = chunks.filter(
      (c) => c.score !== undefined && c.score >= target.min && c.score <= target.max,
    );
    expect(inWindow.length / chunks.length).toBeGreaterThanOrEqual(0.9);
    // The joined video, measured in full against the source.
    const full = await ssim(sources.clip!, await download('chunked'));
    expect(full).toBeGreaterThanOrEqual(target.min - 0.005);
    expect(t.score).toBeGreaterThanOrEqual(target.min - 0.005);
  });

  it('VMAF is refused at submission, naming the pool, when its workers lack libvmaf; a pool with none online takes the job and its worker refuses it', {
    timeout: 120_000,
  }, async () => {
    const vmaf = { metric: 'vmaf', min: 93 };
    const refused = await fleet.api<{ error: string; message: string }>(
      'POST',
      '/v1/jobs',
      targetJob('vmaf', 'still.mkv', vmaf),
    );
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('vmaf_unavailable');
    expect(refused.body.message).toMatch(/pool intel cannot measure VMAF.*without libvmaf/);
    // amd has no worker online: taken, and failed for good by the first worker that reads it.
    const { status, body } = await fleet.api<{ id: string }>('POST', '/v1/jobs', {
      ...targetJob('vmaf-later', 'still.mkv', vmaf),
      compute: 'amd',
    });
    expect(status).toBe(202);
    await fleet.startWorker('amd');
    const job = await fleet.waitFor<JobView>(body.id, finished);
    expect(job.state).toBe('failed');
    expect(job.error).toMatchObject({ code: 'vmaf_unavailable' });
    expect(job.error!.message).toMatch(/pool amd: this worker cannot measure VMAF/);
    expect(job.attempts.made).toBe(1);
  });
});
