/**
 * Which runner a pipeline's parent job goes to, by its kind. Each runs the parent's current
 * step and either finishes the job or hands work to children and waits for them.
 */
import type { JobResult, PipelineState } from '@ffleet/core';
import type { PipelineDeps, PipelineJob } from '../pipeline/context.ts';
import type { Flow, WAIT_FOR_CHILDREN } from './flow.ts';
import { runLadderJob } from './ladder/run-ladder.ts';
import { runSplitJob } from './split/run-split.ts';

type Runner = (
  job: PipelineJob,
  flow: Flow,
  deps: PipelineDeps,
  signal: AbortSignal,
) => Promise<JobResult | typeof WAIT_FOR_CHILDREN>;

const RUNNERS: Record<PipelineState['kind'], Runner> = {
  split: runSplitJob,
  ladder: runLadderJob,
};

export function runPipeline(
  job: PipelineJob,
  flow: Flow,
  deps: PipelineDeps,
  signal: AbortSignal,
): Promise<JobResult | typeof WAIT_FOR_CHILDREN> {
  return RUNNERS[job.data.pipeline!.kind](job, flow, deps, signal);
}
