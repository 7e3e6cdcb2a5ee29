import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProgressSnapshot } from '../src/ffmpeg/progress.ts';
import {
  FfmpegToolError,
  FRAMES_GLIBC_TUNABLES,
  ffmpegEnvironment,
  ffmpegOutput,
  runFfmpeg,
  runFfmpegChecked,
} from '../src/ffmpeg/run.ts';

describe("ffmpeg's environment", () => {
  it('holds only PATH by default, never credentials', () => {
    const env = ffmpegEnvironment({
      PATH: '/usr/bin',
      AWS_SECRET_ACCESS_KEY: 's',
      REDIS_URL: 'redis://x',
      HOME: '/root',
    });
    expect(env).toEqual({ PATH: '/usr/bin' });
  });

  it("adds the frame malloc settings when asked, and lets the operator's own GLIBC_TUNABLES replace them", () => {
    expect(ffmpegEnvironment({ PATH: '/usr/bin' }, { framesMalloc: true })).toEqual({
      PATH: '/usr/bin',
      GLIBC_TUNABLES: FRAMES_GLIBC_TUNABLES,
    });
    const operator = {
      PATH: '/usr/bin',
      FFLEET_FFMPEG_ENV: 'GLIBC_TUNABLES',
      GLIBC_TUNABLES: 'glibc.malloc.arena_max=2',
    };
    expect(ffmpegEnvironment(operator, { framesMalloc: true })).toEqual({
      PATH: '/usr/bin',
      GLIBC_TUNABLES: 'glibc.malloc.arena_max=2',
    });
    expect(ffmpegEnvironment(operator)).toEqual({
      PATH: '/usr/bin',
      GLIBC_TUNABLES: 'glibc.malloc.arena_max=2',
    });
  });

  it('passes through the variables FFLEET_FFMPEG_ENV names, but never secrets', () => {
    const env = ffmpegEnvironment({
      PATH: '/usr/bin',
      FFLEET_FFMPEG_ENV: 'XILINX_XRT, XRM_DEVICE_ID,AWS_SECRET_ACCESS_KEY,API_TOKEN,lower,MISSING',
      XILINX_XRT: '/opt/xilinx/xrt',
      XRM_DEVICE_ID: '0',
      AWS_SECRET_ACCESS_KEY: 's',
      API_TOKEN: 't',
      lower: 'x',
    });
    expect(env).toEqual({ PATH: '/usr/bin', XILINX_XRT: '/opt/xilinx/xrt', XRM_DEVICE_ID: '0' });
  });

  it('is what every process the runner starts gets', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, {
      FFLEET_FFMPEG_ENV: 'XILINX_XRT',
      XILINX_XRT: '/opt/xilinx/xrt',
      AWS_SECRET_ACCESS_KEY: 'never-seen',
    });
    try {
      // `env` prints the environment it was given: the same one ffmpeg and ffprobe get.
      const printed = await ffmpegOutput('env', []);
      expect(printed.trim().split('\n').sort()).toEqual(
        [`PATH=${process.env.PATH}`, 'XILINX_XRT=/opt/xilinx/xrt'].sort(),
      );
      const framesRun = await runFfmpeg({
        binary: 'env',
        argv: [],
        stdout: true,
        framesMalloc: true,
        timeoutMs: 10_000,
      });
      expect(framesRun.stdout).toContain(`GLIBC_TUNABLES=${FRAMES_GLIBC_TUNABLES}\n`);
    } finally {
      process.env = saved;
    }
  });
});

