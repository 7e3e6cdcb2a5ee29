import { mkdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  FfleetError,
  inputPath,
  type JobData,
  type PreviewsPlan,
  pictureArgs,
  planPreviews,
  previewsChildId,
  previewsSettings,
  SPAN,
  sheetJobSpec,
  snippetJobSpec,
  snippets,
  spriteSheets,
} from '@ffleet/core';
import { runLimitedFfmpeg } from '../../ffmpeg/limits.ts';
import type { JobContext } from '../../pipeline/context.ts';
import { FfmpegFailedError } from '../../pipeline/errors.ts';
import { stage } from '../../pipeline/stage.ts';
import { downloadInputs } from '../../pipeline/stages/download.ts';
import type { ChildJob, Flow } from '../flow.ts';
import { analyse, STEP_TIMEOUT_MS } from '../split/plan.ts';
import { uploadFiles } from './upload-files.ts';

/**
 * The plan step: the source downloaded and analysed, the times resolved and every size
 * decided; the still pictures (thumbnails, poster) made from the downloaded source and
 * uploaded; then one child per sprite sheet and one per snippet (each reads its own span of
 * the source and writes into the output folder). The children are added before the plan is
 * stored: a worker lost in between makes the next one plan again, and the same ids add nothing.
 */
export async function planPreviewsJob(
  ctx: JobContext,
  flow: Flow,
  planned: (plan: PreviewsPlan) => void,
): Promise<void> {
  await downloadInputs(ctx);
  const media = await stage(ctx, 'analyse', () => analyse(ctx));
  const video = media.video;
  if (!video) throw new FfleetError('no_video', 'the input has no video stream to make previews of', 422);
  const folder = ctx.spec.outputs[0]!.url;
  const plan = planPreviews(
    previewsSettings(ctx.spec.previews!),
    {
      width: video.width,
      height: video.height,
      rotation: video.rotation,
      durationSeconds: video.endSeconds - video.startSeconds,
      lastFrameSeconds: (video.frameTimes.at(-1) ?? video.startSeconds) - video.startSeconds,
    },
    folder,
  );
  planned(plan);
  const sheets = spriteSheets(plan);
  const parts = snippets(plan);
  ctx.jobSpan.setAttributes({ [SPAN.sheets]: sheets.length, [SPAN.snippets]: parts.length });

  if (plan.pictures.length > 0) {
    const out = ctx.layout.outputDir(0);
    await stage(ctx, 'ffmpeg', async () => {
      const source = inputPath(ctx.plan, ctx.layout, 0);
      for (const picture of plan.pictures) {
        const file = join(out, picture.file);
        await mkdir(dirname(file), { recursive: true });
        const run = await runLimitedFfmpeg(ctx.deps.ffmpegLimits, {
          binary: ctx.deps.ffmpegPath,
          argv: pictureArgs(source, picture, file),
          cwd: ctx.workDir,
          timeoutMs: STEP_TIMEOUT_MS,
          signal: ctx.signal,
        });
        ctx.throwIfAborted();
        if (run.exitCode !== 0) throw new FfmpegFailedError(run.exitCode, run.stderrTail);
        // A seek that found no frame writes nothing: say so rather than publish a hole.
        const made = await stat(file).catch(() => undefined);
        if (!made?.size)
          throw new FfmpegFailedError(0, [`no frame at ${picture.time} s for ${picture.file}`]);
      }
    });
    const uploaded = await stage(ctx, 'upload', () =>
      uploadFiles(
        ctx,
        plan.pictures.map((p) => p.file),
        out,
      ),
    );
    for (const picture of plan.pictures) picture.bytes = uploaded.get(picture.file);
  }

  await flow.addChildren(childrenOf(ctx, plan));
  ctx.timings.total = Math.round(performance.now() - ctx.started);
  await flow.saveState({
    kind: 'previews',
    step: 'manifest',
    plan,
    planTimings: { ...ctx.timings },
    planFinishedAt: Date.now(),
  });
  ctx.log.info(
    { pictures: plan.pictures.length, sheets: sheets.length, snippets: parts.length },
    'previews queued',
  );
}

/** The snippets (in order: the first animations are the first a viewer scrubs to) and the sheets. */
function childrenOf(ctx: JobContext, plan: PreviewsPlan): ChildJob[] {
  const parentId = ctx.job.id;
  const base = {
    pool: ctx.job.data.pool,
    submittedAt: Date.now(),
    ...(ctx.job.data.traceparent ? { traceparent: ctx.job.data.traceparent } : {}),
  };
  const children: ChildJob[] = [];
  for (const sheet of spriteSheets(plan)) {
    const data: JobData = {
      ...base,
      spec: sheetJobSpec(ctx.spec, plan, sheet),
      role: {
        kind: 'sheet',
        parentId,
        index: sheet.index,
        durationSeconds: sheet.endSeconds - sheet.startSeconds,
      },
    };
    children.push({ id: previewsChildId.sheet(parentId, sheet.index), name: data.spec.name, data });
  }
  for (const snippet of snippets(plan)) {
    const data: JobData = {
      ...base,
      spec: snippetJobSpec(ctx.spec, plan, snippet),
      role: { kind: 'snippet', parentId, index: snippet.index, durationSeconds: snippet.durationSeconds },
    };
    children.push({ id: previewsChildId.snippet(parentId, snippet.index), name: data.spec.name, data });
  }
  return children;
}
