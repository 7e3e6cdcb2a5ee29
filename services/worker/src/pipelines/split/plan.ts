import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  analyseMedia,
  audioJobSpec,
  type Chunk,
  chunkJobSpec,
  FfleetError,
  ffmpegOutput,
  inputPath,
  type JobData,
  longestFirst,
  type MediaAnalysis,
  PROBE_PACKETS_ARGS,
  PROBE_STREAMS_ARGS,
  parseStorageUrl,
  planSplit,
  probeInputArgs,
  SPAN,
  type SplitJob,
  type SplitPlan,
  scratchFolder,
  splitChildId,
  splitJobOf,
  splitScratch,
  splitSourceArgs,
} from '@ffleet/core';
import { runLimitedFfmpeg } from '../../ffmpeg/limits.ts';
import type { JobContext } from '../../pipeline/context.ts';
import { FfmpegFailedError } from '../../pipeline/errors.ts';
import { stage } from '../../pipeline/stage.ts';
import { downloadInputs } from '../../pipeline/stages/download.ts';
import type { ChildJob, Flow } from '../flow.ts';

/** How long probing and splitting may take: stream copies of the whole source. */
export const STEP_TIMEOUT_MS = 3 * 3600 * 1000;

/**
 * The plan step: the source downloaded and analysed, the chunks planned at its keyframes,
 * the pieces and the audio cut by stream copy and put in scratch, then one child per chunk
 * (longest first) and one for the audio. The children are added before the plan is stored, so
 * a worker lost in between only makes the next one plan again (the same ids add nothing).
 */
export async function planAndSplit(
  ctx: JobContext,
  flow: Flow,
  planned: (plan: SplitPlan) => void,
): Promise<void> {
  await downloadInputs(ctx);
  const job = splitJobOf(ctx.spec, ctx.plan);
  const media = await stage(ctx, 'analyse', () => analyse(ctx));
  const output = parseStorageUrl(ctx.spec.outputs[0]!.url, ctx.deps.config.urlPolicy);
  const plan = planSplit(
    job,
    media,
    scratchFolder(output, ctx.deps.scratchPrefix ?? 'ffleet-scratch', ctx.job.id),
  );
  planned(plan);
  ctx.jobSpan.setAttributes({ [SPAN.chunks]: plan.chunks.length, [SPAN.frames]: totalFrames(plan) });
  const audio = plan.audioStartSeconds !== undefined;
  const pieces = await stage(ctx, 'split', () => cutPieces(ctx, media, plan.chunks, audio));
  await stage(ctx, 'upload', () => uploadPieces(ctx, plan, plan.chunks, pieces, audio), { percent: 100 });
  await flow.addChildren(childrenOf(ctx, job, media, plan));
  ctx.timings.total = Math.round(performance.now() - ctx.started);
  await flow.saveState({
    kind: 'split',
    step: 'join',
    plan,
    planTimings: { ...ctx.timings },
    planFinishedAt: Date.now(),
  });
  ctx.log.info({ chunks: plan.chunks.length, frames: totalFrames(plan) }, 'chunks queued');
}

export const totalFrames = (plan: SplitPlan) => plan.chunks.reduce((sum, c) => sum + c.frames, 0);

/** The source's streams and video packets, read with ffprobe. */
export async function analyse(ctx: JobContext): Promise<MediaAnalysis> {
  const input = probeInputArgs(ctx.plan, ctx.layout, 0);
  const options = { timeoutMs: STEP_TIMEOUT_MS, signal: ctx.signal };
  const [streams, packets] = await Promise.all([
    ffmpegOutput(ctx.deps.ffprobePath, [...PROBE_STREAMS_ARGS, ...input], options),
    ffmpegOutput(ctx.deps.ffprobePath, [...PROBE_PACKETS_ARGS, ...input], options),
  ]);
  const media = analyseMedia(streams, packets);
  if (media.video) ctx.facts.mediaDurationSeconds = media.video.endSeconds - media.video.startSeconds;
  return media;
}

/**
 * Cuts the source into one piece per chunk (and, with `audio`, extracts its audio), both by
 * stream copy. Returns the folder of the pieces.
 */
export async function cutPieces(
  ctx: JobContext,
  media: MediaAnalysis,
  chunks: readonly Chunk[],
  audio: boolean,
): Promise<string> {
  const dir = join(ctx.workDir, 'pieces');
  await mkdir(dir, { recursive: true });
  const argv = splitSourceArgs(inputPath(ctx.plan, ctx.layout, 0), media, chunks, {
    piecePattern: join(dir, '%06d.nut'),
    ...(audio ? { audio: join(ctx.workDir, 'audio-source.nut') } : {}),
  });
  const run = await runLimitedFfmpeg(ctx.deps.ffmpegLimits, {
    binary: ctx.deps.ffmpegPath,
    argv,
    cwd: ctx.workDir,
    timeoutMs: STEP_TIMEOUT_MS,
    signal: ctx.signal,
  });
  ctx.throwIfAborted();
  if (run.exitCode !== 0) throw new FfmpegFailedError(run.exitCode, run.stderrTail);
  const cut = (await readdir(dir)).length;
  if (cut !== chunks.length)
    throw new FfleetError(
      'chunk_mismatch',
      `cutting the source at its keyframes gave ${cut} pieces where the plan has ${chunks.length}`,
      422,
    );
  return dir;
}

/** Puts the pieces (and the extracted audio) in the job's scratch folder, under their planned names. */
export async function uploadPieces(
  ctx: JobContext,
  scratch: { scratch: string },
  chunks: readonly Chunk[],
  dir: string,
  audio: boolean,
): Promise<void> {
  const { storage, config } = ctx.deps;
  const put = (file: string, url: string) =>
    storage.upload(file, parseStorageUrl(url, config.urlPolicy), ctx.signal);
  let bytes = 0;
  for (const chunk of chunks)
    bytes += await put(
      join(dir, `${String(chunk.index).padStart(6, '0')}.nut`),
      splitScratch.piece(scratch, chunk.index),
    );
  if (audio) bytes += await put(join(ctx.workDir, 'audio-source.nut'), splitScratch.audioSource(scratch));
  ctx.facts.outputBytes = bytes;
}

/** One ordinary job per chunk (longest first) and one for the audio, each knowing its role. */
function childrenOf(ctx: JobContext, job: SplitJob, media: MediaAnalysis, plan: SplitPlan): ChildJob[] {
  const parentId = ctx.job.id;
  const base = { pool: ctx.job.data.pool, submittedAt: Date.now() };
  const traceparent = ctx.job.data.traceparent ? { traceparent: ctx.job.data.traceparent } : {};
  const chunk = (c: Chunk): ChildJob => {
    const data: JobData = {
      ...base,
      ...traceparent,
      spec: chunkJobSpec(job, media, plan, c),
      role: {
        kind: 'chunk',
        parentId,
        index: c.index,
        durationSeconds: c.endSeconds - c.startSeconds,
        // With a new frame rate the count is the encoder's; the join's duration check still holds.
        ...(job.split.changesFrameRate ? {} : { frames: c.frames }),
      },
    };
    return { id: splitChildId.chunk(parentId, c.index), name: data.spec.name, data };
  };
  const children = longestFirst(plan.chunks).map(chunk);
  if (plan.audioStartSeconds !== undefined) {
    const spec = audioJobSpec(job, plan);
    children.push({
      id: splitChildId.audio(parentId),
      name: spec.name,
      data: {
        ...base,
        ...traceparent,
        spec,
        role: { kind: 'audio', parentId, durationSeconds: plan.videoEndSeconds - plan.videoStartSeconds },
      },
    });
  }
  return children;
}
