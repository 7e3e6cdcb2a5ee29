/**
 * Which runner a pipeline's parent job goes to, by its kind. Each runs the parent's current
 * step and either finishes the job or hands work to children and waits for them.
 */
import type { JobResult, PipelineState } from '@ffleet/core';
import type { PipelineDeps, PipelineJob } from '../pipeline/context.ts';
import type { Flow, WAIT_FOR_CHILDREN } from './flow.ts';
import { runLadderJob } from './ladder/run-ladder.ts';
import { runPreviewsJob } from './previews/run-previews.ts';
import { runSplitJob } from './split/run-split.ts';

type Runner = (
  job: PipelineJob,
  flow: Flow,
  deps: PipelineDeps,
  signal: AbortSignal,
) => Promise<JobResult | typeof WAIT_FOR_CHILDREN>;

/** Pipelines that hand work to children (a batch's parent has its own runner: run-batch.ts). */
const RUNNERS: Record<Exclude<PipelineState['kind'], 'batch'>, Runner> = {
  split: runSplitJob,
  ladder: runLadderJob,
  previews: runPreviewsJob,
};

export function runPipeline(
  job: PipelineJob,
  flow: Flow,
  deps: PipelineDeps,
  signal: AbortSignal,
): Promise<JobResult | typeof WAIT_FOR_CHILDREN> {
  const kind = job.data.pipeline!.kind;
  if (kind === 'batch') throw new Error('a batch parent runs through runBatchJob');
  return RUNNERS[kind](job, flow, deps, signal);
}
