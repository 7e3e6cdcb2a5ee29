import { lstat } from 'node:fs/promises';
import {
  formatStorageUrl,
  listOutputFiles,
  type OutputResult,
  outputPath,
  parseStorageUrl,
  SPAN,
} from '@ffleet/core';
import type { JobContext } from '../context.ts';
import { FfmpegFailedError } from '../errors.ts';
import { type Publication, publishing } from '../publish.ts';
import { stage } from '../stage.ts';

/**
 * Uploads what ffmpeg wrote into each output's own folder, never the inputs: one object per
 * file output, every file under a folder output (its playlists last). When an upload fails,
 * every object the stage wrote is removed again: a failed job leaves none of its outputs.
 */
export function uploadOutputs(ctx: JobContext): Promise<void> {
  return stage(
    ctx,
    'upload',
    async ({ span }) => {
      const outputs = await publishing(ctx, async (publication) => {
        const done: OutputResult[] = [];
        for (let i = 0; i < ctx.spec.outputs.length; i++) {
          done.push(await uploadOutput(ctx, publication, i));
          ctx.throwIfAborted();
        }
        return done;
      });
      ctx.facts.outputs.push(...outputs);
      ctx.facts.outputBytes = ctx.facts.outputs.reduce((sum, o) => sum + o.bytes, 0);
      span.setAttribute(SPAN.outputBytes, ctx.facts.outputBytes);
      ctx.jobSpan.setAttribute(SPAN.outputBytes, ctx.facts.outputBytes);
    },
    // ffmpeg is done: the job's percent stays at 100 from here on.
    { percent: 100 },
  );
}

async function uploadOutput(ctx: JobContext, publication: Publication, i: number): Promise<OutputResult> {
  const { config } = ctx.deps;
  const target = parseStorageUrl(ctx.spec.outputs[i]!.url, config.urlPolicy);
  if (!target.folder) {
    const file = outputPath(ctx.plan, ctx.layout, i);
    const stat = await lstat(file).catch(() => undefined);
    if (!stat?.isFile()) throw new FfmpegFailedError(0, [`ffmpeg did not write output ${i}`]);
    return publication.file(file, target);
  }
  const files = await listOutputFiles(ctx.layout.outputDir(i));
  if (files.length === 0) throw new FfmpegFailedError(0, ['ffmpeg wrote no files for a folder output']);
  const uploaded = await publication.folder(target, files);
  return {
    url: formatStorageUrl(target),
    bytes: uploaded.reduce((s, f) => s + f.bytes, 0),
    files: uploaded,
  };
}
