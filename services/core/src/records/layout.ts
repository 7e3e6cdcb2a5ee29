/**
 * Where the per-job records live in the metrics bucket (workers write them, `ffleet report`
 * reads them):
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

/** `<pool>_<jobId>` of a record key: the name a job's quality and timing records share. */
export function recordName(key: string): string {
  return (key.split('/').pop() ?? key).replace(/\.json$/, '');
}

/** The UTC day of a `…/year=YYYY/month=MM/day=DD/…` key. */
export function partitionDay(key: string): Date | undefined {
  const m = /year=(\d{4})\/month=(\d{2})\/day=(\d{2})\//.exec(key);
  return m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : undefined;
}
