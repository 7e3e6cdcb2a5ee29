import { type JobResult, ladderPlaylists, ladderSettings } from '@ffleet/core';
import { ffqmKey, qualityRecord, timingKey, timingRecord } from '../../quality/records.ts';
import type { JobContext } from '../context.ts';
import { metricsBucketFor, writeRecord } from '../job-records.ts';

/** Writes one record to the metrics bucket; its URL, or undefined (logged) when the write failed. */
type RecordWriter = (key: string, value: unknown) => Promise<string | undefined>;

/** Who made a record: the job, its pool, the worker and the attempt, where it ran. */
type RecordIdentity = ReturnType<typeof identityOf>;

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
  const identity = identityOf(ctx);
  const write: RecordWriter = async (key, value) => {
    try {
      return await writeRecord(deps.storage, bucket, key, value, deps.workRoot);
    } catch (error) {
      ctx.log.warn({ err: error, key }, 'could not write a job record');
      return undefined;
    }
  };
  const succeeded = state === 'succeeded';
  const measurement = succeeded ? facts.quality?.measurement : undefined;
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
  if (succeeded) await writeRungRecords(ctx, write, identity, at);
  return urls;
}

function identityOf({ deps, spec, job }: JobContext) {
  return {
    ...deps.placement,
    jobId: job.id,
    jobName: spec.name,
    pool: job.data.pool,
    worker: deps.workerId,
    attempt: job.attemptsStarted,
  };
}

/** A ladder's measured rungs: one quality record each, `<pool>_<jobId>.<rung>.json`, its URL kept with the rung. */
async function writeRungRecords(
  { spec, facts }: JobContext,
  write: RecordWriter,
  identity: RecordIdentity,
  at: Date,
): Promise<void> {
  const rungs = (facts.rungQuality ?? []).filter((r) => r.measurement);
  if (rungs.length === 0) return;
  const output = spec.outputs[0]!.url;
  const hls = ladderSettings(spec.ladder!).hlsSegmentSeconds !== undefined;
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
}
