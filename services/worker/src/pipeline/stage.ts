import { inSpan, SPAN_NAMES } from '@ffleet/core';
import type { Span } from '@opentelemetry/api';
import type { JobContext } from './context.ts';

/** A step of a job: its progress stage, its span's name and its key in the job's timings. */
export type StageName = 'download' | 'analyse' | 'split' | 'ffmpeg' | 'upload' | 'quality' | 'probe';

export interface StageScope {
  span: Span;
  /**
   * Records `ms` as the stage's time instead of its wall time (ffmpeg's own run time), or no
   * time at all with `undefined` (a stage with nothing to do).
   */
  setTime(ms: number | undefined): void;
}

/**
 * Runs one stage of a job: reports it as the job's progress (at `percent`), runs it in its own
 * span under the job's (an error marks the span failed), and adds how long it took to the
 * job's timings. A stage that fails records only a time it set itself, such as ffmpeg's run
 * time, which a failed attempt's timing record still shows.
 */
export async function stage<T>(
  ctx: JobContext,
  name: StageName,
  fn: (scope: StageScope) => Promise<T>,
  options: { percent?: number } = {},
): Promise<T> {
  ctx.report({ stage: name, percent: options.percent ?? 0 }, true);
  const started = performance.now();
  let time: { ms: number | undefined } | undefined;
  const setTime = (ms: number | undefined) => {
    time = { ms: ms === undefined ? undefined : Math.round(ms) };
  };
  let succeeded = false;
  try {
    const result = await inSpan(ctx.tracer, SPAN_NAMES[name], {}, (span) => fn({ span, setTime }));
    succeeded = true;
    return result;
  } finally {
    const ms = time ? time.ms : succeeded ? Math.round(performance.now() - started) : undefined;
    // A stage that runs again in the same step (a join downloads its chunks, then the source to
    // measure against) adds to its time.
    if (ms !== undefined) ctx.timings[name] = (ctx.timings[name] ?? 0) + ms;
  }
}
