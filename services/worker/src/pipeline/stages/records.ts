import { type JobResult, ladderPlaylists, ladderSettings } from '@ffleet/core';
import { ffqmKey, qualityRecord, timingKey, timingRecord } from '../../quality/records.ts';
import type { JobContext } from '../context.ts';
import { metricsBucketFor, writeRecord } from '../job-records.ts';

/**
 * Writes the attempt's timing record and, when quality was measured, its quality record (a
 * ladder: one per rung), to the metrics bucket. Returns their URLs for the job's result; a
 * rung's is kept with the rung in `facts.rungQuality`. A failed write is logged, never
 * thrown: the records describe the job, they are not its outputs. A failed attempt's record
 * holds its stage times and bytes so far.
 */
export async function writeJobRecords(
  ctx: JobContext,
  state: 'succeeded' | 'failed',
): Promise<Pick<JobResult, 'metricsUrl' | 'timingsUrl'>> {
  const { deps, spec, job, facts } = ctx;
  const urls: Pick<JobResult, 'metricsUrl' | 'timingsUrl'> = {};
  const bucket = metricsBucketFor(spec, deps.metricsBucket, deps.config.urlPolicy);
  if (!bucket) return urls;
  const at = new Date();
  const identity = {
    ...deps.placement,
    jobId: job.id,
    jobName: spec.name,
    pool: job.data.pool,
    worker: deps.workerId,
    attempt: job.attemptsStarted,
  };
  const succeeded = state === 'succeeded';
  const measurement = succeeded ? facts.quality?.measurement : undefined;
  const write = async (key: string, value: unknown): Promise<string | undefined> => {
    try {
      return await writeRecord(deps.storage, bucket, key, value, deps.workRoot);
    } catch (error) {
      ctx.log.warn({ err: error, key }, 'could not write a job record');
      return undefined;
    }
  };
  const [metricsUrl, timingsUrl] = await Promise.all([
    measurement
      ? write(
          ffqmKey(identity.pool, identity.jobId, at),
          qualityRecord(
            measurement,
            {
              ...identity,
              referenceUrl: spec.inputs[0]!.url,
              outputUrl: spec.outputs[0]!.url,
              ...(facts.target ? { target: facts.target } : {}),
            },
            at,
          ),
        )
      : undefined,
    write(
      timingKey(identity.pool, identity.jobId, at),
      timingRecord({
        ...identity,
        state,
        submittedAt: job.data.submittedAt,
        finishedAt: at.getTime(),
        stagesMs: ctx.timings,
        inputBytes: facts.inputBytes,
        outputBytes: facts.outputBytes,
        mediaDurationSeconds: succeeded ? facts.mediaDurationSeconds : undefined,
        speed: succeeded ? facts.speed : undefined,
        quality: measurement,
      }),
    ),
  ]);
  if (metricsUrl) urls.metricsUrl = metricsUrl;
  if (timingsUrl) urls.timingsUrl = timingsUrl;
  // A ladder: one quality record per rung, `<pool>_<jobId>.<rung>.json`, its URL kept with the rung.
  const rungs = succeeded ? (facts.rungQuality ?? []).filter((r) => r.measurement) : [];
  const output = spec.outputs[0]!.url;
  const hls = rungs.length > 0 && ladderSettings(spec.ladder!).hlsSegmentSeconds !== undefined;
  for (const rung of rungs) {
    const url = await write(
      ffqmKey(identity.pool, `${identity.jobId}.${rung.rung.name}`, at),
      qualityRecord(
        rung.measurement!,
        {
          ...identity,
          referenceUrl: spec.inputs[0]!.url,
          outputUrl: `${output}${hls ? ladderPlaylists.rung(rung.rung) : 'manifest.mpd'}`,
          rung: rung.rung,
        },
        at,
      ),
    );
    if (url) rung.metricsUrl = url;
  }
  return urls;
}
