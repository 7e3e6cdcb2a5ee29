import { parseStorageUrl } from '@ffleet/core';
import type { JobContext } from '../../pipeline/context.ts';

const PARALLEL_DELETES = 16;

/**
 * Deletes the scratch objects a pipeline's plan names (never a listing), some at a time. Run
 * when the job ends, whichever way. A failed delete is logged; an S3 lifecycle rule on the
 * scratch prefix is the backstop (docs/pipelines.md).
 */
export async function removeObjects(ctx: JobContext, urls: readonly string[]): Promise<void> {
  for (let i = 0; i < urls.length; i += PARALLEL_DELETES) {
    await Promise.all(
      urls
        .slice(i, i + PARALLEL_DELETES)
        .map((url) =>
          ctx.deps.storage
            .remove(parseStorageUrl(url, ctx.deps.config.urlPolicy))
            .catch((error) => ctx.log.warn({ err: error, url }, 'could not remove a scratch object')),
        ),
    );
  }
}
