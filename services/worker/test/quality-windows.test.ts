import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ffmpegOutput, NO_LIMITS } from '@ffleet/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { windowArgv, windowsFilterGraph } from '../src/quality/graph.ts';
import { measureQuality, type QualityMeasurement } from '../src/quality/measure.ts';
import { videoInfoFromProbe } from '../src/quality/probe.ts';
import { MIN_WINDOWS, planWindows, WINDOW_SECONDS, WINDOW_SPACING_SECONDS } from '../src/quality/windows.ts';

/** Frame times of a constant-rate video. */
const frames = (seconds: number, rate: number) =>
  Array.from({ length: Math.round(seconds * rate) }, (_, i) => i / rate);

describe('planWindows', () => {
  it('spreads windows of consecutive frames evenly, one per spacing, at least the minimum', () => {
    const windows = planWindows(frames(30, 30), 30)!;
    expect(windows).toHaveLength(MIN_WINDOWS);
    // Centred in thirds of the video, a second of frames each: 4.5–5.5 s, 14.5–15.5 s, 24.5–25.5 s.
    expect(windows.map((w) => w.firstFrame)).toEqual([136, 436, 736]);
    expect(windows.every((w) => w.frames === 30 * WINDOW_SECONDS)).toBe(true);
    // Edges halfway between frames.
    expect(windows[0]!.start).toBeCloseTo(4.5 - 1 / 60, 9);
    expect(windows[0]!.duration).toBeCloseTo(1, 9);
    expect(planWindows(frames(600, 25), 600)).toHaveLength(600 / WINDOW_SPACING_SECONDS);
  });

  it('keeps the windows inside the shorter video', () => {
    // An output of 60 s against a reference of 40 s: the comparison ends at 40 s.
    const windows = planWindows(frames(60, 25), 40)!;
    expect(windows).toHaveLength(4);
    const last = windows.at(-1)!;
    expect(last.start + last.duration).toBeLessThan(40);
    // Centred at 35 s, its first edge halfway between the frames at 34.48 s and 34.52 s.
    expect(last.start).toBeCloseTo(34.5, 9);
  });

  it('numbers frames by their order in time, whatever the rate', () => {
    // Variable frame rate: 10 fps for 10 s, then 50 fps for 10 s.
    const times = [...frames(10, 10), ...frames(10, 50).map((t) => 10 + t)];
    const windows = planWindows(times, 20)!;
    for (const w of windows) {
      const inside = times.filter((t) => t > w.start && t < w.start + w.duration);
      expect(inside).toHaveLength(w.frames);
      expect(times.indexOf(inside[0]!) + 1).toBe(w.firstFrame);
    }
    // Around 3.3 s at 10 fps, across the change at 10 s (half at each rate), around 16.7 s at 50 fps.
    expect(windows.map((w) => w.frames)).toEqual([10, 30, 50]);
  });

  it('leaves videos too short for windows, or a reference of unknown length, to whole-file sampling', () => {
    expect(planWindows(frames(11, 25), 11)).toBeUndefined();
    expect(planWindows(frames(12, 25), 12)).toHaveLength(3);
    expect(planWindows(frames(60, 25), 8)).toBeUndefined();
    expect(planWindows(frames(60, 25), undefined)).toBeUndefined();
    expect(planWindows([0], 60)).toBeUndefined();
  });
});