// Real ffmpeg and ffprobe on lavfi sources.
describe('the ffmpeg runner', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ffleet-run-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const endless = [
    '-hide_banner',
    '-nostdin',
    '-re',
    '-f',
    'lavfi',
    '-i',
    'testsrc=size=64x64:rate=10',
    '-f',
    'null',
    '-',
  ];

  it("reports ffmpeg's progress and ends with a last snapshot marked done", async () => {
    const snapshots: ProgressSnapshot[] = [];
    const run = await runFfmpeg({
      binary: 'ffmpeg',
      argv: [
        '-hide_banner',
        '-nostdin',
        '-progress',
        'pipe:1',
        '-f',
        'lavfi',
        '-i',
        'testsrc=size=64x64:rate=25:duration=2',
        '-f',
        'null',
        '-',
      ],
      timeoutMs: 30_000,
      onProgress: (snapshot) => snapshots.push(snapshot),
    });
    expect(run.exitCode).toBe(0);
    expect(run.stoppedBy).toBeUndefined();
    expect(snapshots.at(-1)).toMatchObject({ done: true, frame: 50 });
    expect(run.lastProgress).toEqual(snapshots.at(-1));
    expect(run.lastProgress!.outTimeSeconds).toBeCloseTo(2, 1);
  });

  it('kills ffmpeg at its timeout and when aborted, and says which', async () => {
    const timedOut = await runFfmpeg({ binary: 'ffmpeg', argv: endless, timeoutMs: 300 });
    expect(timedOut).toMatchObject({ stoppedBy: 'timeout', signal: 'SIGKILL', exitCode: null });
    const abort = new AbortController();
    setTimeout(() => abort.abort('cancelled'), 300);
    const aborted = await runFfmpeg({
      binary: 'ffmpeg',
      argv: endless,
      timeoutMs: 30_000,
      signal: abort.signal,
    });
    expect(aborted).toMatchObject({ stoppedBy: 'abort', signal: 'SIGKILL' });
    expect(aborted.durationMs).toBeLessThan(30_000);
  });

  it('kills the whole process group, not only the process it started', async () => {
    // A stand-in for a vendor ffmpeg that starts helpers: a shell with a child of its own.
    const run = await runFfmpeg({
      binary: 'sh',
      argv: ['-c', 'sleep 30 & echo $!; wait'],
      timeoutMs: 300,
      stdout: true,
    });
    expect(run.stoppedBy).toBe('timeout');
    const helper = Number(run.stdout.trim());
    expect(helper).toBeGreaterThan(0);
    // Dead: gone, or a zombie waiting to be reaped by whoever inherited it.
    const state = await readFile(`/proc/${helper}/stat`, 'utf8').then(
      (stat) => stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3),
      () => 'gone',
    );
    expect(['gone', 'Z']).toContain(state);
  });

  it('runs the binary under an address-space limit when given one', async () => {
    // The limit is the process's own: the binary reads it from its /proc entry.
    const limited = await runFfmpeg({
      binary: 'cat',
      argv: ['/proc/self/limits'],
      timeoutMs: 30_000,
      stdout: true,
      addressSpaceBytes: 512 * 1024 * 1024,
    });
    expect(limited.exitCode).toBe(0);
    expect(limited.stdout).toMatch(/Max address space\s+536870912\s+536870912\s+bytes/);
    const unlimited = await runFfmpeg({
      binary: 'cat',
      argv: ['/proc/self/limits'],
      timeoutMs: 30_000,
      stdout: true,
    });
    expect(unlimited.stdout).toMatch(/Max address space\s+unlimited/);
  });

  it('keeps the last stderr lines of a failure, and a checked run throws them', async () => {
    const missing = join(dir, 'missing.mp4');
    const run = await runFfmpeg({ binary: 'ffprobe', argv: ['-v', 'error', missing], timeoutMs: 30_000 });
    expect(run.exitCode).not.toBe(0);
    expect(run.stderrTail.at(-1)).toContain('No such file or directory');
    const error = await runFfmpegChecked({
      binary: 'ffprobe',
      argv: ['-v', 'error', missing],
      timeoutMs: 30_000,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FfmpegToolError);
    expect((error as FfmpegToolError).stderr).toEqual(run.stderrTail);
    expect((error as FfmpegToolError).message).toMatch(/^ffprobe exited with code 1: .*No such file/);
  });

  it("returns a command's stdout", async () => {
    const clip = join(dir, 'clip.mp4');
    await ffmpegOutput('ffmpeg', [
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      'testsrc=size=96x64:rate=10:duration=1',
      '-c:v',
      'libx264',
      clip,
    ]);
    const probed = JSON.parse(
      await ffmpegOutput('ffprobe', [
        '-v',
        'error',
        '-count_frames',
        '-show_entries',
        'stream=width,nb_read_frames',
        '-of',
        'json',
        clip,
      ]),
    ) as { streams: { width: number; nb_read_frames: string }[] };
    expect(probed.streams).toEqual([{ width: 96, nb_read_frames: '10' }]);
  });
});
