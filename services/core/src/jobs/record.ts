import { type Static, Type } from '@sinclair/typebox';
import { PlannedRungSchema } from '../pipelines/ladder-rungs.ts';
import { ChildRoleSchema, PipelineStateSchema } from '../pipelines/state.ts';
import { TargetQualityResultSchema } from '../pipelines/target-quality.ts';
import { compileCheck } from '../schemas/check.ts';
import { JobSpecSchema } from './spec.ts';

/**
 * What a job keeps in BullMQ: the gateway writes its data, the worker its progress, its
 * result and, on failure, a failure log line. Each crosses Redis, so each has a schema here
 * and readers check it (`isJobProgress`, `isJobResult`, `readFailureLogLine`).
 */

/** What the gateway stores in a BullMQ job, and what the worker reads back. */
export const JobDataSchema = Type.Object({
  spec: JobSpecSchema,
  pool: Type.String(),
  /** Epoch milliseconds. */
  submittedAt: Type.Number(),
  /** W3C trace context of the submitting request, so the worker continues its trace. */
  traceparent: Type.Optional(Type.String()),
  /** A pipeline's parent: where it is (chunked encodes). */
  pipeline: Type.Optional(PipelineStateSchema),
  /** A pipeline's child: what it is to its parent. */
  role: Type.Optional(ChildRoleSchema),
  /** Who submitted it: the API token's name (never the token), when the gateway has tokens. */
  owner: Type.Optional(Type.String()),
});
export type JobData = Static<typeof JobDataSchema>;

export const StageSchema = Type.Union(
  [
    Type.Literal('queued'),
    Type.Literal('download'),
    Type.Literal('ffmpeg'),
    Type.Literal('upload'),
    Type.Literal('quality'),
    Type.Literal('analyse'),
    Type.Literal('probe'),
    Type.Literal('split'),
    Type.Literal('chunks'),
    Type.Literal('rungs'),
    Type.Literal('previews'),
    Type.Literal('package'),
    Type.Literal('done'),
  ],
  { description: 'The step a job is in' },
);
export type Stage = Static<typeof StageSchema>;

/** Stored with `job.updateProgress`. */
export const JobProgressSchema = Type.Object(
  {
    stage: StageSchema,
    percent: Type.Number({ minimum: 0, maximum: 100, description: 'Of the input duration' }),
    fps: Type.Optional(Type.Number()),
    speed: Type.Optional(Type.Number({ description: 'A multiple of real time' })),
    outTimeSeconds: Type.Optional(Type.Number()),
  },
  { description: 'Where a running job is' },
);
export type JobProgress = Static<typeof JobProgressSchema>;

const UploadedFileSchema = Type.Object({ url: Type.String(), bytes: Type.Integer({ minimum: 0 }) });

export const OutputResultSchema = Type.Object({
  url: Type.String(),
  bytes: Type.Integer({ minimum: 0 }),
  files: Type.Optional(
    Type.Array(UploadedFileSchema, { description: 'For folder outputs: every object uploaded under it' }),
  ),
});
export type OutputResult = Static<typeof OutputResultSchema>;

/** PSNR/SSIM/VMAF of a job's first output against its first input, or why there are none. */
export const QualitySummarySchema = Type.Object(
  {
    status: Type.Union([Type.Literal('measured'), Type.Literal('not_applicable'), Type.Literal('failed')], {
      description:
        '`not_applicable`: nothing to compare (no video, a folder output, …); `failed`: measuring broke. Neither fails the job',
    }),
    psnr: Type.Optional(
      Type.Number({ description: 'Mean per-frame PSNR in dB (capped at 100: identical frames)' }),
    ),
    ssim: Type.Optional(Type.Number({ description: 'Mean per-frame SSIM (1 = identical)' })),
    vmaf: Type.Optional(Type.Number()),
    vmafUnavailable: Type.Optional(Type.String({ description: 'Why VMAF was not measured' })),
    frames: Type.Optional(Type.Integer({ minimum: 0, description: 'Frames compared' })),
    mode: Type.Optional(
      Type.Union([Type.Literal('sampled'), Type.Literal('full')], {
        description:
          '`full`: every frame was compared; `sampled`: `windows` short runs of consecutive frames spread ' +
          'over the video, or, in a video too short for them, every `subsample`-th frame',
      }),
    ),
    subsample: Type.Optional(
      Type.Integer({
        minimum: 1,
        description: 'Every how many output frames one was compared (1 inside windows)',
      }),
    ),
    windows: Type.Optional(
      Type.Integer({ minimum: 1, description: 'How many windows were compared, when sampling used windows' }),
    ),
    reason: Type.Optional(Type.String({ description: 'Why there is no measurement' })),
  },
  { description: 'Mean PSNR, SSIM and VMAF of the first output against the first input' },
);
export type QualitySummary = Static<typeof QualitySummarySchema>;

/** A ladder's rung with its quality against the source. */
export const RungQualitySchema = Type.Object(
  {
    ...PlannedRungSchema.properties,
    quality: QualitySummarySchema,
    metricsUrl: Type.Optional(
      Type.String({ description: "The rung's quality record (ffqm JSON) in the metrics bucket" }),
    ),
  },
  { description: 'A rung of a ladder (its name, size and bitrate), measured against the source' },
);
export type RungQuality = Static<typeof RungQualitySchema>;