describe('videoInfoFromProbe', () => {
  it("reads the stream, where its first frame is in the file, and the frames' times in order", () => {
    const info = videoInfoFromProbe(
      [
        'packet|pts_time=1.500000|flags=K_',
        'packet|pts_time=1.580000|flags=__',
        'packet|pts_time=1.540000|flags=__',
        // Dropped by the demuxer (an edit list cut it): never shown, never numbered.
        'packet|pts_time=1.460000|flags=_D',
        'stream|width=640|height=360|pix_fmt=yuv420p|start_time=1.500000|duration=N/A',
        'format|start_time=1.400000|duration=10.100000',
      ].join('\n'),
    )!;
    expect(info).toMatchObject({ width: 640, height: 360, pixFmt: 'yuv420p' });
    expect(info.videoStartSeconds).toBeCloseTo(0.1, 9);
    expect(info.durationSeconds).toBeCloseTo(10, 9);
    expect(info.frameTimes!.map((t) => Math.round(t * 1000))).toEqual([0, 40, 80]);
  });

  it('gives the size turned upright when the display matrix (or the older rotate tag) turns it a quarter turn', () => {
    const size = (extra: string) => {
      const info = videoInfoFromProbe(
        `stream|width=1920|height=1080|pix_fmt=yuv420p|start_time=0.000000|duration=4.000000${extra}\n`,
      )!;
      return `${info.width}x${info.height}`;
    };
    expect(size('')).toBe('1920x1080');
    expect(size('|side_data|rotation=90')).toBe('1080x1920');
    expect(size('|side_data|rotation=-90')).toBe('1080x1920');
    expect(size('|side_data|rotation=270')).toBe('1080x1920');
    expect(size('|side_data|rotation=180')).toBe('1920x1080');
    expect(size('|side_data|rotation=-180')).toBe('1920x1080');
    expect(size('|tag:rotate=90')).toBe('1080x1920');
    expect(size('|side_data|rotation=N/A')).toBe('1920x1080');
  });

  it('says a stream of fields (field_order tt, bb, tb or bt) is interlaced', () => {
    const interlaced = (fieldOrder: string) =>
      videoInfoFromProbe(
        `stream|width=720|height=576|pix_fmt=yuv420p|field_order=${fieldOrder}|start_time=0\n`,
      )!.interlaced;
    expect(['tt', 'bb', 'tb', 'bt'].map(interlaced)).toEqual([true, true, true, true]);
    expect(['progressive', 'unknown', ''].map(interlaced)).toEqual([false, false, false]);
  });

  it('gives no frame times when a frame has no timestamp, and nothing for a file without video', () => {
    const untimed = videoInfoFromProbe(
      'packet|pts_time=N/A|flags=K_\nstream|width=640|height=360|pix_fmt=yuv420p|start_time=N/A|duration=N/A\n',
    )!;
    expect(untimed.frameTimes).toBeUndefined();
    expect(untimed.videoStartSeconds).toBe(0);
    expect(untimed.durationSeconds).toBeUndefined();
    expect(videoInfoFromProbe('format|start_time=0.000000|duration=1.000000\n')).toBeUndefined();
  });
});

describe('windows as ffmpeg runs them', () => {
  it('cuts each window from both files by accurate seeking and compares it in its own chains', () => {
    const video = { width: 1920, height: 1080, pixFmt: 'yuv420p' };
    const windows = [
      { index: 4, lead: 0.25 },
      { index: 5, lead: 0.1 },
    ];
    const graph = windowsFilterGraph(
      { distorted: video, reference: video, vmaf: true, vmafThreads: 2 },
      windows,
    );
    // The second window of the batch reads inputs 2 and 3 and writes the 6th window's files.
    expect(graph).toContain('[2:v:0]settb=AVTB,setpts=PTS,split=2[dvw1][dqw1]');
    expect(graph).toContain('[3:v:0]settb=AVTB,setpts=PTS-0.100000/TB,split=3[r0w1][r1w1][r2w1]');
    expect(graph).toContain('[d0w1][r0w1]psnr=stats_file=psnr-5.log:shortest=1');
    // VMAF follows the same windows, scoring each of their frames.
    expect(graph).toContain('libvmaf=log_fmt=json:log_path=vmaf-5.json:n_threads=2:n_subsample=1:shortest=1');
    expect(graph).not.toContain('framestep');
    const argv = windowArgv(
      'out.mp4',
      'in.mp4',
      [{ distortedStart: 10.5, distortedDuration: 1, referenceStart: 10.25, referenceDuration: 1.25 }],
      graph,
    );
    expect(argv.join(' ')).toContain(
      '-ss 10.500000 -t 1.000000 -i out.mp4 -protocol_whitelist file -ss 10.250000 -t 1.250000 -i in.mp4',
    );
  });
});

