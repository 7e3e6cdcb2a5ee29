import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ffmpegOutput, runFfmpeg } from '@ffleet/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_QUALITY_SUBSAMPLE,
  measureQuality,
  type QualityMeasurement,
} from '../src/quality/measure.ts';
import { PSNR_CEILING_DB, parseFfmpegSummary, parsePsnrStats, parseSsimStats } from '../src/quality/parse.ts';
import { probeQualityFilters } from '../src/quality/probe.ts';
import { seriesStats } from '../src/quality/stats.ts';

// Real ffmpeg on clips generated with lavfi: a reference, a heavily compressed copy, a copy at
// half the size, and a bit-identical copy.
let dir: string;
const file = (name: string) => join(dir, name);
const ffmpeg = (...args: string[]) =>
  ffmpegOutput('ffmpeg', ['-hide_banner', '-nostdin', '-y', '-v', 'error', ...args], { timeoutMs: 60_000 });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ffleet-quality-'));
  await ffmpeg(
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=320x240:rate=25:duration=2',
    '-c:v',
    'ffv1',
    '-pix_fmt',
    'yuv420p',
    file('ref.mkv'),
  );
  await ffmpeg(
    '-i',
    file('ref.mkv'),
    '-c:v',
    'libx264',
    '-crf',
    '38',
    '-preset',
    'veryfast',
    file('dist.mp4'),
  );
  await ffmpeg(
    '-i',
    file('ref.mkv'),
    '-vf',
    'scale=160:120',
    '-c:v',
    'libx264',
    '-crf',
    '23',
    file('small.mp4'),
  );
  copyFileSync(file('ref.mkv'), file('same.mkv'));
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** ffmpeg's own psnr and ssim filters, run alone on the same pair, as the yardstick. */
async function ffmpegOwn(distorted: string, reference: string) {
  const work = mkdtempSync(join(dir, 'own-'));
  const run = await runFfmpeg({
    binary: 'ffmpeg',
    argv: [
      '-hide_banner',
      '-nostdin',
      '-i',
      distorted,
      '-i',
      reference,
      '-lavfi',
      `[0:v][1:v]psnr=stats_file=${join(work, 'psnr.log')};[0:v][1:v]ssim=stats_file=${join(work, 'ssim.log')}`,
      '-f',
      'null',
      '-',
    ],
    timeoutMs: 60_000,
    stderrLines: 40,
  });
  expect(run.exitCode).toBe(0);
  return {
    psnrLog: readFileSync(join(work, 'psnr.log'), 'utf8'),
    ssimLog: readFileSync(join(work, 'ssim.log'), 'utf8'),
    stderr: run.stderrTail.join('\n'),
  };
}

