/**
 * A chunked encode's parent job, in two steps on any worker of its pool:
 *
 *   plan   download the source, analyse it, plan the chunks, cut it into pieces and extract
 *          its audio (stream copy), put them in scratch, and add one child job per chunk
 *          (longest first) and one for the audio; then wait for them
 *   join   when every child is done: the chunks (placed by the plan) and the audio become the
 *          job's output by stream copy; quality and records as for any job; scratch removed
 *
 * A child that fails for good brings the parent back early: it stops the other children,
 * removes the scratch objects and fails with that child's error. A cancel, a permanent failure
 * or a last attempt of either step does the same.
 */
import {
  contextFromTraceparent,
  DEFAULT_ATTEMPTS,
  inSpan,
  type JobResult,
  type JobTimings,
  PIPELINE_SPAN,
  SPAN,
  type SplitPlan,
  type SplitState,
  TRACER_NAME,
} from '@ffleet/core';
import { trace } from '@opentelemetry/api';
import {
  createJobContext,
  type JobContext,
  type PipelineDeps,
  type PipelineJob,
  prepareWorkDir,
  removeWorkDir,
} from '../../pipeline/context.ts';
import { isPermanent, JobCancelledError, ShutdownError } from '../../pipeline/errors.ts';
import { failedAttempt, resultOf } from '../../pipeline/run-job.ts';
import { writeJobRecords } from '../../pipeline/stages/records.ts';
import type { Flow } from '../flow.ts';
import { WAIT_FOR_CHILDREN } from '../flow.ts';
import { ChildFailedError } from './child-failed.ts';
import { joinChunks } from './join.ts';
import { planAndSplit } from './plan.ts';
import { removeScratch } from './scratch.ts';

export async function runSplitJob(
  job: PipelineJob,
  flow: Flow,
  deps: PipelineDeps,
  signal: AbortSignal,
): Promise<JobResult | typeof WAIT_FOR_CHILDREN> {
  const state = job.data.pipeline as SplitState;
  const tracer = deps.tracer ?? trace.getTracer(TRACER_NAME);
  const attributes = {
    [SPAN.jobId]: job.id,
    [SPAN.pool]: String(job.data.pool ?? ''),
    [SPAN.attempt]: job.attemptsStarted,
  };
  const parent = contextFromTraceparent(job.data.traceparent);
  const spanName = state.step === 'plan' ? PIPELINE_SPAN.plan : PIPELINE_SPAN.join;
  return inSpan(tracer, spanName, { parent, attributes }, async (span) => {
    const ctx = createJobContext(job, deps, signal, tracer, span);
    // The plan as soon as it is made, so a plan step that is cancelled can remove what it put in scratch.
    let plan = state.plan;
    try {
      if (state.step === 'plan') {
        await prepareWorkDir(ctx);
        await planAndSplit(ctx, flow, (made) => {
          plan = made;
        });
        return WAIT_FOR_CHILDREN;
      }
      return await joinStep(ctx, flow, state);
    } catch (error) {
      const failure = await failedAttempt(ctx, error);
      if (isLastAttempt(ctx, failure)) {
        // The pipeline ends here: nothing of it may keep running or stay in scratch.
        await flow.stopChildren();
        if (plan) await removeScratch(ctx, plan);
      }
      throw failure;
    } finally {
      await removeWorkDir(ctx);
    }
  });
}

/** Whether this failure ends the job: cancelled, permanent, or its last attempt (a shutdown is none). */
export function isLastAttempt(ctx: JobContext, failure: unknown): boolean {
  if (failure instanceof ShutdownError) return false;
  if (failure instanceof JobCancelledError || isPermanent(failure)) return true;
  // Not attemptsStarted: a parent starts once per step, and a worker lost mid-step is no failure.
  return ctx.job.attemptsMade + 1 >= (ctx.spec.attempts ?? DEFAULT_ATTEMPTS);
}

/** The join step: the pipeline's failure policy first, then the chunks joined into the output. */
async function joinStep(ctx: JobContext, flow: Flow, state: SplitState): Promise<JobResult> {
  const joinStarted = Date.now();
  const plan = state.plan as SplitPlan;
  if (await flow.cancelled()) throw new JobCancelledError();
  const [failed] = await flow.failedChildren();
  if (failed) throw new ChildFailedError(failed.id, failed.failure);

  await prepareWorkDir(ctx);
  await joinChunks(ctx, plan);
  await removeScratch(ctx, plan);
  addPlanTimings(ctx.timings, state, joinStarted);
  ctx.timings.total =
    (state.planTimings?.total ?? 0) + (ctx.timings.chunks ?? 0) + Math.round(performance.now() - ctx.started);
  return { ...resultOf(ctx), ...(await writeJobRecords(ctx, 'succeeded')) };
}

/** The plan step's stage times added to the join's, and how long the children took between the steps. */
export function addPlanTimings(
  timings: JobTimings,
  state: Pick<SplitState, 'planTimings' | 'planFinishedAt'>,
  joinStarted: number,
): void {
  for (const [stage, ms] of Object.entries(state.planTimings ?? {})) {
    if (stage === 'total') continue;
    const key = stage as keyof JobTimings;
    timings[key] = stage === 'queue' ? ms : (timings[key] ?? 0) + ms;
  }
  if (state.planFinishedAt !== undefined) timings.chunks = Math.max(0, joinStarted - state.planFinishedAt);
}
