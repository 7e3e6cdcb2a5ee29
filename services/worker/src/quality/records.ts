import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type {
  ObjectStore,
  PlannedRung,
  QualityRecord,
  StorageUrl,
  TargetQualityResult,
  TimingRecord,
} from '@ffleet/core';
import type { QualityMeasurement } from './measure.ts';

/**
 * The per-job records a worker writes beside a job's outputs, and `ffleet report` reads back.
 * Their format (QualityRecordSchema, TimingRecordSchema) and where they go in the metrics
 * bucket (ffqmKey, timingKey) are defined once in @ffleet/core, for writer and reader alike.
 */
export {
  FFQM_PREFIX,
  ffqmKey,
  METRICS_PREFIX,
  type QualityRecord,
  recordName,
  TIMINGS_PREFIX,
  type TimingRecord,
  timingKey,
} from '@ffleet/core';

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
  job: JobIdentity & {
    referenceUrl: string;
    outputUrl: string;
    target?: TargetQualityResult;
    /** A ladder's rung, when the record measures one. */
    rung?: PlannedRung;
  },
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
      ...(measurement.windows
        ? { windows: measurement.windows.map((w) => ({ first_frame: w.firstFrame, frames: w.frames })) }
        : {}),
      psnr_ceiling_db: measurement.psnrCeilingDb,
      vmaf: measurement.vmafStatus,
      scaled: measurement.scaled,
      ...(measurement.referenceDeinterlaced ? { reference_deinterlaced: true } : {}),
      ...(measurement.referenceToneMapped ? { reference_tone_mapped: measurement.referenceToneMapped } : {}),
      ffmpeg_summary: measurement.ffmpegSummary,
      elapsed_ms: measurement.elapsedMs,
      ...(job.target ? { target_quality: job.target } : {}),
      ...(job.rung
        ? {
            rung: {
              name: job.rung.name,
              width: job.rung.width,
              height: job.rung.height,
              bitrate_kbps: job.rung.bitrateKbps,
            },
          }
        : {}),
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
