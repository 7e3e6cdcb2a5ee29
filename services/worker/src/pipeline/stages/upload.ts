import { lstat } from 'node:fs/promises';
import {
  childUrl,
  formatStorageUrl,
  listOutputFiles,
  type OutputResult,
  outputPath,
  parseStorageUrl,
  SPAN,
} from '@ffleet/core';
import type { JobContext } from '../context.ts';
import { FfmpegFailedError } from '../errors.ts';
import { stage } from '../stage.ts';

/**
 * Uploads what ffmpeg wrote into each output's own folder, never the inputs: one object per
 * file output, every file under a folder output.
 */
export function uploadOutputs(ctx: JobContext): Promise<void> {
  return stage(
    ctx,
    'upload',
    async ({ span }) => {
      for (let i = 0; i < ctx.spec.outputs.length; i++) {
        ctx.facts.outputs.push(await uploadOutput(ctx, i));
        ctx.throwIfAborted();
      }
      ctx.facts.outputBytes = ctx.facts.outputs.reduce((sum, o) => sum + o.bytes, 0);
      span.setAttribute(SPAN.outputBytes, ctx.facts.outputBytes);
      ctx.jobSpan.setAttribute(SPAN.outputBytes, ctx.facts.outputBytes);
    },
    // ffmpeg is done: the job's percent stays at 100 from here on.
    { percent: 100 },
  );
}

async function uploadOutput(ctx: JobContext, i: number): Promise<OutputResult> {
  const { storage, config } = ctx.deps;
  const target = parseStorageUrl(ctx.spec.outputs[i]!.url, config.urlPolicy);
  if (!target.folder) {
    const file = outputPath(ctx.plan, ctx.layout, i);
    const stat = await lstat(file).catch(() => undefined);
    if (!stat?.isFile()) throw new FfmpegFailedError(0, [`ffmpeg did not write output ${i}`]);
    return { url: formatStorageUrl(target), bytes: await storage.upload(file, target, ctx.signal) };
  }
  const files = await listOutputFiles(ctx.layout.outputDir(i));
  if (files.length === 0) throw new FfmpegFailedError(0, ['ffmpeg wrote no files for a folder output']);
  const uploaded = await Promise.all(
    files.map(async (file) => {
      const url = childUrl(target, file.relativePath);
      return { url: formatStorageUrl(url), bytes: await storage.upload(file.path, url, ctx.signal) };
    }),
  );
  return {
    url: formatStorageUrl(target),
    bytes: uploaded.reduce((s, f) => s + f.bytes, 0),
    files: uploaded,
  };
}
