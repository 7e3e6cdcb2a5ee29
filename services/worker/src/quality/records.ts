import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ObjectStore, StorageUrl } from '@ffleet/core';
import type { QualityMeasurement } from './measure.ts';
import type { SeriesStats } from './stats.ts';

/**
 * The per-job records a worker writes beside a job's outputs, and `ffleet report` reads back:
 *
 *   metrics/ffqm/year=YYYY/month=MM/day=DD/<pool>_<jobId>.json      quality (PSNR/SSIM/VMAF)
 *   metrics/timings/year=YYYY/month=MM/day=DD/<pool>_<jobId>.json   stage durations and placement
 *
 * Dates are the job's finish time in UTC. The `year=/month=/day=` folders are Hive partitions,
 * so Athena (or any engine reading Hive layouts) can prune by date.
 */
export const METRICS_PREFIX = 'metrics/';
export const FFQM_PREFIX = `${METRICS_PREFIX}ffqm/`;
export const TIMINGS_PREFIX = `${METRICS_PREFIX}timings/`;

/** Keys use only characters safe in S3 keys and Hive partitions; anything else becomes `_`. */
function keyPart(value: string): string {
  const safe = value.replace(/[^A-Za-z0-9._-]/g, '_');
  return safe === '' || safe === '.' || safe === '..' ? '_' : safe;
}

function partition(at: Date): string {
  const yyyy = at.getUTCFullYear();
  const mm = String(at.getUTCMonth() + 1).padStart(2, '0');
  const dd = String(at.getUTCDate()).padStart(2, '0');
  return `year=${yyyy}/month=${mm}/day=${dd}`;
}

export function ffqmKey(pool: string, jobId: string, at: Date): string {
  return `${FFQM_PREFIX}${partition(at)}/${keyPart(pool)}_${keyPart(jobId)}.json`;
}

export function timingKey(pool: string, jobId: string, at: Date): string {
  return `${TIMINGS_PREFIX}${partition(at)}/${keyPart(pool)}_${keyPart(jobId)}.json`;
}

/** `<pool>_<jobId>` of a record key: joins a job's quality and timing records. */
export function recordName(key: string): string {
  return (key.split('/').pop() ?? key).replace(/\.json$/, '');
}

/**
 * Quality record. Field names follow ffmpeg-quality-metrics as the AWS "batch with ffmpeg"
 * sample stores it (`psnr`/`ssim`/`vmaf` per-frame arrays, `global`, `input_file_*`,
 * `AWS_BATCH_*`), so that sample's Glue crawler and Athena views read it unchanged.
 */
export interface QualityRecord {
  /** Per frame: n, mse_avg, mse_y, mse_u, mse_v, psnr_avg, psnr_y, psnr_u, psnr_v (PSNR capped, see psnr_ceiling_db). */
  psnr: Record<string, number>[];
  /** Per frame: n, ssim_y, ssim_u, ssim_v, ssim_avg. */
  ssim: Record<string, number>[];
  /** Per frame: n, vmaf and libvmaf's feature scores; absent when VMAF was not computed. */
  vmaf?: Record<string, number>[];
  global: {
    psnr: Record<string, SeriesStats>;
    ssim: Record<string, SeriesStats>;
    vmaf?: Record<string, SeriesStats>;
  };
  input_file_dist: string;
  input_file_ref: string;
  /** The AWS sample's job id, queue and compute environment: here job id, pool and instance type. */
  AWS_BATCH_JOB_ID: string;
  AWS_BATCH_JQ_NAME: string;
  AWS_BATCH_CE_NAME: string;
  ffleet: {
    version: 1;
    job_id: string;
    job_name?: string;
    pool: string;
    instance_type?: string;
    created_at: string;
    /**
     * Frames compared: every frame in `full` mode; in `sampled` mode every frame of the
     * `windows`, or every `subsample`-th output frame of a video too short for windows.
     */
    frames: number;
    mode: 'sampled' | 'full';
    /** Every how many output frames one was compared: 1 in full mode and inside windows. */
    subsample: number;
    /** The windows compared, in order: the output's frames first_frame to first_frame + frames - 1. */
    windows?: { first_frame: number; frames: number }[];
    /** Identical frames have infinite PSNR; it is recorded as this many dB. */
    psnr_ceiling_db: number;
    vmaf: { available: true; model: string } | { available: false; reason: string };
    /** The output was scaled to the reference's size before comparing. */
    scaled?: { from: string; to: string };
    ffmpeg_summary: { psnr?: Record<string, number>; ssim?: Record<string, number> };
    elapsed_ms: number;
  };
}

