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
  splitChildId,
  splitJobOf,
  splitScratch,
  splitSourceArgs,
} from '@ffleet/core';
import { runLimitedFfmpeg } from '../../ffmpeg/limits.ts';
import { probeFirstFrameHdr10 } from '../../ffmpeg/probe.ts';
import type { JobContext } from '../../pipeline/context.ts';
import { FfmpegFailedError } from '../../pipeline/errors.ts';
import { inBatches } from '../../pipeline/in-batches.ts';
import { stage } from '../../pipeline/stage.ts';
import { downloadInputs } from '../../pipeline/stages/download.ts';
import type { ChildJob, Flow } from '../flow.ts';
import { jobScratchFolder } from '../parent-job.ts';

/** Pieces and chunks moved to and from scratch at once: S3 serves several requests faster than one. */
export const PARALLEL_TRANSFERS = 4;

/** How long probing and splitting may take: stream copies of the whole source. */
export const STEP_TIMEOUT_MS = 3 * 3600 * 1000;

/**
 * The plan step: the source downloaded and analysed, the chunks planned at its keyframes,
 * the pieces and the audio cut by stream copy and put in scratch, one child per chunk added as
 * soon as its piece is up (longest first), and one for the audio right after the first chunks'.
 * The children are added before the plan is stored, so a worker lost in between only makes the
 * next one plan again (the same ids add nothing, the same pieces are put again).
 */
export async function planAndSplit(
  ctx: JobContext,
  flow: Flow,
  planned: (plan: SplitPlan) => void,
): Promise<void> {
  await downloadInputs(ctx);
  const job = splitJobOf(ctx.spec, ctx.plan);
  const media = await stage(ctx, 'analyse', () => analyse(ctx));
  const plan = planSplit(job, media, jobScratchFolder(ctx));
  planned(plan);
  ctx.jobSpan.setAttributes({ [SPAN.chunks]: plan.chunks.length, [SPAN.frames]: totalFrames(plan) });
  const audio = plan.audioStartSeconds !== undefined;
  const pieces = await stage(ctx, 'split', () => cutPieces(ctx, media, plan.chunks, audio));
  // Each chunk's child goes to the queue as soon as its piece is up, longest first, so the
  // pool's other workers start encoding while the rest of the pieces are uploaded. The audio
  // encodes the whole running time in one job, on a long source the longest of all: its source
  // is put first and its child queued right after the first chunks', so it runs in the first
  // round instead of after every chunk, where it would add its whole time to the job's.
  const children = childrenOf(ctx, job, media, plan);
  let audioChild = children.audio;
  await stage(
    ctx,
    'upload',
    () =>
      uploadPieces(ctx, plan, longestFirst(plan.chunks), pieces, audio, (uploaded) => {
        const queued = uploaded.map((chunk) => children.chunks.get(chunk.index)!);
        if (audioChild) queued.push(audioChild);
        audioChild = undefined;
        return flow.addChildren(queued);
      }),
    { percent: 100 },
  );
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

/**
 * The source's streams and video packets, read with ffprobe. With `hdr10` (ladders and previews,
 * which tone-map an HDR source or keep it), a PQ source's HDR10 metadata is read from its first
 * frame when the container has none.
 */
export async function analyse(ctx: JobContext, options: { hdr10?: boolean } = {}): Promise<MediaAnalysis> {
  const input = probeInputArgs(ctx.plan, ctx.layout, 0);
  const run = { timeoutMs: STEP_TIMEOUT_MS, signal: ctx.signal };
  const [streams, packets] = await Promise.all([
    ffmpegOutput(ctx.deps.ffprobePath, [...PROBE_STREAMS_ARGS, ...input], run),
    ffmpegOutput(ctx.deps.ffprobePath, [...PROBE_PACKETS_ARGS, ...input], run),
  ]);
  const media = analyseMedia(streams, packets);
  const video = media.video;
  if (options.hdr10 && video?.colour.transfer === 'smpte2084' && !video.hdr10) {
    const hdr10 = await probeFirstFrameHdr10(ctx.deps.ffprobePath, input, run);
    if (hdr10) video.hdr10 = hdr10;
  }
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

/**
 * Puts the extracted audio (first) and the pieces in the job's scratch folder under their
 * planned names, the pieces a few at a time in the order of `chunks`; `uploaded` is told of each
 * batch of chunks whose pieces are up.
 */
export async function uploadPieces(
  ctx: JobContext,
  scratch: { scratch: string },
  chunks: readonly Chunk[],
  dir: string,
  audio: boolean,
  uploaded?: (chunks: readonly Chunk[]) => Promise<void>,
): Promise<void> {
  const { storage, config } = ctx.deps;
  const put = (file: string, url: string) =>
    storage.upload(file, parseStorageUrl(url, config.urlPolicy), ctx.signal);
  let bytes = audio ? await put(join(ctx.workDir, 'audio-source.nut'), splitScratch.audioSource(scratch)) : 0;
  const sizes = await inBatches(
    chunks,
    PARALLEL_TRANSFERS,
    (chunk) =>
      put(join(dir, `${String(chunk.index).padStart(6, '0')}.nut`), splitScratch.piece(scratch, chunk.index)),
    uploaded,
  );
  bytes += sizes.reduce((sum, size) => sum + size, 0);
  ctx.facts.outputBytes = bytes;
}

/** One ordinary job per chunk (by its index) and one for the audio, each knowing its role. */
function childrenOf(
  ctx: JobContext,
  job: SplitJob,
  media: MediaAnalysis,
  plan: SplitPlan,
): { chunks: Map<number, ChildJob>; audio?: ChildJob } {
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
  const chunks = new Map(plan.chunks.map((c) => [c.index, chunk(c)]));
  if (plan.audioStartSeconds === undefined) return { chunks };
  const spec = audioJobSpec(job, plan);
  const audio: ChildJob = {
    id: splitChildId.audio(parentId),
    name: spec.name,
    data: {
      ...base,
      ...traceparent,
      spec,
      role: { kind: 'audio', parentId, durationSeconds: plan.videoEndSeconds - plan.videoStartSeconds },
    },
  };
  return { chunks, audio };
}
