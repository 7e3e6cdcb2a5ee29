/**
 * A previews parent job, in two steps on any worker of its pool:
 *
 *   plan      download and analyse the source, resolve the times, make and upload the still
 *             pictures, put each child's piece of the source in scratch and add one child job
 *             per sprite sheet and one per snippet; then wait
 *   manifest  when every child is done: the WebVTT track, then the manifest, uploaded last;
 *             the pieces removed
 *
 * A child that fails for good brings the parent back early: it stops the other children,
 * removes the pieces and every file the pipeline wrote into the folder, and fails with that
 * child's error.
 */
import {
  type JobResult,
  PIPELINE_SPAN,
  PREVIEWS_MANIFEST,
  type PreviewsPlan,
  previewsFiles,
  previewsScratch,
} from '@ffleet/core';
import type { PipelineDeps, PipelineJob } from '../../pipeline/context.ts';
import type { Flow, WAIT_FOR_CHILDREN } from '../flow.ts';
import { runTwoStepJob } from '../parent-job.ts';
import { writePreviewsManifest } from './manifest.ts';
import { planPreviewsJob } from './plan.ts';

export function runPreviewsJob(
  job: PipelineJob,
  flow: Flow,
  deps: PipelineDeps,
  signal: AbortSignal,
): Promise<JobResult | typeof WAIT_FOR_CHILDREN> {
  return runTwoStepJob<PreviewsPlan>(job, flow, deps, signal, {
    finishSpan: PIPELINE_SPAN.manifest,
    plan: planPreviewsJob,
    finish: writePreviewsManifest,
    // Children read their pieces from scratch and write straight into the output folder.
    scratch: (plan) => previewsScratch.all(plan),
    unfinished: (plan) => [...previewsFiles(plan), PREVIEWS_MANIFEST].map((file) => `${plan.folder}${file}`),
  });
}