/** Stage durations and placement of one job attempt. */
export interface TimingRecord {
  version: 1;
  job_id: string;
  job_name?: string;
  pool: string;
  instance_type?: string;
  capacity_type?: string;
  zone?: string;
  node?: string;
  worker?: string;
  attempt: number;
  state: 'succeeded' | 'failed';
  submitted_at?: string;
  finished_at: string;
  /** Milliseconds per stage; `queue` is submission to start, `total` start to finish. */
  stages_ms: {
    queue?: number;
    download: number;
    ffmpeg: number;
    upload: number;
    quality?: number;
    total: number;
  };
  input_bytes: number;
  output_bytes: number;
  /** Duration of the media ffmpeg wrote, in seconds. */
  media_duration_seconds?: number;
  /** ffmpeg speed, a multiple of real time. */
  speed?: number;
  /** Copy of the quality record's averages, so a report needs only this record. */
  quality?: { psnr?: number; ssim?: number; vmaf?: number; vmaf_unavailable?: string };
}

/** Who ran a job and where: stamped on both records. */
export interface JobIdentity {
  jobId: string;
  jobName?: string;
  pool: string;
  instanceType?: string;
  capacityType?: string;
  zone?: string;
  node?: string;
  worker?: string;
  attempt?: number;
}

export function qualityRecord(
  measurement: QualityMeasurement,
  job: JobIdentity & { referenceUrl: string; outputUrl: string },
  at: Date = new Date(),
): QualityRecord {
  const record: QualityRecord = {
    psnr: measurement.psnr,
    ssim: measurement.ssim,
    global: measurement.global,
    input_file_dist: job.outputUrl,
    input_file_ref: job.referenceUrl,
    AWS_BATCH_JOB_ID: job.jobId,
    AWS_BATCH_JQ_NAME: job.pool,
    AWS_BATCH_CE_NAME: job.instanceType ?? 'unknown',
    ffleet: {
      version: 1,
      job_id: job.jobId,
      job_name: job.jobName,
      pool: job.pool,
      instance_type: job.instanceType,
      created_at: at.toISOString(),
      frames: measurement.frames,
      mode: measurement.mode,
      subsample: measurement.subsample,
      windows: measurement.windows?.map((w) => ({ first_frame: w.firstFrame, frames: w.frames })),
      psnr_ceiling_db: measurement.psnrCeilingDb,
      vmaf: measurement.vmafStatus,
      scaled: measurement.scaled,
      ffmpeg_summary: measurement.ffmpegSummary,
      elapsed_ms: measurement.elapsedMs,
    },
  };
  if (measurement.vmaf) record.vmaf = measurement.vmaf;
  return record;
}

export interface TimingInput extends JobIdentity {
  state: TimingRecord['state'];
  submittedAt?: number;
  finishedAt: number;
  /** Milliseconds per stage, e.g. a JobResult's `timings` plus `quality`. */
  stagesMs: TimingRecord['stages_ms'];
  inputBytes: number;
  outputBytes: number;
  mediaDurationSeconds?: number;
  speed?: number;
  quality?: QualityMeasurement | { unavailable: string };
}

export function timingRecord(input: TimingInput): TimingRecord {
  const record: TimingRecord = {
    version: 1,
    job_id: input.jobId,
    job_name: input.jobName,
    pool: input.pool,
    instance_type: input.instanceType,
    capacity_type: input.capacityType,
    zone: input.zone,
    node: input.node,
    worker: input.worker,
    attempt: input.attempt ?? 1,
    state: input.state,
    submitted_at: input.submittedAt === undefined ? undefined : new Date(input.submittedAt).toISOString(),
    finished_at: new Date(input.finishedAt).toISOString(),
    stages_ms: input.stagesMs,
    input_bytes: input.inputBytes,
    output_bytes: input.outputBytes,
    media_duration_seconds: input.mediaDurationSeconds,
    speed: input.speed,
  };
  const q = input.quality;
  if (q && 'unavailable' in q) record.quality = { vmaf_unavailable: q.unavailable };
  else if (q) {
    record.quality = {
      psnr: q.global.psnr.psnr_avg?.average,
      ssim: q.global.ssim.ssim_avg?.average,
      vmaf: q.global.vmaf?.vmaf?.average,
      vmaf_unavailable: q.vmafStatus.available ? undefined : q.vmafStatus.reason,
    };
  }
  return record;
}

/** Where a record goes: the metrics bucket and a key from `ffqmKey` / `timingKey`. */
export function metricsObjectUrl(bucket: string, key: string): StorageUrl {
  return { scheme: 's3', bucket, key, folder: false };
}

/**
 * Writes a record through the job's storage (S3 in a fleet, file:// in local runs), staged as
 * a file in the job's scratch dir. Returns the bytes written.
 */
export async function writeJsonRecord(
  store: ObjectStore,
  url: StorageUrl,
  value: unknown,
  scratchDir: string,
): Promise<number> {
  const file = join(
    scratchDir,
    `record-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.json`,
  );
  await writeFile(file, JSON.stringify(value));
  try {
    return await store.upload(file, url);
  } finally {
    await rm(file, { force: true });
  }
}
