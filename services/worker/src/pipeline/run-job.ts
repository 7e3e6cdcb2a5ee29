import {
  contextFromTraceparent,
  inSpan,
  type JobResult,
  PIPELINE_SPAN,
  SPAN,
  SPAN_NAMES,
  TRACER_NAME,
} from '@ffleet/core';
import { trace } from '@opentelemetry/api';
import { finalScore, searchTargetCrf } from '../target/search.ts';
import {
  createJobContext,
  type JobContext,
  type PipelineDeps,
  type PipelineJob,
  prepareWorkDir,
  removeWorkDir,
} from './context.ts';
import { JobCancelledError, ShutdownError } from './errors.ts';
import { downloadInputs } from './stages/download.ts';
import { checkPlannedFrames, probeInputDuration, runCommand } from './stages/ffmpeg.ts';
import { measureOutputQuality, useProbeMeasurement } from './stages/quality.ts';
import { writeJobRecords } from './stages/records.ts';
import { uploadOutputs } from './stages/upload.ts';

/**
 * One job, start to end, in its own `job` span that continues the trace the gateway started
 * (its traceparent travels in the job data): check it again, download the inputs into a
 * fresh work dir, learn the first input's duration, run ffmpeg, upload what it wrote, measure
 * quality if asked, write the job's records, and always remove the work dir. Each stage has a
 * span of its own under the job's.
 */
export async function runJob(job: PipelineJob, deps: PipelineDeps, signal: AbortSignal): Promise<JobResult> {
  const tracer = deps.tracer ?? trace.getTracer(TRACER_NAME);
  const attributes = {
    [SPAN.jobId]: job.id,
    [SPAN.pool]: String(job.data?.pool ?? ''),
    [SPAN.attempt]: job.attemptsStarted,
  };
  const role = job.data?.role;
  if (role?.kind === 'chunk' && role.index !== undefined)
    Object.assign(attributes, { [SPAN.chunkIndex]: role.index });
  if ((role?.kind === 'sheet' || role?.kind === 'snippet') && role.index !== undefined)
    Object.assign(attributes, { [SPAN.previewIndex]: role.index });
  if (role?.rung !== undefined) Object.assign(attributes, { [SPAN.rung]: role.rung });
  const parent = contextFromTraceparent(job.data?.traceparent);
  // A pipeline's child is named for what it is to its parent: one span per chunk or rung, one for the audio.
  const name = role ? PIPELINE_SPAN[role.kind] : SPAN_NAMES.job;
  return inSpan(tracer, name, { parent, attributes }, async (jobSpan) => {
    const ctx = createJobContext(job, deps, signal, tracer, jobSpan);
    try {
      await prepareWorkDir(ctx);
      await downloadInputs(ctx);
      await probeInputDuration(ctx);
      const target = await searchTargetCrf(ctx);
      if (target?.measurement) useProbeMeasurement(ctx, target.measurement);
      if (!target || target.finalPlan) await runCommand(ctx, target?.finalPlan);
      await checkPlannedFrames(ctx);
      await uploadOutputs(ctx);
      await measureOutputQuality(ctx);
      if (target) {
        await finalScore(ctx, target);
        ctx.facts.target = target.result;
      }
      ctx.timings.total = Math.round(performance.now() - ctx.started);
      return { ...resultOf(ctx), ...(await writeJobRecords(ctx, 'succeeded')) };
    } catch (error) {
      throw await failedAttempt(ctx, error);
    } finally {
      await removeWorkDir(ctx);
    }
  });
}

/** The job's result (the BullMQ job's return value) from what its stages found. */
export function resultOf(ctx: JobContext): JobResult {
  const { facts } = ctx;
  const result: JobResult = {
    outputs: facts.outputs,
    timings: ctx.timings,
    inputBytes: facts.inputBytes,
    worker: ctx.deps.workerId,
  };
  if (facts.mediaDurationSeconds !== undefined) result.mediaDurationSeconds = facts.mediaDurationSeconds;
  if (facts.speed) result.speed = facts.speed;
  if (facts.quality) result.quality = facts.quality.summary;
  if (facts.rungQuality)
    result.rungQuality = facts.rungQuality.map(({ rung, summary, metricsUrl }) => ({
      ...rung,
      quality: summary,
      ...(metricsUrl ? { metricsUrl } : {}),
    }));
  if (facts.target) result.targetQuality = facts.target;
  return result;
}

/**
 * What a failed attempt throws: a cancel or a shutdown surfaces as whatever step it
 * interrupted, so its own error is put back. Anything else is a failure and gets a timing
 * record too (a cancel, or a hand-back on shutdown, is not a failure).
 */
export async function failedAttempt(ctx: JobContext, error: unknown): Promise<unknown> {
  const stopped = (e: unknown) => e instanceof ShutdownError || e instanceof JobCancelledError;
  const cause = stopped(error) ? error : (ctx.abortCause() ?? error);
  if (!stopped(cause)) {
    ctx.timings.total = Math.round(performance.now() - ctx.started);
    await writeJobRecords(ctx, 'failed');
  }
  return cause;
}