/** Milliseconds per stage; `queue` is submission to start, `quality` the quality measurement. */
export const JobTimingsSchema = Type.Object(
  {
    download: Type.Number(),
    ffmpeg: Type.Number(),
    upload: Type.Number(),
    total: Type.Number(),
    queue: Type.Optional(Type.Number()),
    quality: Type.Optional(Type.Number()),
    analyse: Type.Optional(Type.Number({ description: 'Chunked encodes: probing the source' })),
    split: Type.Optional(Type.Number({ description: 'Chunked encodes: cutting the source into pieces' })),
    probe: Type.Optional(
      Type.Number({ description: "A quality target's CRF search: probe encodes and their measurements" }),
    ),
    chunks: Type.Optional(
      Type.Number({ description: 'Chunked encodes: from the pieces queued to the last chunk done' }),
    ),
  },
  { description: 'Milliseconds per stage; `queue` is submission to start, `total` start to finish' },
);
export type JobTimings = Static<typeof JobTimingsSchema>;

/** The worker's return value, stored as the BullMQ job's return value. */
export const JobResultSchema = Type.Object({
  outputs: Type.Array(OutputResultSchema),
  timings: JobTimingsSchema,
  inputBytes: Type.Integer({ minimum: 0 }),
  mediaDurationSeconds: Type.Optional(Type.Number()),
  speed: Type.Optional(Type.Number()),
  worker: Type.String(),
  /** Present when quality was asked for (by the job or the fleet default). */
  quality: Type.Optional(QualitySummarySchema),
  /** The quality record (ffqm JSON) in the metrics bucket. */
  metricsUrl: Type.Optional(Type.String()),
  /** A ladder with quality asked for: every rung measured against the source, smallest first. */
  rungQuality: Type.Optional(Type.Array(RungQualitySchema)),
  /** A job with a quality target: the CRF chosen, the probes, the score and the size saved. */
  targetQuality: Type.Optional(TargetQualityResultSchema),
  /** The timing record in the metrics bucket. */
  timingsUrl: Type.Optional(Type.String()),
});
export type JobResult = Static<typeof JobResultSchema>;

/** Details of a failure, logged to the job (BullMQ keeps only a message as failedReason). */
export const JobFailureSchema = Type.Object(
  {
    code: Type.String({
      description: 'input_missing, storage_access, ffmpeg_failed, timeout, cancelled, worker_lost, …',
    }),
    message: Type.String(),
    stderr: Type.Optional(Type.Array(Type.String(), { description: "ffmpeg's last stderr lines" })),
    exitCode: Type.Optional(Type.Union([Type.Integer(), Type.Null()])),
  },
  { description: 'Why a job failed or was cancelled' },
);
export type JobFailure = Static<typeof JobFailureSchema>;

const progressCheck = compileCheck(JobProgressSchema);
const resultCheck = compileCheck(JobResultSchema);
const failureCheck = compileCheck(JobFailureSchema);

/** Whether a BullMQ job's progress is ffleet's progress (a job may also report a bare number). */
export const isJobProgress = (value: unknown): value is JobProgress => progressCheck.is(value);
/** Whether a BullMQ job's return value is a worker's JobResult. */
export const isJobResult = (value: unknown): value is JobResult => resultCheck.is(value);

/** The JobFailure of a job log line written by the worker, if the line is one. */
export function readFailureLogLine(line: string): JobFailure | undefined {
  if (!line.startsWith(FAILURE_LOG_PREFIX)) return undefined;
  try {
    const failure: unknown = JSON.parse(line.slice(FAILURE_LOG_PREFIX.length));
    return failureCheck.is(failure) ? failure : undefined;
  } catch {
    return undefined;
  }
}

/** Redis keys ffleet uses beside BullMQ's own. */
export const keys = {
  cancelChannel: (prefix: string) => `${prefix}:cancel`,
  cancelMarker: (prefix: string, id: string) => `${prefix}:cancelled:${id}`,
  /** Set when a pipeline stops its children (failed or cancelled): a child about to start does not. */
  stopMarker: (prefix: string, id: string) => `${prefix}:stopped:${id}`,
  /** A submission's idempotency key; a token's keys are its own (`owner`), so tenants never meet. */
  idempotency: (prefix: string, key: string, owner?: string) =>
    owner ? `${prefix}:idempotency:${owner}/${key}` : `${prefix}:idempotency:${key}`,
  /** Requests counted per API token (or client address) for the rate limit. */
  rateLimit: (prefix: string) => `${prefix}:rate-limit:`,
  workers: (prefix: string, pool: string) => `${prefix}:workers:${pool}`,
  worker: (prefix: string, workerId: string) => `${prefix}:worker:${workerId}`,
  /**
   * A job's result, kept from when its worker finished it until BullMQ records the completion.
   * A completion refused because the job's lock ran out meanwhile (Redis away for longer than
   * the lock) leaves it behind, and the job's next attempt records it instead of running again.
   */
  finishedResult: (prefix: string, id: string) => `${prefix}:finished:${id}`,
  /** How many times a job's webhook was sent again on request (see webhooks/delivery.ts). */
  webhookRedeliveries: (prefix: string, id: string) => `${prefix}:webhook-redeliveries:${id}`,
};

/** BullMQ's reason for a job that stalled (lost its worker) more often than its worker's `maxStalledCount`. */
export const STALLED_REASON = 'job stalled more than allowable limit';

/** The failure of a job whose worker was lost more times than the stall limit allows. */
export const WORKER_LOST_FAILURE: JobFailure = {
  code: 'worker_lost',
  message:
    'the worker running this job was lost (killed, out of memory or evicted) more times than the stall limit ' +
    '(FFLEET_MAX_STALLED_COUNT) allows; the job is not run again',
};

/** Prefix of job log lines that carry a JobFailure as JSON. */
export const FAILURE_LOG_PREFIX = 'ffleet-failure ';
export const CANCELLED_REASON = 'cancelled';
/** How long cancel and stop markers (and a cancelled job's tombstone) are kept. */
export const CANCELLED_TTL_SECONDS = 7 * 24 * 3600;
