/**
 * A batch's parent job. The gateway queues it waiting for its items (ordinary jobs of the pool);
 * it reaches a worker once every item has finished, succeeded or not, or was removed by a cancel.
 * Then it writes the result manifest (JSON and CSV, beside the outputs) and ends: succeeded, or
 * cancelled when the batch was. Its final counts are kept in its state for the view and webhook.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type BatchState,
  batchChildId,
  batchItemState,
  contextFromTraceparent,
  countBatchItems,
  inSpan,
  isJobResult,
  type JobResult,
  type ManifestItem,
  manifestCsv,
  NOT_QUEUED,
  type OutputResult,
  PIPELINE_SPAN,
  parseStorageUrl,
  SPAN,
  TRACER_NAME,
} from '@ffleet/core';
import { trace } from '@opentelemetry/api';
import {
  createJobContext,
  type JobContext,
  type PipelineDeps,
  type PipelineJob,
  prepareWorkDir,
  removeWorkDir,
} from '../../pipeline/context.ts';
import { JobCancelledError } from '../../pipeline/errors.ts';
import { inBatches } from '../../pipeline/in-batches.ts';
import { failedAttempt, resultOf } from '../../pipeline/run-job.ts';
import { stage } from '../../pipeline/stage.ts';
import type { BatchRecords } from './batch-records.ts';

/** Failed items' logs read at once. */
const READ_CONCURRENCY = 200;

export async function runBatchJob(
  job: PipelineJob,
  records: BatchRecords,
  deps: PipelineDeps,
  signal: AbortSignal,
): Promise<JobResult> {
  const state = job.data.pipeline as BatchState;
  const tracer = deps.tracer ?? trace.getTracer(TRACER_NAME);
  const attributes = {
    [SPAN.jobId]: job.id,
    [SPAN.pool]: String(job.data.pool ?? ''),
    [SPAN.attempt]: job.attemptsStarted,
  };
  const parent = contextFromTraceparent(job.data.traceparent);
  return inSpan(tracer, PIPELINE_SPAN.manifest, { parent, attributes }, async (span) => {
    const ctx = createJobContext(job, deps, signal, tracer, span);
    try {
      await prepareWorkDir(ctx);
      const cancelled = await records.cancelled();
      const items = await manifestItems(job.id, state, records, cancelled);
      const counts = countBatchItems(
        items.map((i) => i.state),
        items.length,
      );
      await stage(ctx, 'upload', () => writeManifest(ctx, state, items, cancelled), { percent: 100 });
      await records.saveState({ ...state, counts });
      ctx.log.info({ counts }, 'batch finished');
      if (cancelled) throw new JobCancelledError();
      ctx.timings.total = Math.round(performance.now() - ctx.started);
      return resultOf(ctx);
    } catch (error) {
      throw await failedAttempt(ctx, error);
    } finally {
      await removeWorkDir(ctx);
    }
  });
}

/**
 * Every item as it ended. Nothing of a batch runs any more when its parent runs, so an item
 * with no record was removed by a cancel, or never queued (the gateway stopped while adding).
 */
async function manifestItems(
  batchId: string,
  state: BatchState,
  records: BatchRecords,
  cancelled: boolean,
): Promise<ManifestItem[]> {
  const [succeeded, failed] = await Promise.all([records.succeeded(), records.failed()]);
  const items = state.inputs.map((input, index): ManifestItem => {
    const result = succeeded.get(index);
    const failedReason = failed.get(index);
    const itemState = batchItemState(
      { succeeded: succeeded.has(index), running: false, failedReason },
      cancelled,
      true,
    );
    const item: ManifestItem = {
      index,
      jobId: batchChildId.item(batchId, index),
      input,
      state: itemState,
      outputs: isJobResult(result) ? result.outputs.map(outputOf) : [],
    };
    if (itemState === 'failed')
      item.error = failedReason === undefined ? NOT_QUEUED : { code: 'failed', message: failedReason };
    return item;
  });
  // The code each failed item's worker logged (input_missing, ffmpeg_failed, …).
  const failedItems = items.filter((i) => i.state === 'failed' && i.error?.code === 'failed');
  await inBatches(failedItems, READ_CONCURRENCY, async (item) => {
    const failure = await records.failureOf(item.index);
    if (failure) item.error = { code: failure.code, message: failure.message };
  });
  return items;
}

const outputOf = (output: OutputResult) => ({ url: output.url, bytes: output.bytes });

async function writeManifest(
  ctx: JobContext,
  state: BatchState,
  items: ManifestItem[],
  cancelled: boolean,
): Promise<void> {
  const counts = countBatchItems(
    items.map((i) => i.state),
    items.length,
  );
  const manifest = {
    batch: {
      id: ctx.job.id,
      name: ctx.spec.name,
      state: cancelled ? 'cancelled' : 'succeeded',
      finishedAt: new Date().toISOString(),
      counts,
    },
    items,
  };
  const files = [
    { url: state.manifest.json, name: 'manifest.json', text: `${JSON.stringify(manifest, null, 2)}\n` },
    { url: state.manifest.csv, name: 'manifest.csv', text: manifestCsv(items) },
  ];
  for (const file of files) {
    const path = join(ctx.workDir, file.name);
    await writeFile(path, file.text);
    const bytes = await ctx.deps.storage.upload(
      path,
      parseStorageUrl(file.url, ctx.deps.config.urlPolicy),
      ctx.signal,
    );
    ctx.facts.outputs.push({ url: file.url, bytes });
    ctx.facts.outputBytes += bytes;
  }
}