describe('measureQuality', () => {
  let measured: QualityMeasurement;
  beforeAll(async () => {
    measured = await measureQuality({
      reference: file('ref.mkv'),
      distorted: file('dist.mp4'),
      workDir: file('q1'),
    });
  }, 60_000);

  it("matches ffmpeg's own psnr and ssim filters frame by frame and in its summary", async () => {
    const own = await ffmpegOwn(file('dist.mp4'), file('ref.mkv'));
    expect(measured.frames).toBe(50);
    expect(measured.psnr).toEqual(parsePsnrStats(own.psnrLog));
    expect(measured.ssim).toEqual(parseSsimStats(own.ssimLog));
    const summary = parseFfmpegSummary(own.stderr);
    expect(measured.ffmpegSummary).toEqual(summary);
    expect(measured).toMatchObject({ mode: 'full', subsample: 1 });
    // A strongly compressed clip: clearly lossy, clearly still the same picture.
    expect(summary.psnr!.average).toBeGreaterThan(20);
    expect(summary.psnr!.average).toBeLessThan(40);
    expect(summary.ssim!.all).toBeGreaterThan(0.6);
    expect(summary.ssim!.all).toBeLessThan(0.99);
  });

  it('summarises every per-frame series with AWS-sample field names', () => {
    expect(Object.keys(measured.psnr[0]!).sort()).toEqual(
      ['mse_avg', 'mse_u', 'mse_v', 'mse_y', 'n', 'psnr_avg', 'psnr_u', 'psnr_v', 'psnr_y'].sort(),
    );
    expect(Object.keys(measured.ssim[0]!).sort()).toEqual(['n', 'ssim_avg', 'ssim_u', 'ssim_v', 'ssim_y']);
    expect(measured.psnr.map((f) => f.n)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    const psnrAvg = measured.psnr.map((f) => f.psnr_avg!);
    expect(measured.global.psnr.psnr_avg).toEqual(seriesStats(psnrAvg));
    expect(measured.global.psnr.psnr_avg!.min).toBe(Math.min(...psnrAvg));
    // ffmpeg's SSIM "All" is the mean of per-frame values: ours agrees to its printed precision.
    expect(measured.global.ssim.ssim_avg!.average).toBeCloseTo(measured.ffmpegSummary.ssim!.all!, 5);
    expect(measured.scaled).toBeUndefined();
  });

  it('records VMAF as computed or as unavailable with the reason, never as a made-up number', async () => {
    const filters = await probeQualityFilters('ffmpeg');
    if (filters.vmaf.available) {
      expect(measured.vmafStatus.available).toBe(true);
      expect(measured.vmaf).toHaveLength(50);
      expect(measured.global.vmaf!.vmaf!.average).toBeGreaterThan(0);
      expect(measured.global.vmaf!.vmaf!.average).toBeLessThan(100);
    } else {
      expect(measured.vmafStatus).toEqual({ available: false, reason: expect.stringContaining('libvmaf') });
      expect(measured.vmaf).toBeUndefined();
      expect(measured.global.vmaf).toBeUndefined();
    }
    const off = await measureQuality({
      reference: file('ref.mkv'),
      distorted: file('dist.mp4'),
      workDir: file('q-off'),
      vmaf: false,
    });
    expect(off.vmafStatus).toEqual({ available: false, reason: 'VMAF turned off for this job' });
    expect(off.psnr).toEqual(measured.psnr);
  });

  it('scores an identical copy PSNR at the ceiling (infinite in ffmpeg) and SSIM 1', async () => {
    const same = await measureQuality({
      reference: file('ref.mkv'),
      distorted: file('same.mkv'),
      workDir: file('q2'),
    });
    expect((await ffmpegOwn(file('same.mkv'), file('ref.mkv'))).stderr).toMatch(
      /PSNR y:inf u:inf v:inf average:inf/,
    );
    expect(same.psnr.every((f) => f.psnr_avg === PSNR_CEILING_DB && f.mse_avg === 0)).toBe(true);
    expect(same.global.psnr.psnr_avg).toEqual({ average: 100, median: 100, stdev: 0, min: 100, max: 100 });
    expect(same.global.ssim.ssim_avg).toEqual({ average: 1, median: 1, stdev: 0, min: 1, max: 1 });
    expect(same.ffmpegSummary.psnr!.average).toBe(PSNR_CEILING_DB);
    // The record is plain JSON: no Infinity turned into null on the way to S3.
    expect(JSON.parse(JSON.stringify(same.global))).toEqual(same.global);
  });

  it("scales an output of another size to the reference's before comparing", async () => {
    const scaled = await measureQuality({
      reference: file('ref.mkv'),
      distorted: file('small.mp4'),
      workDir: file('q3'),
    });
    expect(scaled.scaled).toEqual({ from: '160x120', to: '320x240' });
    expect(scaled.frames).toBe(50);
    // Upscaling loses detail: worse than the full-size encode at a far lower CRF would be, but
    // recognisably the same picture.
    expect(scaled.global.psnr.psnr_avg!.average).toBeGreaterThan(15);
    expect(scaled.global.psnr.psnr_avg!.average).toBeLessThan(PSNR_CEILING_DB);
    expect(scaled.global.ssim.ssim_avg!.average).toBeGreaterThan(0.5);
  });

  it('compares a phone video (coded landscape, shown upright) with its upright output, the right way up', async () => {
    // Coded 320x240 with a display matrix turning it a quarter turn, as phones write it; the
    // output is ffmpeg's own transcode of it at half size, turned upright (120x160).
    await ffmpeg('-i', file('ref.mkv'), '-c:v', 'libx264', '-crf', '10', file('coded.mp4'));
    await ffmpeg('-i', file('coded.mp4'), '-c', 'copy', '-metadata:s:v:0', 'rotate=90', file('phone.mp4'));
    await ffmpeg('-i', file('phone.mp4'), '-vf', 'scale=120:160', '-c:v', 'libx264', file('upright.mp4'));
    // The same picture turned the other way: the output is upside down against it.
    await ffmpeg('-i', file('coded.mp4'), '-c', 'copy', '-metadata:s:v:0', 'rotate=270', file('turned.mp4'));

    const upright = await measureQuality({
      reference: file('phone.mp4'),
      distorted: file('upright.mp4'),
      workDir: file('q5'),
    });
    expect(upright.frames).toBe(50);
    expect(upright.scaled).toEqual({ from: '120x160', to: '240x320' });
    expect(upright.global.psnr.psnr_avg!.average).toBeGreaterThan(20);
    expect(upright.global.ssim.ssim_avg!.average).toBeGreaterThan(0.7);

    const upsideDown = await measureQuality({
      reference: file('turned.mp4'),
      distorted: file('upright.mp4'),
      workDir: file('q6'),
    });
    expect(upsideDown.frames).toBe(50);
    expect(upsideDown.global.psnr.psnr_avg!.average).toBeLessThan(upright.global.psnr.psnr_avg!.average - 10);
  });

  it('deinterlaces an interlaced input before comparing a progressive output with it, and says so', async () => {
    // Fields woven from a 50 fps picture, top first, as a broadcast or DV source stores them.
    await ffmpeg(
      ...[
        '-f',
        'lavfi',
        '-i',
        'testsrc2=size=320x240:rate=50:duration=2',
        '-vf',
        'tinterlace=mode=interleave_top',
      ],
      ...[
        '-c:v',
        'libx264',
        '-crf',
        '10',
        '-flags',
        '+ildct+ilme',
        '-x264-params',
        'tff=1',
        file('woven.mp4'),
      ],
    );
    // The output a deinterlacing encode makes of it, and one that keeps the fields.
    const deinterlace = 'bwdif=mode=send_frame:deint=interlaced';
    await ffmpeg(
      '-i',
      file('woven.mp4'),
      '-vf',
      deinterlace,
      '-c:v',
      'libx264',
      '-crf',
      '18',
      file('prog.mp4'),
    );
    await ffmpeg(
      ...['-i', file('woven.mp4'), '-c:v', 'libx264', '-crf', '18'],
      ...['-flags', '+ildct+ilme', '-x264-params', 'tff=1', file('fields.mp4')],
    );
    const ffmpegPsnr = async (reference: string, referenceFilters: string) => {
      const run = await runFfmpeg({
        binary: 'ffmpeg',
        argv: [
          ...['-hide_banner', '-nostdin', '-i', file('prog.mp4'), '-i', reference, '-lavfi'],
          `[1:v]${referenceFilters}[r];[0:v][r]psnr`,
          ...['-f', 'null', '-'],
        ],
        timeoutMs: 60_000,
      });
      return Number(/PSNR .*average:([\d.]+)/.exec(run.stderrTail.join('\n'))![1]);
    };

    const measured = await measureQuality({
      reference: file('woven.mp4'),
      distorted: file('prog.mp4'),
      workDir: file('q-fields'),
    });
    expect(measured.referenceDeinterlaced).toBe(true);
    expect(measured.frames).toBe(50);
    const psnr = measured.global.psnr.psnr_avg!.average;
    // What the encode lost, as ffmpeg measures it against the deinterlaced input...
    expect(Math.abs(psnr - (await ffmpegPsnr(file('woven.mp4'), deinterlace)))).toBeLessThan(0.2);
    // ...not the two moments of the woven fields, which no progressive frame holds.
    expect(psnr).toBeGreaterThan((await ffmpegPsnr(file('woven.mp4'), 'null')) + 10);

    const kept = await measureQuality({
      reference: file('woven.mp4'),
      distorted: file('fields.mp4'),
      workDir: file('q-kept'),
    });
    expect(kept.referenceDeinterlaced).toBeUndefined();
    expect(kept.global.psnr.psnr_avg!.average).toBeGreaterThan(35);
  });

  it('refuses an output without video as not applicable', async () => {
    await ffmpeg('-f', 'lavfi', '-i', 'sine=duration=1', '-c:a', 'aac', file('audio.m4a'));
    await expect(
      measureQuality({ reference: file('ref.mkv'), distorted: file('audio.m4a'), workDir: file('q4') }),
    ).rejects.toMatchObject({ name: 'QualityNotApplicableError' });
  });
});

describe('sampled measurement of a clip too short for windows', () => {
  // A 4 s clip with motion, encoded as a ladder rung would be: smaller and lossy. Three 1 s
  // windows would cover most of it, so sampling takes every n-th frame of the whole clip.
  let full: QualityMeasurement;
  let sampled: QualityMeasurement;
  beforeAll(async () => {
    await ffmpeg(
      ...['-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25:duration=4'],
      ...['-c:v', 'libx264', '-crf', '18', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', file('motion.mp4')],
    );
    await ffmpeg(
      ...['-i', file('motion.mp4'), '-vf', 'scale=320:180'],
      ...['-c:v', 'libx264', '-crf', '30', '-preset', 'veryfast', file('rung.mp4')],
    );
    const measure = (subsample: number, name: string) =>
      measureQuality({
        reference: file('motion.mp4'),
        distorted: file('rung.mp4'),
        workDir: file(name),
        mode: subsample > 1 ? 'sampled' : 'full',
        subsample,
      });
    full = await measure(1, 'q-full');
    sampled = await measure(DEFAULT_QUALITY_SUBSAMPLE, 'q-sampled');
  }, 120_000);

  it('compares every n-th output frame with the same reference frame the full measurement does', () => {
    const n = DEFAULT_QUALITY_SUBSAMPLE;
    expect(full).toMatchObject({ mode: 'full', subsample: 1, frames: 100 });
    expect(sampled).toMatchObject({ mode: 'sampled', subsample: n, frames: Math.ceil(100 / n) });
    expect(sampled.windows).toBeUndefined();
    // Frame numbers are the output's own: 1, 1+n, 1+2n…
    expect(sampled.psnr.map((f) => f.n)).toEqual(Array.from({ length: sampled.frames }, (_, i) => 1 + i * n));
    expect(sampled.psnr).toEqual(full.psnr.filter((f) => (f.n - 1) % n === 0));
    expect(sampled.ssim).toEqual(full.ssim.filter((f) => (f.n - 1) % n === 0));
  });

  it('agrees with the full measurement within 0.5 dB PSNR and 0.005 SSIM', () => {
    const psnr = (m: QualityMeasurement) => m.global.psnr.psnr_avg!.average;
    const ssim = (m: QualityMeasurement) => m.global.ssim.ssim_avg!.average;
    expect(Math.abs(psnr(sampled) - psnr(full))).toBeLessThanOrEqual(0.5);
    expect(Math.abs(ssim(sampled) - ssim(full))).toBeLessThanOrEqual(0.005);
    // And it is a real measurement of a lossy rung, not a constant.
    expect(psnr(full)).toBeGreaterThan(20);
    expect(psnr(full)).toBeLessThan(45);
  });

  it('pairs frames by time when the output has another frame rate', async () => {
    await ffmpeg(
      ...['-i', file('motion.mp4'), '-r', '10', '-c:v', 'libx264', '-crf', '30', file('ten-fps.mp4')],
    );
    const measure = (subsample: number, name: string) =>
      measureQuality({
        reference: file('motion.mp4'),
        distorted: file('ten-fps.mp4'),
        workDir: file(name),
        mode: subsample > 1 ? 'sampled' : 'full',
        subsample,
      });
    const [every, third] = await Promise.all([measure(1, 'q-rate-full'), measure(3, 'q-rate-sampled')]);
    expect(every.frames).toBe(40);
    expect(third.frames).toBe(14);
    // The very pairs of the full measurement. Taking every 3rd frame of each side by index
    // would pair the output's 0.3 s frame with the reference's 0.24 s one, not its 0.28 s one.
    expect(third.psnr).toEqual(every.psnr.filter((f) => (f.n - 1) % 3 === 0));
    expect(third.ssim).toEqual(every.ssim.filter((f) => (f.n - 1) % 3 === 0));
  }, 60_000);

  it('ends with the shorter video: an output cut short is not compared with the rest of the input', async () => {
    await ffmpeg(
      ...['-i', file('motion.mp4'), '-t', '1', '-c:v', 'libx264', '-crf', '30', file('first-second.mp4')],
    );
    const [cut, cutSampled] = await Promise.all(
      (['full', 'sampled'] as const).map((mode) =>
        measureQuality({
          reference: file('motion.mp4'),
          distorted: file('first-second.mp4'),
          workDir: file(`q-cut-${mode}`),
          mode,
        }),
      ),
    );
    expect(cut!.frames).toBe(25);
    expect(cut!.global.psnr.psnr_avg!.min).toBeGreaterThan(25);
    // Sampled: every 7th of those 25 frames, none past the output's end.
    expect(cutSampled).toMatchObject({ mode: 'sampled', subsample: DEFAULT_QUALITY_SUBSAMPLE, frames: 4 });
    expect(cutSampled!.psnr).toEqual(cut!.psnr.filter((f) => (f.n - 1) % DEFAULT_QUALITY_SUBSAMPLE === 0));
  }, 60_000);
});
