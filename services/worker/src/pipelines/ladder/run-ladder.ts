/**
 * A ladder's parent job, in two steps on any worker of its pool:
 *
 *   plan     download and analyse the source, decide the rungs (never above the source), add one
 *            child job per rung and one for the audio; then wait for them
 *   package  when every child is done: HLS and DASH from the rungs by stream copy, segments
 *            uploaded, playlists and MPD last; scratch removed
 *
 * A child that fails for good brings the parent back early: it stops the other children,
 * removes the scratch objects and fails with that child's error, having published nothing.
 */
import {
  contextFromTraceparent,
  inSpan,
  type JobResult,
  type LadderPlan,
  type LadderState,
  ladderScratch,
  PIPELINE_SPAN,
  SPAN,
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
import { JobCancelledError } from '../../pipeline/errors.ts';
import { failedAttempt, resultOf } from '../../pipeline/run-job.ts';
import { writeJobRecords } from '../../pipeline/stages/records.ts';
import { type Flow, WAIT_FOR_CHILDREN } from '../flow.ts';
import { ChildFailedError } from '../split/child-failed.ts';
import { addPlanTimings, isLastAttempt } from '../split/run-split.ts';
import { removeObjects } from '../split/scratch.ts';
import { packageLadder } from './package.ts';
import { planLadder } from './plan.ts';

export async function runLadderJob(
  job: PipelineJob,
  flow: Flow,
  deps: PipelineDeps,
  signal: AbortSignal,
): Promise<JobResult | typeof WAIT_FOR_CHILDREN> {
  const state = job.data.pipeline as LadderState;
  const tracer = deps.tracer ?? trace.getTracer(TRACER_NAME);
  const attributes = {
    [SPAN.jobId]: job.id,
    [SPAN.pool]: String(job.data.pool ?? ''),
    [SPAN.attempt]: job.attemptsStarted,
  };
  const parent = contextFromTraceparent(job.data.traceparent);
  const spanName = state.step === 'plan' ? PIPELINE_SPAN.plan : PIPELINE_SPAN.package;
  return inSpan(tracer, spanName, { parent, attributes }, async (span) => {
    const ctx = createJobContext(job, deps, signal, tracer, span);
    let plan = state.plan;
    try {
      await prepareWorkDir(ctx);
      if (state.step === 'plan') {
        await planLadder(ctx, flow, (made) => {
          plan = made;
        });
        return WAIT_FOR_CHILDREN;
      }
      return await packageStep(ctx, flow, state);
    } catch (error) {
      const failure = await failedAttempt(ctx, error);
      if (isLastAttempt(ctx, failure)) {
        await flow.stopChildren();
        if (plan) await removeObjects(ctx, ladderScratch.all(plan));
      }
      throw failure;
    } finally {
      await removeWorkDir(ctx);
    }
  });
}

async function packageStep(ctx: JobContext, flow: Flow, state: LadderState): Promise<JobResult> {
  const started = Date.now();
  const plan = state.plan as LadderPlan;
  if (await flow.cancelled()) throw new JobCancelledError();
  const [failed] = await flow.failedChildren();
  if (failed) throw new ChildFailedError(failed.id, failed.failure);
  await packageLadder(ctx, plan);
  await removeObjects(ctx, ladderScratch.all(plan));
  addPlanTimings(ctx.timings, state, started);
  ctx.timings.total =
    (state.planTimings?.total ?? 0) + (ctx.timings.chunks ?? 0) + Math.round(performance.now() - ctx.started);
  return { ...resultOf(ctx), ...(await writeJobRecords(ctx, 'succeeded')) };
}
