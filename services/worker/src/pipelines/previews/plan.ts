import { mkdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  checkDecodablePictures,
  FfleetError,
  hdrColourOf,
  inputPath,
  type JobData,
  type PiecesRead,
  type PreviewsPlan,
  pictureArgs,
  piecesRead,
  planPreviews,
  previewsChildId,
  previewsSettings,
  SPAN,
  sheetJobSpec,
  sheetSpan,
  snippetJobSpec,
  snippets,
  spriteSheets,
} from '@ffleet/core';
import { checkToneMapping } from '../../ffmpeg/filters.ts';
import { runLimitedFfmpeg } from '../../ffmpeg/limits.ts';
import type { JobContext } from '../../pipeline/context.ts';
import { FfmpegFailedError } from '../../pipeline/errors.ts';
import { stage } from '../../pipeline/stage.ts';
import { downloadInputs } from '../../pipeline/stages/download.ts';
import type { ChildJob, Flow } from '../flow.ts';
import { jobScratchFolder } from '../parent-job.ts';
import { analyse, STEP_TIMEOUT_MS } from '../split/plan.ts';
import { type PieceChild, putPieces } from './pieces.ts';
import { uploadFiles } from './upload-files.ts';

/**
 * The plan step: the source downloaded and analysed, the times resolved and every size
 * decided; the still pictures (thumbnails, poster) made from the downloaded source and
 * uploaded; then one child per sprite sheet and one per snippet, each added as soon as its
 * piece of the source is in scratch (a child downloads its span, not the whole source) and
 * writing into the output folder. The children are added before the plan is stored: a worker
 * lost in between makes the next one plan again, and the same ids add nothing.
 */
export async function planPreviewsJob(
  ctx: JobContext,
  flow: Flow,
  planned: (plan: PreviewsPlan) => void,
): Promise<void> {
  await downloadInputs(ctx);
  const media = await stage(ctx, 'analyse', () => analyse(ctx, { hdr10: true }));
  const video = media.video;
  if (!video) throw new FfleetError('no_video', 'the input has no video stream to make previews of', 422);
  checkDecodablePictures(video.dolbyVision, 'previews');
  const hdr = hdrColourOf(video.colour, video.hdr10);
  await checkToneMapping(ctx.deps.ffmpegPath, hdr, 'previews');
  const folder = ctx.spec.outputs[0]!.url;
  const plan = planPreviews(
    previewsSettings(ctx.spec.previews!),
    {
      width: video.width,
      height: video.height,
      rotation: video.rotation,
      sampleAspectRatio: video.sampleAspectRatio,
      interlaced: video.interlaced,
      ...(hdr ? { hdr } : {}),
      durationSeconds: video.endSeconds - video.startSeconds,
      lastFrameSeconds: (video.frameTimes.at(-1) ?? video.startSeconds) - video.startSeconds,
    },
    folder,
    jobScratchFolder(ctx),
  );
  planned(plan);
  const sheets = spriteSheets(plan);
  const parts = snippets(plan);
  ctx.jobSpan.setAttributes({ [SPAN.sheets]: sheets.length, [SPAN.snippets]: parts.length });

  await makePictures(ctx, plan);
  const children = childrenOf(ctx, plan, piecesRead(ctx.plan, { ...video, ...(hdr ? { hdr } : {}) }));
  await stage(ctx, 'split', () => putPieces(ctx, video, children, (added) => flow.addChildren(added)), {
    percent: 100,
  });
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

/**
 * The still pictures (thumbnails, poster), made from the downloaded source and uploaded; each
 * picture's size goes in the plan.
 */
async function makePictures(ctx: JobContext, plan: PreviewsPlan): Promise<void> {
  if (plan.pictures.length === 0) return;
  const out = ctx.layout.outputDir(0);
  await stage(ctx, 'ffmpeg', async () => {
    const source = inputPath(ctx.plan, ctx.layout, 0);
    for (const picture of plan.pictures) {
      const file = join(out, picture.file);
      await mkdir(dirname(file), { recursive: true });
      const run = await runLimitedFfmpeg(ctx.deps.ffmpegLimits, {
        binary: ctx.deps.ffmpegPath,
        argv: pictureArgs(source, plan, picture, file),
        cwd: ctx.workDir,
        timeoutMs: STEP_TIMEOUT_MS,
        signal: ctx.signal,
      });
      ctx.throwIfAborted();
      if (run.exitCode !== 0) throw new FfmpegFailedError(run.exitCode, run.stderrTail);
      // A seek that found no frame writes nothing: say so rather than publish a hole.
      const made = await stat(file).catch(() => undefined);
      if (!made?.size) throw new FfmpegFailedError(0, [`no frame at ${picture.time} s for ${picture.file}`]);
    }
  });
  const files = plan.pictures.map((p) => p.file);
  const uploaded = await stage(ctx, 'upload', () => uploadFiles(ctx, files, out));
  for (const picture of plan.pictures) picture.bytes = uploaded.get(picture.file);
}

/** One child per sheet, then one per snippet (in order: the first a viewer scrubs to first). */
function childrenOf(ctx: JobContext, plan: PreviewsPlan, read: PiecesRead): PieceChild[] {
  const parentId = ctx.job.id;
  const base = {
    pool: ctx.job.data.pool,
    submittedAt: Date.now(),
    ...(ctx.job.data.traceparent ? { traceparent: ctx.job.data.traceparent } : {}),
  };
  const children: PieceChild[] = [];
  for (const sheet of spriteSheets(plan)) {
    const span = sheetSpan(sheet);
    const data: JobData = {
      ...base,
      spec: sheetJobSpec(ctx.spec, plan, sheet, read),
      role: { kind: 'sheet', parentId, index: sheet.index, durationSeconds: span.durationSeconds },
    };
    children.push({ child: childJob(previewsChildId.sheet(parentId, sheet.index), data), span });
  }
  for (const snippet of snippets(plan)) {
    const data: JobData = {
      ...base,
      spec: snippetJobSpec(ctx.spec, plan, snippet, read),
      role: { kind: 'snippet', parentId, index: snippet.index, durationSeconds: snippet.durationSeconds },
    };
    children.push({ child: childJob(previewsChildId.snippet(parentId, snippet.index), data), span: snippet });
  }
  return children;
}

const childJob = (id: string, data: JobData): ChildJob => ({ id, name: data.spec.name, data });
