import { checkInputFiles, inputPath, parseStorageUrl, SPAN } from '@ffleet/core';
import type { JobContext } from '../context.ts';
import { stage } from '../stage.ts';

/**
 * Downloads every input into its own folder of the work dir, then checks the ones that are
 * lists of other files (playlists, concat scripts): they may only name the job's own inputs,
 * and are refused before any ffmpeg tool opens them.
 */
export function downloadInputs(ctx: JobContext): Promise<void> {
  return stage(ctx, 'download', async ({ span }) => {
    const { spec, plan, layout, deps } = ctx;
    const sizes = await Promise.all(
      spec.inputs.map((input, i) =>
        deps.storage.download(
          parseStorageUrl(input.url, deps.config.urlPolicy),
          inputPath(plan, layout, i),
          ctx.signal,
        ),
      ),
    );
    const bytes = sizes.reduce((a, b) => a + b, 0);
    ctx.facts.inputBytes += bytes;
    span.setAttribute(SPAN.inputBytes, bytes);
    ctx.jobSpan.setAttribute(SPAN.inputBytes, ctx.facts.inputBytes);
    ctx.throwIfAborted();
    await checkInputFiles(plan, layout);
  });
}

/**
 * The inputs again, once the outputs are published, to measure them against. Returns why, when
 * they cannot be read: a job is never failed over its quality measurement.
 */
export async function downloadInputsToMeasure(ctx: JobContext): Promise<string | undefined> {
  try {
    await downloadInputs(ctx);
    return undefined;
  } catch (error) {
    ctx.log.warn({ err: error }, 'the inputs could not be read again: quality not measured');
    return (error as Error).message;
  }
}
