import { parseStorageUrl } from '@ffleet/core';
import type { JobContext } from './context.ts';
import { inBatches } from './in-batches.ts';

const PARALLEL_DELETES = 16;

/**
 * Deletes objects the job itself names (a pipeline's scratch from its plan, the outputs an
 * upload wrote), never a listing, some at a time. A failed delete is logged; for scratch, an S3
 * lifecycle rule on its prefix is the backstop (docs/pipelines.md).
 */
export async function removeObjects(ctx: JobContext, urls: readonly string[]): Promise<void> {
  await inBatches(urls, PARALLEL_DELETES, (url) =>
    ctx.deps.storage
      .remove(parseStorageUrl(url, ctx.deps.config.urlPolicy))
      .catch((error) => ctx.log.warn({ err: error, url }, 'could not remove an object')),
  );
}
