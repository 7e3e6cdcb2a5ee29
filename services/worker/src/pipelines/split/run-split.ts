/**
 * A chunked encode's parent job, in two steps on any worker of its pool:
 *
 *   plan   download the source, analyse it, plan the chunks, cut it into pieces and extract
 *          its audio (stream copy), put them in scratch, and add one child job per chunk
 *          (longest first) and one for the audio (right after the first chunks); then wait
 *   join   when every child is done: the chunks (placed by the plan) and the audio become the
 *          job's output by stream copy; quality and records as for any job; scratch removed
 *
 * A child that fails for good brings the parent back early: it stops the other children,
 * removes the scratch objects and fails with that child's error. A cancel, a permanent failure
 * or a last attempt of either step does the same.
 */
import { type JobResult, PIPELINE_SPAN, type SplitPlan, splitScratch } from '@ffleet/core';
import type { PipelineDeps, PipelineJob } from '../../pipeline/context.ts';
import type { Flow, WAIT_FOR_CHILDREN } from '../flow.ts';
import { runTwoStepJob } from '../parent-job.ts';
import { joinChunks } from './join.ts';
import { planAndSplit } from './plan.ts';

export function runSplitJob(
  job: PipelineJob,
  flow: Flow,
  deps: PipelineDeps,
  signal: AbortSignal,
): Promise<JobResult | typeof WAIT_FOR_CHILDREN> {
  return runTwoStepJob<SplitPlan>(job, flow, deps, signal, {
    finishSpan: PIPELINE_SPAN.join,
    plan: planAndSplit,
    finish: joinChunks,
    scratch: (plan) => splitScratch.all(plan),
  });
}
