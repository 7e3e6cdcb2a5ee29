import { join } from 'node:path';
import { childUrl, formatStorageUrl, parseStorageUrl } from '@ffleet/core';
import type { JobContext } from '../../pipeline/context.ts';
import { publishing } from '../../pipeline/publish.ts';

/**
 * Uploads files of a local folder into the job's output folder, some at a time; returns bytes
 * by path. A failure removes what this call wrote.
 */
export async function uploadFiles(
  ctx: JobContext,
  files: readonly string[],
  localFolder: string,
): Promise<Map<string, number>> {
  const target = parseStorageUrl(ctx.spec.outputs[0]!.url, ctx.deps.config.urlPolicy);
  const uploaded = await publishing(ctx, (publication) =>
    publication.folder(
      target,
      files.map((file) => ({ path: join(localFolder, file), relativePath: file })),
    ),
  );
  const bytes = new Map(uploaded.map((u) => [u.url, u.bytes]));
  return new Map(files.map((file) => [file, bytes.get(formatStorageUrl(childUrl(target, file)))!]));
}
