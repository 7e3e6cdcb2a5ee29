import type { JobData, JobFailure, PipelineState } from '@ffleet/core';

/** A child a pipeline adds: an ordinary job of its own, run by any worker of its queue. */
export interface ChildJob {
  /** Deterministic (`<parent>-c3`), so a step run again adds nothing twice. */
  id: string;
  name: string;
  data: JobData;
}

/**
 * What a pipeline's parent can do with its children (BullMQ flows behind it; see
 * fleet/bullmq-flow.ts). Its failure policy lives in the pipeline: a child that fails for good
 * sends the parent back to its processor, which stops the rest and fails with the child's error.
 */
export interface Flow {
  /** Adds children (in bulks; an id already there is not added again). */
  addChildren(children: readonly ChildJob[]): Promise<void>;
  /** Stores the pipeline's state for its next step. */
  saveState(state: PipelineState): Promise<void>;
  /** What the children that finished returned, by their id. */
  childResults(): Promise<Map<string, unknown>>;
  /** Children that failed for good, with their failures. */
  failedChildren(): Promise<{ id: string; failure: JobFailure }[]>;
  /** Removes children not yet started and stops running ones (their ffmpeg killed). */
  stopChildren(): Promise<void>;
  /** Whether the user cancelled the pipeline. */
  cancelled(): Promise<boolean>;
}

/** What a parent's step returns when it has handed work to its children and waits for them. */
export const WAIT_FOR_CHILDREN = Symbol('wait for children');
