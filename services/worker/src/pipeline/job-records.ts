import {
  formatStorageUrl,
  type JobSpec,
  type ObjectStore,
  parseStorageUrl,
  type UrlPolicy,
} from '@ffleet/core';
import { metricsObjectUrl, writeJsonRecord } from '../quality/records.ts';

/** A record write may not hold a job for longer than this (a slow or dead S3 must not). */
const WRITE_TIMEOUT_MS = 15_000;

/**
 * The bucket a job's quality and timing records go to: the fleet's metrics bucket, else the
 * bucket of the job's first output (which the worker can write by definition). Undefined when
 * neither is an S3 bucket, e.g. a file:// output on a fleet without FFLEET_METRICS_BUCKET.
 */
export function metricsBucketFor(
  spec: JobSpec,
  configured: string | undefined,
  policy: UrlPolicy,
): string | undefined {
  if (configured) return configured;
  try {
    const first = parseStorageUrl(spec.outputs[0]!.url, policy);
    return first.scheme === 's3' ? first.bucket : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Writes one JSON record to `s3://<bucket>/<key>` through the job's storage, staged in
 * `scratchDir`. Returns its URL. Bounded in time; the caller decides what a failure means.
 */
export async function writeRecord(
  store: ObjectStore,
  bucket: string,
  key: string,
  value: unknown,
  scratchDir: string,
): Promise<string> {
  const url = metricsObjectUrl(bucket, key);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`writing ${formatStorageUrl(url)} took over ${WRITE_TIMEOUT_MS} ms`)),
      WRITE_TIMEOUT_MS,
    );
  });
  try {
    await Promise.race([writeJsonRecord(store, url, value, scratchDir), timeout]);
  } finally {
    clearTimeout(timer);
  }
  return formatStorageUrl(url);
}