// Real ffmpeg on lavfi clips long enough for windows: a 24 s reference with a keyframe every
// 2 s, and outputs encoded with x264's default keyframe interval (250 frames, 10 s at 25 fps).
describe('windowed sampling on real media', () => {
  let dir: string;
  const file = (name: string) => join(dir, name);
  const ffmpeg = (...args: string[]) =>
    ffmpegOutput('ffmpeg', ['-hide_banner', '-nostdin', '-y', '-v', 'error', ...args], {
      timeoutMs: 120_000,
    });
  const measure = (distorted: string, mode: 'sampled' | 'full') =>
    measureQuality({
      reference: file('ref.mp4'),
      distorted: file(distorted),
      workDir: file(`q-${distorted}-${mode}`),
      mode,
    });
  /** The full measurement's entries for the frames the sampled one compared: they must be the same pairs. */
  const sameFrames = (full: QualityMeasurement, sampled: QualityMeasurement) => {
    const compared = new Set(sampled.psnr.map((f) => f.n));
    return {
      psnr: full.psnr.filter((f) => compared.has(f.n)),
      ssim: full.ssim.filter((f) => compared.has(f.n)),
    };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ffleet-quality-windows-'));
    await ffmpeg(
      ...['-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25:duration=24'],
      ...[
        '-c:v',
        'libx264',
        '-crf',
        '16',
        '-preset',
        'veryfast',
        '-g',
        '50',
        '-pix_fmt',
        'yuv420p',
        file('ref.mp4'),
      ],
    );
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('compares windows of consecutive frames spread over the video, the very pairs of the full measurement, within 0.5 dB and 0.005', async () => {
    await ffmpeg(
      '-i',
      file('ref.mp4'),
      '-c:v',
      'libx264',
      '-crf',
      '32',
      '-preset',
      'veryfast',
      file('rung.mp4'),
    );
    const [full, sampled] = await Promise.all([measure('rung.mp4', 'full'), measure('rung.mp4', 'sampled')]);
    expect(full).toMatchObject({ mode: 'full', subsample: 1, frames: 600 });
    expect(sampled).toMatchObject({ mode: 'sampled', subsample: 1, frames: 75 });
    // Three windows of 25 consecutive frames, in the middle of each third: 3.5–4.5 s, 11.5–12.5 s, 19.5–20.5 s.
    expect(sampled.windows!.map((w) => [w.firstFrame, w.frames])).toEqual([
      [89, 25],
      [289, 25],
      [489, 25],
    ]);
    expect(sampled.psnr.map((f) => f.n)).toEqual(
      sampled.windows!.flatMap((w) => Array.from({ length: w.frames }, (_, i) => w.firstFrame + i)),
    );
    const same = sameFrames(full, sampled);
    expect(sampled.psnr).toEqual(same.psnr);
    expect(sampled.ssim).toEqual(same.ssim);
    const psnr = (m: QualityMeasurement) => m.global.psnr.psnr_avg!.average;
    const ssim = (m: QualityMeasurement) => m.global.ssim.ssim_avg!.average;
    expect(Math.abs(psnr(sampled) - psnr(full))).toBeLessThanOrEqual(0.5);
    expect(Math.abs(ssim(sampled) - ssim(full))).toBeLessThanOrEqual(0.005);
    expect(psnr(full)).toBeGreaterThan(20);
    expect(psnr(full)).toBeLessThan(45);
  }, 120_000);

  it('pairs frames by time when the output has another frame rate', async () => {
    // 10 fps: x264's 250-frame interval leaves one keyframe, so every window decodes from it.
    await ffmpeg('-i', file('ref.mp4'), '-r', '10', '-c:v', 'libx264', '-crf', '30', file('ten-fps.mp4'));
    const [full, sampled] = await Promise.all([
      measure('ten-fps.mp4', 'full'),
      measure('ten-fps.mp4', 'sampled'),
    ]);
    expect(full.frames).toBe(240);
    expect(sampled.windows!.map((w) => w.frames)).toEqual([10, 10, 10]);
    const same = sameFrames(full, sampled);
    expect(sampled.psnr).toEqual(same.psnr);
    expect(sampled.ssim).toEqual(same.ssim);
  }, 120_000);

  it('keeps windows inside an output cut short', async () => {
    await ffmpeg('-i', file('ref.mp4'), '-t', '14', '-c:v', 'libx264', '-crf', '30', file('cut.mp4'));
    const [full, sampled] = await Promise.all([measure('cut.mp4', 'full'), measure('cut.mp4', 'sampled')]);
    expect(full.frames).toBe(350);
    expect(sampled.windows).toHaveLength(3);
    const last = sampled.windows!.at(-1)!;
    expect(last.firstFrame + last.frames - 1).toBeLessThanOrEqual(350);
    const same = sameFrames(full, sampled);
    expect(sampled.psnr).toEqual(same.psnr);
    expect(sampled.ssim).toEqual(same.ssim);
  }, 120_000);

  it("runs the windows side by side, as many runs at once as the pool's thread cap, with the same results", async () => {
    await ffmpeg('-i', file('ref.mp4'), '-c:v', 'libx264', '-crf', '30', file('side.mp4'));
    // An ffmpeg that writes when each comparison run started and ended, and how many inputs it read.
    const log = file('runs.log');
    const logging = file('logging-ffmpeg');
    await writeFile(
      logging,
      [
        '#!/bin/sh',
        'case "$*" in *-filter_complex*) ;; *) exec ffmpeg "$@";; esac',
        'inputs=$(printf "%s\\n" "$@" | grep -c "^-i$")',
        `echo "start $(date +%s%N) $inputs" >> ${log}`,
        'ffmpeg "$@"; status=$?',
        `echo "end $(date +%s%N)" >> ${log}`,
        'exit $status',
      ].join('\n'),
      { mode: 0o755 },
    );
    const runs = async (threads: number) => {
      await writeFile(log, '');
      const measurement = await measureQuality({
        reference: file('ref.mp4'),
        distorted: file('side.mp4'),
        workDir: file(`q-side-${threads}`),
        ffmpegPath: logging,
        limits: { ...NO_LIMITS, threads },
        mode: 'sampled',
      });
      const lines = (await readFile(log, 'utf8')).trim().split('\n');
      const starts = lines.filter((l) => l.startsWith('start')).map((l) => l.split(' ').map(Number));
      const ends = lines.filter((l) => l.startsWith('end')).map((l) => Number(l.split(' ')[1]));
      return {
        measurement,
        inputs: starts.map(([, , n]) => n),
        lastStart: Math.max(...starts.map(([, t]) => t!)),
        firstEnd: Math.min(...ends),
      };
    };
    // One thread: the three windows in one run, six inputs.
    const one = await runs(1);
    expect(one.inputs).toEqual([6]);
    // Two: two runs (two windows and one) that overlap in time.
    const two = await runs(2);
    expect(two.inputs.sort()).toEqual([2, 4]);
    expect(two.lastStart).toBeLessThan(two.firstEnd);
    expect(two.measurement.windows).toEqual(one.measurement.windows);
    expect(two.measurement.psnr).toEqual(one.measurement.psnr);
    expect(two.measurement.ssim).toEqual(one.measurement.ssim);
  }, 120_000);

  it('samples the whole video when windows do not pair up: an input of one frame a second', async () => {
    // The input frame shown at a window's first output frame can come up to 1 s before it,
    // earlier than the input's window starts: the window compares too few frames.
    await ffmpeg(
      ...['-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=1:duration=24'],
      ...['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', file('one-fps.mp4')],
    );
    await ffmpeg(
      '-i',
      file('one-fps.mp4'),
      '-r',
      '25',
      '-c:v',
      'libx264',
      '-crf',
      '30',
      file('from-one-fps.mp4'),
    );
    const options = { reference: file('one-fps.mp4'), distorted: file('from-one-fps.mp4') };
    const measureOneFps = (mode: 'full' | 'sampled') =>
      measureQuality({ ...options, workDir: file(`q-one-fps-${mode}`), mode });
    const [full, sampled] = await Promise.all([measureOneFps('full'), measureOneFps('sampled')]);
    expect(sampled.windows).toBeUndefined();
    expect(sampled).toMatchObject({ mode: 'sampled', subsample: 7, frames: Math.ceil(full.frames / 7) });
    expect(sampled.psnr).toEqual(full.psnr.filter((f) => (f.n - 1) % 7 === 0));
  }, 120_000);
});
