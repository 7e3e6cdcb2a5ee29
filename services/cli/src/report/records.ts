import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import {
  FFQM_PREFIX,
  isQualityRecord,
  isTimingRecord,
  partitionDay,
  type QualityRecord,
  qualityRecordProblems,
  recordName,
  type SchemaProblem,
  TIMINGS_PREFIX,
  timingRecordProblems,
} from '@ffleet/core';

/** Where workers write per-job records, and their formats: defined once in @ffleet/core. */
export { FFQM_PREFIX, partitionDay, recordName, TIMINGS_PREFIX };

export const STAGES = ['queue', 'download', 'ffmpeg', 'upload', 'quality', 'total'] as const;
export type StageName = (typeof STAGES)[number];

/** One job attempt as the report sees it, from its timing record and (if any) quality record. */
export interface JobRow {
  key: string;
  jobId: string;
  jobName: string;
  pool: string;
  instanceType: string;
  state: string;
  finishedAt?: Date;
  /** Seconds per stage. */
  stages: Partial<Record<StageName, number>>;
  mediaDurationSeconds?: number;
  speed?: number;
  psnr?: number;
  ssim?: number;
  vmaf?: number;
  /** Why VMAF was not measured, when the worker said so. */
  vmafUnavailable?: string;
}

/** One rung of a ladder job, measured against its source: from its quality record (`<pool>_<jobId>.<rung>`). */
export interface RungRow {
  key: string;
  jobId: string;
  pool: string;
  /** The rung's name (`720p-3000k`, `720p-3000k-hdr`), the same in every ladder that has it. */
  rung: string;
  width: number;
  height: number;
  bitrateKbps: number;
  psnr?: number;
  ssim?: number;
  vmaf?: number;
}

export interface LoadOptions {
  client: S3Client;
  bucket: string;
  /** Only jobs that finished on or after this UTC day. */
  since?: Date;
  /** Only jobs that finished on or before this UTC day. */
  until?: Date;
  pools?: readonly string[];
  /** Parallel GETs. */
  concurrency?: number;
}

export interface LoadResult {
  rows: JobRow[];
  /** Every measured rung of the ladder jobs in the selection. */
  rungs: RungRow[];
  /**
   * Records that were listed but could not be used, and why: a timing record that is not one
   * leaves its job out; a quality record that is not one leaves the job without quality.
   */
  skipped: { key: string; reason: string }[];
}

/**
 * Reads every timing record under `metrics/timings/` (within the date range) and joins each
 * with its quality record under `metrics/ffqm/` when the timing record has no quality summary.
 * Records are data from S3, not trusted code: each is checked against its schema first.
 */
export async function loadJobRows(options: LoadOptions): Promise<LoadResult> {
  const [timingKeys, ffqmKeys] = await Promise.all([
    listKeys(options.client, options.bucket, TIMINGS_PREFIX),
    listKeys(options.client, options.bucket, FFQM_PREFIX),
  ]);
  const inRange = (key: string) => {
    const day = partitionDay(key);
    if (!day) return !options.since && !options.until;
    return (
      (!options.since || day >= startOfDay(options.since)) &&
      (!options.until || day <= startOfDay(options.until))
    );
  };
  const ffqmByName = new Map(ffqmKeys.filter(inRange).map((key) => [recordName(key), key]));
  const skipped: LoadResult['skipped'] = [];
  const selected = (pool: string) => !options.pools?.length || options.pools.includes(pool);
  const rows = await mapLimit(timingKeys.filter(inRange), options.concurrency ?? 16, async (key) => {
    let row: JobRow;
    try {
      row = rowFromTiming(key, await getJson(options.client, options.bucket, key));
    } catch (error) {
      skipped.push({ key, reason: (error as Error).message });
      return undefined;
    }
    if (!selected(row.pool)) return undefined;
    const ffqmKey = ffqmByName.get(recordName(key));
    if (row.psnr === undefined && ffqmKey) {
      try {
        Object.assign(row, qualityFromFfqm(await getJson(options.client, options.bucket, ffqmKey)));
      } catch (error) {
        skipped.push({ key: ffqmKey, reason: (error as Error).message });
      }
    }
    return row;
  });
  // A ladder writes one quality record per rung, named after the job and the rung.
  const rungKeys = [...ffqmByName].flatMap(([name, key]) => (name.includes('.') ? [key] : []));
  const rungs = await mapLimit(rungKeys, options.concurrency ?? 16, async (key) => {
    try {
      const row = rungFromFfqm(key, await getJson(options.client, options.bucket, key));
      return selected(row.pool) ? row : undefined;
    } catch (error) {
      skipped.push({ key, reason: (error as Error).message });
      return undefined;
    }
  });
  return {
    rows: rows.filter((row): row is JobRow => row !== undefined),
    rungs: rungs.filter((row): row is RungRow => row !== undefined),
    skipped,
  };
}

