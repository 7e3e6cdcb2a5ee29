import type { JobView } from '@ffleet/core';
import { describe, expect, it } from 'vitest';
import { printJob } from '../src/commands/print.ts';

const base: JobView = {
  id: 'j1',
  name: 'transcode',
  pool: 'intel',
  state: 'succeeded',
  progress: { stage: 'done', percent: 100 },
  attempts: { made: 1, max: 3 },
  createdAt: '2026-11-22T00:00:00.000Z',
  startedAt: '2026-11-22T00:00:01.000Z',
  finishedAt: '2026-11-22T00:00:05.000Z',
  timings: { download: 12, ffmpeg: 3400, upload: 40, total: 3500 },
  outputs: [{ url: 's3://b/out.mp4', bytes: 1_572_864 }],
  media: { durationSeconds: 10, speed: 3 },
  error: null,
  quality: null,
  metricsUrl: null,
  traceId: null,
  spec: {
    name: 'transcode',
    compute: 'intel',
    inputs: [{ url: 's3://b/in.mp4' }],
    outputs: [{ url: 's3://b/out.mp4', options: '-c:v libx264' }],
  },
  links: { self: '/v1/jobs/j1', events: '/v1/jobs/j1/events' },
};

function lines(job: JobView): string[] {
  const out: string[] = [];
  printJob(job, (l) => out.push(l));
  return out;
}

describe('ffleet get', () => {
  it('prints outputs with sizes, time per stage, quality, metrics and the trace link', () => {
    const out = lines({
      ...base,
      quality: {
        status: 'measured',
        psnr: 41.234,
        ssim: 0.98765,
        vmafUnavailable: 'this ffmpeg has no libvmaf',
        mode: 'sampled',
        subsample: 7,
      },
      metricsUrl: 's3://b/metrics/ffqm/year=2026/month=11/day=22/intel_j1.json',
      traceId: 'abc',
      links: { self: '/v1/jobs/j1', events: '/v1/jobs/j1/events', trace: 'http://127.0.0.1:16686/trace/abc' },
    });
    expect(out).toEqual([
      'j1  transcode  pool=intel  state=succeeded  attempts=1/3',
      '  output s3://b/out.mp4  1.5 MiB',
      '  time   download 12 ms · ffmpeg 3400 ms · upload 40 ms · total 3500 ms',
      '  quality PSNR 41.23 dB · SSIM 0.9877 · VMAF unavailable (this ffmpeg has no libvmaf) · 1 frame in 7',
      '  metrics s3://b/metrics/ffqm/year=2026/month=11/day=22/intel_j1.json',
      '  trace  http://127.0.0.1:16686/trace/abc',
    ]);
  });

  it('says how much a sampled measurement compared: windows, or every n-th frame of a short clip', () => {
    const quality = { status: 'measured', psnr: 38.5, ssim: 0.97, vmaf: 91, mode: 'sampled' } as const;
    const windowed = lines({ ...base, quality: { ...quality, subsample: 1, frames: 90, windows: 3 } });
    expect(windowed).toContain('  quality PSNR 38.50 dB · SSIM 0.9700 · VMAF 91.00 · 90 frames in 3 windows');
    const full = lines({ ...base, quality: { ...quality, mode: 'full', subsample: 1, frames: 900 } });
    expect(full).toContain('  quality PSNR 38.50 dB · SSIM 0.9700 · VMAF 91.00 · every frame');
  });

  it("prints a ladder's quality one rung a line, smallest first, and why a rung has none", () => {
    const out = lines({
      ...base,
      rungQuality: [
        {
          name: '360p-800k',
          width: 640,
          height: 360,
          bitrateKbps: 800,
          quality: {
            status: 'measured',
            psnr: 33.456,
            ssim: 0.91234,
            mode: 'full',
            subsample: 1,
            frames: 250,
          },
          metricsUrl: 's3://b/metrics/ffqm/year=2026/month=11/day=22/intel_j1.360p-800k.json',
        },
        {
          name: '720p-3000k',
          width: 1280,
          height: 720,
          bitrateKbps: 3000,
          quality: { status: 'failed', reason: 'stopped (shutdown) while measuring' },
        },
      ],
    });
    expect(out.slice(3)).toEqual([
      '  rung   360p-800k (640x360)  PSNR 33.46 dB · SSIM 0.9123 · every frame',
      '  rung   720p-3000k (1280x720)  failed: stopped (shutdown) while measuring',
    ]);
  });

  it("prints a failure with ffmpeg's last lines", () => {
    const out = lines({
      ...base,
      state: 'failed',
      outputs: null,
      timings: null,
      error: { code: 'ffmpeg_failed', message: 'ffmpeg exited with code 1', stderr: ['moov atom not found'] },
    });
    expect(out.slice(1)).toEqual([
      '  error  ffmpeg_failed: ffmpeg exited with code 1',
      '         moov atom not found',
    ]);
  });
});

describe('ffleet get: a quality target', () => {
  const target = {
    metric: 'ssim' as const,
    min: 0.96,
    max: 0.97,
    encoder: 'libx264',
    defaultCrf: 23,
    crf: 34.5,
    met: true,
    probes: [
      { crf: 23, score: 0.991, bytes: 9000 },
      { crf: 37, score: 0.955, bytes: 4000 },
      { crf: 34.5, score: 0.9631, bytes: 4700 },
    ],
    score: 0.9631,
    reused: true,
    savedPercent: 47.78,
    probedOn: 'whole' as const,
  };

  it('prints the CRF chosen, the probes, the score and the size saved', () => {
    const out = lines({ ...base, targetQuality: target });
    expect(out).toContain(
      '  target SSIM 0.96–0.97: CRF 34.5 · probes 23→0.9910 37→0.9550 34.5→0.9631 · score 0.9631 · 47.78% smaller than CRF 23',
    );
  });

  it('prints each chunk of a chunked encode, and a fallback with its reason', () => {
    const { probes, ...rest } = target;
    const out = lines({
      ...base,
      targetQuality: {
        ...rest,
        probes: [],
        met: false,
        fallback: 'chunks 1 met no probe and were encoded at the fallback CRF 23',
        chunks: [
          { index: 0, crf: 34.5, met: true, probes, reused: true, score: 0.9631 },
          { index: 1, crf: 23, met: false, probes: probes.slice(0, 1), reused: false },
        ],
      },
    });
    expect(out).toContain('         chunk 1: CRF 23 (fallback) · probes 23→0.9910');
    expect(out).toContain('         chunks 1 met no probe and were encoded at the fallback CRF 23');
  });
});
