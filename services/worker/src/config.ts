import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConfigError,
  commaList,
  type FfmpegLimits,
  FLEET_SETTINGS,
  type FleetConfig,
  flag,
  fleetConfigFrom,
  integer,
  oneOf,
  optional,
  type Pool,
  readSettings,
  settings,
  text,
} from '@ffleet/core';
import { DEFAULT_QUALITY_SUBSAMPLE, type QualityMode } from './quality/measure.ts';

/** 7680×4320 (8K UHD): the default largest output frame. */
const MAX_OUTPUT_PIXELS_8K = 7680 * 4320;

/** Every variable a worker reads (with the fleet's shared ones); docs/configuration.md is generated from it. */
export const WorkerSettings = settings({
  ...FLEET_SETTINGS,
  POOL: text({
    description: 'the pool this worker serves (a name in the pool registry)',
    documentedDefault: 'required',
  }),
  FFLEET_CONCURRENCY: optional(
    integer({ minimum: 1, maximum: 64, description: 'jobs at once', documentedDefault: "the pool's" }),
  ),
  FFLEET_WORK_DIR: optional(
    text({
      description: 'scratch space (an `emptyDir` in the chart)',
      documentedDefault: '`$TMPDIR/ffleet-work`',
    }),
  ),
  FFLEET_SHUTDOWN_GRACE_SECONDS: integer({
    default: 120,
    description: 'on SIGTERM, the time a running job gets before it goes back to the queue',
  }),
  FFLEET_LOCK_DURATION_MS: integer({
    default: 30_000,
    minimum: 1000,
    description: "job lock; a dead worker's job moves on after about this long",
  }),
  FFLEET_MAX_STALLED_COUNT: integer({
    default: 2,
    maximum: 100,
    description:
      'how many times a job may lose its worker (killed, out of memory, evicted) and run again; once more and it fails with `worker_lost`',
  }),
  FFLEET_WEBHOOK_CONCURRENCY: integer({
    default: 4,
    minimum: 1,
    maximum: 64,
    description:
      'webhook deliveries this worker sends at once (every worker sends from the fleet-wide webhook queue)',
  }),
  FFLEET_UPLOAD_RETRY_SECONDS: integer({
    default: 60,
    maximum: 3600,
    description:
      'how long an upload (each part), and the clean-up after a failed one, keeps retrying an S3 that does not answer, with waits of 1, 2, 4, 8 then 15 s; then the attempt fails with `storage_unavailable` and the job is retried within its `attempts`. 0: a single try',
  }),
  FFLEET_MAX_OUTPUT_MB: integer({
    default: 51_200,
    minimum: 1,
    description: 'a job writing more is stopped (`output_too_large`)',
  }),
  FFLEET_FFMPEG_MEMORY_MB: integer({
    default: 0,
    description:
      'address space one ffmpeg may take (RLIMIT_AS via `prlimit`); over it the job fails with `resource_limit` and the worker keeps serving. 0: no limit (GPU drivers reserve far more address space than they use: set it on CPU pools)',
  }),
  FFLEET_FFMPEG_MAX_ALLOC_MB: integer({
    default: 1024,
    description:
      "ffmpeg's `-max_alloc`: its largest single allocation, which bounds an output frame's size (a 16000×16000 frame needs 256 MB a plane); 0: ffmpeg's default",
  }),
  FFLEET_FFMPEG_THREADS: optional(
    integer({
      maximum: 256,
      description:
        "threads of each decoder, encoder and filter graph of one ffmpeg (`-threads`, `-filter_threads`, `-filter_complex_threads`); a job's own higher `-threads` is lowered to it, a lower one kept. 0: ffmpeg's own choice (about one per CPU each)",
      documentedDefault: 'CPUs / concurrency',
    }),
  ),
  FFLEET_MAX_OUTPUT_PIXELS: integer({
    default: MAX_OUTPUT_PIXELS_8K,
    description:
      "largest frame (width × height) any encoder of a job may take (ffmpeg's `-max_pixels` on every output), e.g. 8294400 for 3840×2160; bigger fails with `resource_limit`. Default 7680×4320; 0: no limit",
  }),
  FFLEET_MAX_INPUT_SECONDS: integer({
    default: 0,
    description:
      "longest input a job may give (ffprobe's duration of each input, before ffmpeg runs); longer fails with `resource_limit`. 0: no limit",
  }),
  FFMPEG_PATH: text({
    default: 'ffmpeg',
    description: "ffmpeg binary (the Xilinx image points at the Video SDK's)",
  }),
  FFPROBE_PATH: text({ default: 'ffprobe', description: 'ffprobe binary' }),
  FFLEET_FFMPEG_ENV: commaList({
    itemPattern: '^[A-Z_][A-Z0-9_]*$',
    description:
      'variables passed to ffmpeg besides `PATH` (vendor SDKs; naming `GLIBC_TUNABLES` sets yours for every ffmpeg, replacing the malloc settings of quality comparisons, see docs/benchmarks.md); names with `AWS_`, `SECRET`, `TOKEN`, `PASSWORD` never pass',
  }),
  FFLEET_WORKER_PORT: integer({
    default: 9090,
    maximum: 65_535,
    description: '`/healthz` (alive), `/readyz` (taking jobs) and `/metrics` (0 disables)',
  }),
  FFLEET_WORKER_HOST: text({
    default: '0.0.0.0',
    description: 'listen address of `/healthz`, `/readyz` and `/metrics`',
  }),
  FFLEET_QUALITY_DEFAULT: flag({
    default: true,
    description: 'measure quality for jobs that do not set `quality`',
  }),
  FFLEET_QUALITY_MODE: oneOf(['sampled', 'full'], {
    default: 'sampled',
    description:
      'how quality is measured for jobs that do not ask: a few 1 s windows of consecutive frames (every n-th frame of a clip too short for them), or every frame',
  }),
  FFLEET_QUALITY_SUBSAMPLE: integer({
    default: DEFAULT_QUALITY_SUBSAMPLE,
    minimum: 2,
    maximum: 1000,
    description: 'in sampled mode, on a clip too short for windows, compare every n-th output frame',
  }),
  FFLEET_SCRATCH_PREFIX: text({
    default: 'ffleet-scratch',
    pattern: '^(?!.*\\.\\.)[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$',
    expected: 'a key prefix such as ffleet-scratch (letters, digits, `._-`, `/` between parts)',
    description:
      "where chunked encodes keep pieces and chunks until the join, in the output's bucket (see docs/pipelines.md)",
  }),
  FFLEET_METRICS_BUCKET: optional(
    text({
      description: 'where quality and timing records go (`metrics/…`)',
      documentedDefault: "the bucket of the job's first output",
    }),
  ),
});

