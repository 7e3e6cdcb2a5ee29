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