export async function listKeys(client: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const object of page.Contents ?? []) if (object.Key?.endsWith('.json')) keys.push(object.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

async function getJson(client: S3Client, bucket: string, key: string): Promise<unknown> {
  const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const text = await response.Body?.transformToString('utf8');
  if (!text) throw new Error('empty object');
  return JSON.parse(text);
}

function startOfDay(date: Date): Date {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
}

const describe = (problems: SchemaProblem[]) => problems.map((p) => `${p.path} ${p.message}`).join('; ');

/** A job attempt from its timing record, once the record is checked against TimingRecordSchema. */
export function rowFromTiming(key: string, data: unknown): JobRow {
  if (!isTimingRecord(data)) throw new Error(`not a timing record: ${describe(timingRecordProblems(data))}`);
  const stages: JobRow['stages'] = {};
  for (const stage of STAGES) {
    const ms = data.stages_ms[stage];
    if (ms !== undefined) stages[stage] = ms / 1000;
  }
  return {
    key,
    jobId: data.job_id,
    jobName: data.job_name || '(unnamed)',
    pool: data.pool,
    instanceType: data.instance_type || 'unknown',
    state: data.state,
    finishedAt: new Date(data.finished_at),
    stages,
    mediaDurationSeconds: data.media_duration_seconds,
    speed: data.speed,
    psnr: data.quality?.psnr,
    ssim: data.quality?.ssim,
    vmaf: data.quality?.vmaf,
    vmafUnavailable: data.quality?.vmaf_unavailable || undefined,
  };
}

/** Averages from a quality record's `global` block, once it is checked against QualityRecordSchema. */
export function qualityFromFfqm(data: unknown): Pick<JobRow, 'psnr' | 'ssim' | 'vmaf' | 'vmafUnavailable'> {
  checkQualityRecord(data);
  return {
    ...averagesOf(data),
    vmafUnavailable: data.ffleet.vmaf.available ? undefined : data.ffleet.vmaf.reason,
  };
}

/** Throws, naming the problems, when `data` is not a quality record (QualityRecordSchema). */
function checkQualityRecord(data: unknown): asserts data is QualityRecord {
  if (!isQualityRecord(data))
    throw new Error(`not a quality record: ${describe(qualityRecordProblems(data))}`);
}

/** A checked quality record's mean PSNR, SSIM and VMAF. */
function averagesOf(record: QualityRecord): Pick<JobRow, 'psnr' | 'ssim' | 'vmaf'> {
  return {
    psnr: record.global.psnr.psnr_avg?.average,
    ssim: record.global.ssim.ssim_avg?.average,
    vmaf: record.global.vmaf?.vmaf?.average,
  };
}

/** A ladder's rung from its quality record, once the record is checked against QualityRecordSchema. */
export function rungFromFfqm(key: string, data: unknown): RungRow {
  checkQualityRecord(data);
  const rung = data.ffleet.rung;
  if (!rung) throw new Error("not a rung's quality record: it names no rung");
  return {
    key,
    jobId: data.ffleet.job_id,
    pool: data.ffleet.pool,
    rung: rung.name,
    width: rung.width,
    height: rung.height,
    bitrateKbps: rung.bitrate_kbps,
    ...averagesOf(data),
  };
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  });
  await Promise.all(lanes);
  return results;
}
