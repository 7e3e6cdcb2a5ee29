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
import { type JobResult, type LadderPlan, ladderScratch, PIPELINE_SPAN } from '@ffleet/core';
import type { PipelineDeps, PipelineJob } from '../../pipeline/context.ts';
import type { Flow, WAIT_FOR_CHILDREN } from '../flow.ts';
import { runTwoStepJob } from '../parent-job.ts';
import { packageLadder } from './package.ts';
import { planLadder } from './plan.ts';

export function runLadderJob(
  job: PipelineJob,
  flow: Flow,
  deps: PipelineDeps,
  signal: AbortSignal,
): Promise<JobResult | typeof WAIT_FOR_CHILDREN> {
  return runTwoStepJob<LadderPlan>(job, flow, deps, signal, {
    finishSpan: PIPELINE_SPAN.package,
    plan: planLadder,
    finish: packageLadder,
    scratch: (plan) => ladderScratch.all(plan),
  });
}
