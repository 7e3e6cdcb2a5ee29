import { mkdir, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import {
  type PreviewsSpan,
  parseStorageUrl,
  previewsPieceArgs,
  probeInputArgs,
  type VideoTrack,
} from '@ffleet/core';
import { runLimitedFfmpeg } from '../../ffmpeg/limits.ts';
import type { JobContext } from '../../pipeline/context.ts';
import { FfmpegFailedError } from '../../pipeline/errors.ts';
import { inBatches } from '../../pipeline/in-batches.ts';
import type { ChildJob } from '../flow.ts';
import { PARALLEL_TRANSFERS, STEP_TIMEOUT_MS } from '../split/plan.ts';

/** A child (whose input is its piece's scratch URL) and the span of the source its piece holds. */
export interface PieceChild {
  child: ChildJob;
  span: PreviewsSpan;
}

/**
 * Cuts each child's piece out of the downloaded source (stream copy) and puts it in scratch, a
 * few at a time in the order given; `added` is told of each batch whose pieces are up, so those
 * children start while the rest are cut. Each local piece is removed once it is up.
 */
export async function putPieces(
  ctx: JobContext,
  video: VideoTrack,
  children: readonly PieceChild[],
  added: (children: readonly ChildJob[]) => Promise<void>,
): Promise<void> {
  const dir = join(ctx.workDir, 'pieces');
  await mkdir(dir, { recursive: true });
  const input = probeInputArgs(ctx.plan, ctx.layout, 0);
  const sizes = await inBatches(
    children,
    PARALLEL_TRANSFERS,
    async ({ child, span }) => {
      const url = child.data.spec.inputs[0]!.url;
      const file = join(dir, basename(url));
      const run = await runLimitedFfmpeg(ctx.deps.ffmpegLimits, {
        binary: ctx.deps.ffmpegPath,
        argv: previewsPieceArgs(input, video, span, file),
        cwd: ctx.workDir,
        timeoutMs: STEP_TIMEOUT_MS,
        signal: ctx.signal,
      });
      ctx.throwIfAborted();
      if (run.exitCode !== 0) throw new FfmpegFailedError(run.exitCode, run.stderrTail);
      const bytes = await ctx.deps.storage.upload(
        file,
        parseStorageUrl(url, ctx.deps.config.urlPolicy),
        ctx.signal,
      );
      await rm(file, { force: true });
      return bytes;
    },
    (batch) => added(batch.map((c) => c.child)),
  );
  ctx.facts.outputBytes = sizes.reduce((sum, size) => sum + size, 0);
}
