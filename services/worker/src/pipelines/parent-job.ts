/**
 * A pipeline parent that runs in two steps on any worker of its pool: `plan` (decide the work,
 * put inputs in scratch, add the children) and a finishing step (join, package) once every
 * child is done. The failure policy is the same for every such pipeline: a child that failed
 * for good fails the parent with its error, and a cancel, a permanent failure or a last attempt
 * of either step stops the remaining children and removes the scratch objects the plan names.
 */
import {
  contextFromTraceparent,
  DEFAULT_ATTEMPTS,
  inSpan,
  type JobResult,
  type JobTimings,
  PIPELINE_SPAN,
  parseStorageUrl,
  SPAN,
  scratchFolder,
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
} from '../pipeline/context.ts';
import { isPermanent, JobCancelledError, ShutdownError } from '../pipeline/errors.ts';
import { removeObjects } from '../pipeline/remove-objects.ts';
import { failedAttempt, resultOf } from '../pipeline/run-job.ts';
import { writeJobRecords } from '../pipeline/stages/records.ts';
import { type Flow, WAIT_FOR_CHILDREN } from './flow.ts';
import { ChildFailedError } from './split/child-failed.ts';

/** The job's scratch folder: beside its output, under the fleet's scratch prefix, named by its id. */
export function jobScratchFolder(ctx: JobContext): string {
  const output = parseStorageUrl(ctx.spec.outputs[0]!.url, ctx.deps.config.urlPolicy);
  return scratchFolder(output, ctx.deps.scratchPrefix ?? 'ffleet-scratch', ctx.job.id);
}

/** What a two-step pipeline keeps between its steps. */
interface TwoStepState<Plan> {
  step: string;
  plan?: Plan;
  /** Milliseconds of the plan step, per stage, reported with the finishing step's. */
  planTimings?: Record<string, number>;
  /** When the plan step ended (epoch ms): the children's time runs from here to the finish. */
  planFinishedAt?: number;
}

/** The parts that make one two-step pipeline differ from another. */
export interface TwoStepPipeline<Plan> {
  /** Span name of the finishing step (`join`, `package`). */
  finishSpan: string;
  /** The plan step: hands the plan to `planned` as soon as it is made, then adds the children. */
  plan(ctx: JobContext, flow: Flow, planned: (plan: Plan) => void): Promise<void>;
  /** The finishing step's own work, once every child succeeded. */
  finish(ctx: JobContext, plan: Plan, flow: Flow): Promise<void>;
  /** Every scratch object the plan names (never a listing). */
  scratch(plan: Plan): readonly string[];
  /** Objects written straight into the output before the finishing step, removed when the pipeline fails. */
  unfinished?(plan: Plan): readonly string[];
}

export async function runTwoStepJob<Plan>(
  job: PipelineJob,
  flow: Flow,
  deps: PipelineDeps,
  signal: AbortSignal,
  pipeline: TwoStepPipeline<Plan>,
): Promise<JobResult | typeof WAIT_FOR_CHILDREN> {
  const state = job.data.pipeline as TwoStepState<Plan>;
  const tracer = deps.tracer ?? trace.getTracer(TRACER_NAME);
  const attributes = {
    [SPAN.jobId]: job.id,
    [SPAN.pool]: String(job.data.pool ?? ''),
    [SPAN.attempt]: job.attemptsStarted,
  };
  const parent = contextFromTraceparent(job.data.traceparent);
  const spanName = state.step === 'plan' ? PIPELINE_SPAN.plan : pipeline.finishSpan;
  return inSpan(tracer, spanName, { parent, attributes }, async (span) => {
    const ctx = createJobContext(job, deps, signal, tracer, span);
    // The plan as soon as it is made, so a plan step that is cancelled can remove what it put in scratch.
    let plan = state.plan;
    try {
      if (state.step === 'plan') {
        await prepareWorkDir(ctx);
        await pipeline.plan(ctx, flow, (made) => {
          plan = made;
        });
        return WAIT_FOR_CHILDREN;
      }
      return await finishStep(ctx, flow, state, pipeline);
    } catch (error) {
      const failure = await failedAttempt(ctx, error);
      if (isLastAttempt(ctx, failure)) {
        // The pipeline ends here: nothing of it may keep running or stay in scratch.
        await flow.stopChildren();
        if (plan)
          await removeObjects(ctx, [...pipeline.scratch(plan), ...(pipeline.unfinished?.(plan) ?? [])]);
      }
      throw failure;
    } finally {
      await removeWorkDir(ctx);
    }
  });
}

/** Whether this failure ends the job: cancelled, permanent, or its last attempt (a shutdown is none). */
function isLastAttempt(ctx: JobContext, failure: unknown): boolean {
  if (failure instanceof ShutdownError) return false;
  if (failure instanceof JobCancelledError || isPermanent(failure)) return true;
  // Not attemptsStarted: a parent starts once per step, and a worker lost mid-step is no failure.
  return ctx.job.attemptsMade + 1 >= (ctx.spec.attempts ?? DEFAULT_ATTEMPTS);
}

/** The finishing step: the pipeline's failure policy first, then its own work, records and cleanup. */
async function finishStep<Plan>(
  ctx: JobContext,
  flow: Flow,
  state: TwoStepState<Plan>,
  pipeline: TwoStepPipeline<Plan>,
): Promise<JobResult> {
  const started = Date.now();
  const plan = state.plan as Plan;
  if (await flow.cancelled()) throw new JobCancelledError();
  const [failed] = await flow.failedChildren();
  if (failed) throw new ChildFailedError(failed.id, failed.failure);

  await prepareWorkDir(ctx);
  await pipeline.finish(ctx, plan, flow);
  await removeObjects(ctx, pipeline.scratch(plan));
  addPlanTimings(ctx.timings, state, started);
  ctx.timings.total =
    (state.planTimings?.total ?? 0) + (ctx.timings.chunks ?? 0) + Math.round(performance.now() - ctx.started);
  // Records first: a ladder's rung records put their URLs in the facts the result is made of.
  const records = await writeJobRecords(ctx, 'succeeded');
  return { ...resultOf(ctx), ...records };
}

/** The plan step's stage times added to the finishing step's, and how long the children took between them. */
function addPlanTimings(timings: JobTimings, state: TwoStepState<unknown>, finishStarted: number): void {
  for (const [stage, ms] of Object.entries(state.planTimings ?? {})) {
    if (stage === 'total') continue;
    const key = stage as keyof JobTimings;
    timings[key] = stage === 'queue' ? ms : (timings[key] ?? 0) + ms;
  }
  if (state.planFinishedAt !== undefined) timings.chunks = Math.max(0, finishStarted - state.planFinishedAt);
}
