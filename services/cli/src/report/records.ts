import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';

/** Where workers write per-job records (see the worker's quality/records.ts for the writer). */
export const FFQM_PREFIX = 'metrics/ffqm/';
export const TIMINGS_PREFIX = 'metrics/timings/';

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
  /** Records that were listed but could not be used, and why. */
  skipped: { key: string; reason: string }[];
}

/**
 * Reads every timing record under `metrics/timings/` (within the date range) and joins each
 * with its quality record under `metrics/ffqm/` when the timing record has no quality summary.
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
  const rows = await mapLimit(timingKeys.filter(inRange), options.concurrency ?? 16, async (key) => {
    try {
      const row = rowFromTiming(key, await getJson(options.client, options.bucket, key));
      if (options.pools && options.pools.length > 0 && !options.pools.includes(row.pool)) return undefined;
      const ffqmKey = ffqmByName.get(recordName(key));
      if (row.psnr === undefined && ffqmKey) {
        Object.assign(row, qualityFromFfqm(await getJson(options.client, options.bucket, ffqmKey)));
      }
      return row;
    } catch (error) {
      skipped.push({ key, reason: (error as Error).message });
      return undefined;
    }
  });
  return { rows: rows.filter((row): row is JobRow => row !== undefined), skipped };
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

/** `<pool>_<jobId>`: the name a job's timing and quality records share. */
export function recordName(key: string): string {
  return (key.split('/').pop() ?? key).replace(/\.json$/, '');
}

/** The UTC day of a `…/year=YYYY/month=MM/day=DD/…` key. */
export function partitionDay(key: string): Date | undefined {
  const m = /year=(\d{4})\/month=(\d{2})\/day=(\d{2})\//.exec(key);
  return m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : undefined;
}

function startOfDay(date: Date): Date {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
}

const num = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) ? value : undefined;
const str = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;

/** A timing record, checked field by field: records are data from S3, not trusted code. */
export function rowFromTiming(key: string, data: unknown): JobRow {
  if (!data || typeof data !== 'object') throw new Error('not a JSON object');
  const r = data as Record<string, unknown>;
  const pool = str(r.pool);
  const jobId = str(r.job_id);
  if (!pool || !jobId) throw new Error('timing record has no pool or job_id');
  const stagesMs = (r.stages_ms && typeof r.stages_ms === 'object' ? r.stages_ms : {}) as Record<
    string,
    unknown
  >;
  const stages: JobRow['stages'] = {};
  for (const stage of STAGES) {
    const ms = num(stagesMs[stage]);
    if (ms !== undefined && ms >= 0) stages[stage] = ms / 1000;
  }
  if (stages.ffmpeg === undefined) throw new Error('timing record has no ffmpeg stage');
  const quality = (r.quality && typeof r.quality === 'object' ? r.quality : {}) as Record<string, unknown>;
  const finished = str(r.finished_at);
  return {
    key,
    jobId,
    jobName: str(r.job_name) ?? '(unnamed)',
    pool,
    instanceType: str(r.instance_type) ?? 'unknown',
    state: str(r.state) ?? 'succeeded',
    finishedAt: finished ? new Date(finished) : undefined,
    stages,
    mediaDurationSeconds: num(r.media_duration_seconds),
    speed: num(r.speed),
    psnr: num(quality.psnr),
    ssim: num(quality.ssim),
    vmaf: num(quality.vmaf),
    vmafUnavailable: str(quality.vmaf_unavailable),
  };
}

/** Averages from an ffqm record's `global` block (ffleet's or the AWS sample's). */
export function qualityFromFfqm(data: unknown): Pick<JobRow, 'psnr' | 'ssim' | 'vmaf' | 'vmafUnavailable'> {
  const record = (data ?? {}) as { global?: unknown; ffleet?: { vmaf?: { reason?: unknown } } };
  const global = (record.global ?? {}) as Record<string, Record<string, { average?: unknown }>>;
  return {
    psnr: num(global.psnr?.psnr_avg?.average),
    ssim: num(global.ssim?.ssim_avg?.average),
    vmaf: num(global.vmaf?.vmaf?.average),
    vmafUnavailable: str(record.ffleet?.vmaf?.reason),
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