/** A worker's settings, read once at start. */
export interface WorkerConfig {
  fleet: FleetConfig;
  pool: Pool;
  concurrency: number;
  workRoot: string;
  shutdownGraceMs: number;
  lockDurationMs: number;
  maxStalledCount: number;
  webhookConcurrency: number;
  maxOutputBytes: number;
  /** How long uploads and their clean-up retry an S3 that does not answer. */
  uploadRetrySeconds: number;
  ffmpegLimits: FfmpegLimits;
  /** Longest input a job may give, in seconds; 0: no limit. */
  maxInputSeconds: number;
  ffmpegPath: string;
  ffprobePath: string;
  /** Port of /healthz, /readyz and /metrics; 0 disables the server. */
  httpPort: number;
  httpHost: string;
  logLevel: string;
  /** Measure quality for jobs that do not say (a job's `quality` overrides it). */
  qualityDefault: boolean;
  /** How quality is measured for jobs that do not ask for a mode. */
  qualityMode: QualityMode;
  /** In sampled mode, on a clip too short for windows, compare every n-th frame of the output. */
  qualitySubsample: number;
  /** Bucket for quality and timing records; unset: the bucket of the job's first output. */
  metricsBucket?: string;
  scratchPrefix: string;
}

export function loadWorkerConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const values = readSettings(WorkerSettings, env);
  const fleet = fleetConfigFrom(values);
  const pool = fleet.pools.get(values.POOL);
  if (!pool)
    throw new ConfigError([
      `POOL must be one of ${fleet.pools.pools.map((p) => p.name).join(', ')} (the pool registry), got "${values.POOL}"`,
    ]);
  const concurrency = values.FFLEET_CONCURRENCY ?? pool.concurrency;
  return {
    fleet,
    pool,
    concurrency,
    workRoot: values.FFLEET_WORK_DIR ?? join(tmpdir(), 'ffleet-work'),
    shutdownGraceMs: values.FFLEET_SHUTDOWN_GRACE_SECONDS * 1000,
    lockDurationMs: values.FFLEET_LOCK_DURATION_MS,
    maxStalledCount: values.FFLEET_MAX_STALLED_COUNT,
    webhookConcurrency: values.FFLEET_WEBHOOK_CONCURRENCY,
    maxOutputBytes: values.FFLEET_MAX_OUTPUT_MB * 1024 * 1024,
    uploadRetrySeconds: values.FFLEET_UPLOAD_RETRY_SECONDS,
    ffmpegLimits: {
      memoryBytes: values.FFLEET_FFMPEG_MEMORY_MB * 1024 * 1024,
      maxAllocBytes: values.FFLEET_FFMPEG_MAX_ALLOC_MB * 1024 * 1024,
      threads: values.FFLEET_FFMPEG_THREADS ?? defaultThreads(concurrency),
      maxOutputPixels: values.FFLEET_MAX_OUTPUT_PIXELS,
    },
    maxInputSeconds: values.FFLEET_MAX_INPUT_SECONDS,
    ffmpegPath: values.FFMPEG_PATH,
    ffprobePath: values.FFPROBE_PATH,
    httpPort: values.FFLEET_WORKER_PORT,
    httpHost: values.FFLEET_WORKER_HOST,
    logLevel: values.LOG_LEVEL,
    qualityDefault: values.FFLEET_QUALITY_DEFAULT,
    qualityMode: values.FFLEET_QUALITY_MODE,
    qualitySubsample: values.FFLEET_QUALITY_SUBSAMPLE,
    metricsBucket: values.FFLEET_METRICS_BUCKET,
    scratchPrefix: values.FFLEET_SCRATCH_PREFIX,
  };
}

/**
 * The thread cap when none is set: the worker's CPUs shared by the jobs it runs at once, so
 * concurrent jobs do not each start a thread per CPU.
 */
export function defaultThreads(concurrency: number, cpus = availableParallelism()): number {
  return Math.max(1, Math.floor(cpus / concurrency));
}
