import { join } from 'node:path';
import { childUrl, parseStorageUrl } from '@ffleet/core';
import type { JobContext } from '../../pipeline/context.ts';

const PARALLEL_UPLOADS = 8;

/** Uploads files of a local folder into the job's output folder, some at a time; returns bytes by path. */
export async function uploadFiles(
  ctx: JobContext,
  files: readonly string[],
  localFolder: string,
): Promise<Map<string, number>> {
  const target = parseStorageUrl(ctx.spec.outputs[0]!.url, ctx.deps.config.urlPolicy);
  const bytes = new Map<string, number>();
  for (let i = 0; i < files.length; i += PARALLEL_UPLOADS) {
    await Promise.all(
      files.slice(i, i + PARALLEL_UPLOADS).map(async (file) => {
        bytes.set(
          file,
          await ctx.deps.storage.upload(join(localFolder, file), childUrl(target, file), ctx.signal),
        );
      }),
    );
    ctx.throwIfAborted();
  }
  return bytes;
}
