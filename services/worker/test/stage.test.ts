import { setTimeout as sleep } from 'node:timers/promises';
import type { JobProgress, JobResult } from '@ffleet/core';
import { trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import type { JobContext } from '../src/pipeline/context.ts';
import { stage } from '../src/pipeline/stage.ts';

/** The part of a job's context `stage()` uses: its tracer, timings and progress. */
function context() {
  const reports: { progress: JobProgress; force: boolean }[] = [];
  const timings: JobResult['timings'] = { download: 0, ffmpeg: 0, upload: 0, total: 0 };
  const ctx = {
    tracer: trace.getTracer('stage-test'),
    timings,
    report: (progress: JobProgress, force = false) => reports.push({ progress, force }),
  } as unknown as JobContext;
  return { ctx, reports, timings };
}

describe('a stage', () => {
  it('reports itself as the job progress, then records how long it took', async () => {
    const { ctx, reports, timings } = context();
    const result = await stage(
      ctx,
      'upload',
      async () => {
        await sleep(30);
        return 'done';
      },
      { percent: 100 },
    );
    expect(result).toBe('done');
    expect(reports).toEqual([{ progress: { stage: 'upload', percent: 100 }, force: true }]);
    expect(timings.upload).toBeGreaterThanOrEqual(25);
  });

  it('records the time it says instead, or none', async () => {
    const { ctx, timings } = context();
    await stage(ctx, 'ffmpeg', async ({ setTime }) => setTime(1234.4));
    expect(timings.ffmpeg).toBe(1234);
    await stage(ctx, 'quality', async ({ setTime }) => setTime(undefined));
    expect(timings).not.toHaveProperty('quality');
  });

  it('adds up the times of a stage that runs twice in one step', async () => {
    const { ctx, timings } = context();
    await stage(ctx, 'download', async ({ setTime }) => setTime(300));
    await stage(ctx, 'download', async ({ setTime }) => setTime(200));
    expect(timings.download).toBe(500);
  });

  it('rethrows a failure, keeping only a time the stage set before it failed', async () => {
    const { ctx, timings } = context();
    await expect(
      stage(ctx, 'download', async () => {
        await sleep(10);
        throw new Error('S3 is down');
      }),
    ).rejects.toThrow('S3 is down');
    expect(timings.download).toBe(0);
    await expect(
      stage(ctx, 'ffmpeg', async ({ setTime }) => {
        setTime(500);
        throw new Error('ffmpeg exited with code 1');
      }),
    ).rejects.toThrow('code 1');
    expect(timings.ffmpeg).toBe(500);
  });
});
