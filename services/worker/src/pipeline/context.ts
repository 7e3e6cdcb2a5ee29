import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type CommandPlan,
  type FfmpegLimits,
  type FleetConfig,
  type JobData,
  type JobProgress,
  type JobResult,
  type JobSpec,
  type Logger,
  type ObjectStore,
  type OutputResult,
  type PlannedRung,
  type QualitySummary,
  SPAN,
  type TargetQualityResult,
  validateJob,
  type WorkLayout,
  workLayout,
} from '@ffleet/core';
import type { Span, Tracer } from '@opentelemetry/api';
import type { QualityMeasurement, QualityMode } from '../quality/measure.ts';
import type { JobIdentity } from '../quality/records.ts';
import { JobCancelledError, ShutdownError } from './errors.ts';

export interface PipelineDeps {
  config: FleetConfig;
  storage: ObjectStore;
  ffmpegPath: string;
  ffprobePath: string;
  /** Scratch directory holding one work dir per running job. */
  workRoot: string;
  workerId: string;
  /** Kill ffmpeg when a job's outputs grow past this. */
  maxOutputBytes: number;
  /** What one ffmpeg may take (memory, threads, frame size); a job over one fails with `resource_limit`. */
  ffmpegLimits?: FfmpegLimits;
  /** Longest input a job may give, in seconds (0: no limit); longer fails with `resource_limit`. */
  maxInputSeconds?: number;
  logger: Logger;
  /** Spans of each job; default: the process's global tracer (a no-op when tracing is off). */
  tracer?: Tracer;
  /** Measure quality for jobs that do not say. Default false. */
  qualityDefault?: boolean;
  /** How quality is measured for jobs that do not say. Default `sampled`. */
  qualityMode?: QualityMode;
  /** In sampled mode, on a clip too short for windows, compare every n-th frame of the output. */
  qualitySubsample?: number;
  /** Bucket for quality and timing records; default: the bucket of the job's first output. */
  metricsBucket?: string;
  /** Key prefix of chunked encodes' scratch objects, in the output's bucket; default `ffleet-scratch`. */
  scratchPrefix?: string;
  /** Where this worker runs, stamped on the records. */
  placement?: Omit<JobIdentity, 'jobId' | 'jobName' | 'pool' | 'worker' | 'attempt'>;
}

/** The slice of a BullMQ job the pipeline uses (kept small so it is easy to reason about). */
export interface PipelineJob {
  id: string;
  data: JobData;
  attemptsStarted: number;
  /** Attempts that failed so far (BullMQ's count against the job's `attempts`). */
  attemptsMade: number;
  updateProgress(progress: JobProgress): Promise<unknown>;
}

/** The abort reason of a worker handing its jobs back on shutdown (anything else is a cancel). */
export const SHUTDOWN_REASON = 'shutdown';
const PROGRESS_INTERVAL_MS = 500;

export interface QualityOutcome {
  summary: QualitySummary;
  measurement?: QualityMeasurement;
}

/** What the stages found out, for the job's result and its records (a failed attempt's too). */
export interface JobFacts {
  inputBytes: number;
  outputBytes: number;
  outputs: OutputResult[];
  mediaDurationSeconds?: number;
  speed?: number;
  /** Frames ffmpeg encoded for the first video output, by its own closing report. */
  framesEncoded?: number;
  quality?: QualityOutcome;
  /** A ladder: each rung measured against the source; `metricsUrl` once its record is written. */
  rungQuality?: (QualityOutcome & { rung: PlannedRung; metricsUrl?: string })[];
  /** A job with a quality target: how its CRF was chosen. */
  target?: TargetQualityResult;
}

/** One attempt of one job, as every stage sees it. */
export interface JobContext {
  readonly job: PipelineJob;
  readonly deps: PipelineDeps;
  /** Aborted by a cancel or a shutdown. */
  readonly signal: AbortSignal;
  readonly tracer: Tracer;
  /** The job's own span; stages add the job-level attributes to it. */
  readonly jobSpan: Span;
  readonly spec: JobSpec;
  readonly plan: CommandPlan;
  readonly workDir: string;
  readonly layout: WorkLayout;
  readonly log: Logger;
  /** `performance.now()` when the attempt started. */
  readonly started: number;
  /** Milliseconds per stage, filled in by `stage()`. */
  readonly timings: JobResult['timings'];
  readonly facts: JobFacts;
  /** Stores the job's progress; at most every 500 ms unless forced. Never throws. */
  report(progress: JobProgress, force?: boolean): void;
  /** The error a cancel or a shutdown stands for, if one happened. */
  abortCause(): ShutdownError | JobCancelledError | undefined;
  throwIfAborted(): void;
}

/**
 * Checks the job again (a job written straight into Redis gets no free pass) and sets up its
 * attempt: work dir, logger, progress, timings.
 */
export function createJobContext(
  job: PipelineJob,
  deps: PipelineDeps,
  signal: AbortSignal,
  tracer: Tracer,
  jobSpan: Span,
): JobContext {
  const started = performance.now();
  const startedAt = Date.now();
  const { spec, plan } = validateJob(job.data?.spec, deps.config.pools, deps.config.urlPolicy);
  jobSpan.setAttribute(SPAN.jobName, spec.name);
  const workDir = join(
    deps.workRoot,
    `${job.id.replace(/[^A-Za-z0-9-]/g, '_').slice(0, 80)}-${job.attemptsStarted}`,
  );
  const log = deps.logger.child({ jobId: job.id, name: spec.name });
  const timings: JobResult['timings'] = { download: 0, ffmpeg: 0, upload: 0, total: 0 };
  if (typeof job.data.submittedAt === 'number') timings.queue = Math.max(0, startedAt - job.data.submittedAt);
  let lastReport = 0;
  const abortCause = () => {
    if (!signal.aborted) return undefined;
    return signal.reason === SHUTDOWN_REASON ? new ShutdownError() : new JobCancelledError();
  };
  return {
    job,
    deps,
    signal,
    tracer,
    jobSpan,
    spec,
    plan,
    workDir,
    layout: workLayout(workDir),
    log,
    started,
    timings,
    facts: { inputBytes: 0, outputBytes: 0, outputs: [] },
    report(progress, force = false) {
      const now = Date.now();
      if (!force && now - lastReport < PROGRESS_INTERVAL_MS) return;
      lastReport = now;
      job.updateProgress(progress).catch((error) => log.warn({ err: error }, 'progress update failed'));
    },
    abortCause,
    throwIfAborted() {
      const cause = abortCause();
      if (cause) throw cause;
    },
  };
}

/** A fresh work dir with one folder per input and per output. */
export async function prepareWorkDir(ctx: JobContext): Promise<void> {
  await rm(ctx.workDir, { recursive: true, force: true });
  for (let i = 0; i < ctx.plan.inputs.length; i++) await mkdir(ctx.layout.inputDir(i), { recursive: true });
  for (let i = 0; i < ctx.plan.outputs.length; i++) await mkdir(ctx.layout.outputDir(i), { recursive: true });
}

/** Removes the work dir; a failure is logged, never thrown (the job's outcome stands). */
export async function removeWorkDir(ctx: JobContext): Promise<void> {
  await rm(ctx.workDir, { recursive: true, force: true }).catch((error) =>
    ctx.log.error({ err: error }, 'work dir cleanup failed'),
  );
}
