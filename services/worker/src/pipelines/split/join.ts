import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import {
  type Chunk,
  checkTargetQuality,
  concatList,
  DEFAULT_TIMEOUT_SECONDS,
  FfleetError,
  joinArgs,
  outputPath,
  parseStorageUrl,
  percentOf,
  SPAN,
  type SplitPlan,
  splitJobOf,
  splitScratch,
} from '@ffleet/core';
import { runLimitedFfmpeg } from '../../ffmpeg/limits.ts';
import { videoStreamLength } from '../../ffmpeg/probe.ts';
import type { JobContext } from '../../pipeline/context.ts';
import { FfmpegFailedError, JobTimeoutError } from '../../pipeline/errors.ts';
import { inBatches } from '../../pipeline/in-batches.ts';
import { stage } from '../../pipeline/stage.ts';
import { downloadInputs, downloadInputsToMeasure } from '../../pipeline/stages/download.ts';
import { jobQualityDecision, measureOutputQuality } from '../../pipeline/stages/quality.ts';
import { uploadOutputs } from '../../pipeline/stages/upload.ts';
import { chunkedTargetResult } from '../../target/chunks.ts';
import { finalScore } from '../../target/search.ts';
import type { Flow } from '../flow.ts';
import { PARALLEL_TRANSFERS, totalFrames } from './plan.ts';

/**
 * The join: the encoded chunks (from the plan's scratch names, never a listing) and the audio
 * downloaded, concatenated by stream copy into the job's output with every chunk at its
 * planned time, checked (frames, duration), uploaded, and measured against the source when
 * quality is on.
 */
export async function joinChunks(ctx: JobContext, plan: SplitPlan, flow: Flow): Promise<void> {
  const dir = join(ctx.workDir, 'join');
  const files = await stage(ctx, 'download', () => downloadChunks(ctx, plan, dir));
  await stage(ctx, 'ffmpeg', async ({ span, setTime }) => {
    const output = outputPath(ctx.plan, ctx.layout, 0);
    const duration = plan.videoEndSeconds - plan.videoStartSeconds;
    const timeoutSeconds = ctx.spec.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
    const run = await runLimitedFfmpeg(ctx.deps.ffmpegLimits, {
      binary: ctx.deps.ffmpegPath,
      argv: joinArgs(splitJobOf(ctx.spec, ctx.plan), plan, { ...files, output }),
      cwd: dir,
      timeoutMs: timeoutSeconds * 1000,
      signal: ctx.signal,
      onProgress: (snapshot) => ctx.report({ stage: 'ffmpeg', percent: percentOf(snapshot, duration) }),
    });
    setTime(run.durationMs);
    ctx.throwIfAborted();
    if (run.stoppedBy === 'timeout') throw new JobTimeoutError(timeoutSeconds, run.stderrTail);
    if (run.exitCode !== 0) throw new FfmpegFailedError(run.exitCode, run.stderrTail);
    await checkJoined(ctx, plan, output);
    span.setAttribute(SPAN.frames, totalFrames(plan));
    ctx.facts.mediaDurationSeconds = duration;
  });
  await uploadOutputs(ctx);
  const quality = jobQualityDecision(ctx);
  const target = ctx.spec.targetQuality && checkTargetQuality(ctx.spec.targetQuality, ctx.plan);
  if (target) await downloadInputs(ctx);
  else if (quality.measure && !quality.notApplicable) {
    const unread = await downloadInputsToMeasure(ctx);
    if (unread) {
      const reason = `the source could not be read again to measure the output: ${unread}`;
      ctx.facts.quality = { summary: { status: 'failed', reason } };
    }
  }
  await measureOutputQuality(ctx);
  if (target) {
    // Each chunk searched its own CRF; the joined video's score is measured on samples.
    const result = chunkedTargetResult(target, ctx.job.id, await flow.childResults());
    await finalScore(ctx, { target, result, scoreMode: 'sampled' });
    ctx.facts.target = result;
  }
}

async function downloadChunks(
  ctx: JobContext,
  plan: SplitPlan,
  dir: string,
): Promise<{ list: string; audio?: string }> {
  const list = await downloadChunkList(
    ctx,
    dir,
    plan.chunks.map((chunk) => ({ url: splitScratch.chunk(plan, chunk.index), chunk })),
  );
  if (plan.audioStartSeconds === undefined) return { list };
  return { list, audio: await download(ctx, dir, splitScratch.audio(plan)) };
}

/** Downloads one object into `dir` under its own name. */
async function download(ctx: JobContext, dir: string, url: string): Promise<string> {
  const file = join(dir, basename(url));
  ctx.facts.inputBytes += await ctx.deps.storage.download(
    parseStorageUrl(url, ctx.deps.config.urlPolicy),
    file,
    ctx.signal,
  );
  return file;
}

/**
 * Downloads encoded chunks (named by the plan, never a listing) into `dir` and writes the
 * ffconcat list that places each at its planned time. Returns the list's path.
 */
export async function downloadChunkList(
  ctx: JobContext,
  dir: string,
  chunks: readonly { url: string; chunk: Chunk }[],
): Promise<string> {
  await mkdir(dir, { recursive: true });
  const files = await inBatches(chunks, PARALLEL_TRANSFERS, async ({ url, chunk }) => ({
    file: basename(await download(ctx, dir, url)),
    chunk,
  }));
  const list = join(dir, 'chunks.ffconcat');
  await writeFile(list, concatList(files));
  return list;
}

/** The joined video holds every planned frame and lasts the source's duration, within a frame. */
async function checkJoined(ctx: JobContext, plan: SplitPlan, output: string): Promise<void> {
  // A job that sets a new frame rate has as many frames as its encoder made: its duration still holds.
  const frames = splitJobOf(ctx.spec, ctx.plan).split.changesFrameRate ? undefined : totalFrames(plan);
  await checkJoinedVideo(ctx, output, {
    ...(frames !== undefined ? { frames } : {}),
    seconds: plan.videoEndSeconds - plan.videoStartSeconds,
    frameRate: plan.frameRate,
  });
}

/** A joined video has the frames (when given) and lasts the seconds it should, within a frame. */
export async function checkJoinedVideo(
  ctx: JobContext,
  output: string,
  expected: { frames?: number; seconds: number; frameRate: number },
): Promise<void> {
  const { frames, seconds } = await videoStreamLength(ctx.deps.ffprobePath, output);
  const planned = expected.frames;
  if (planned !== undefined && frames !== planned)
    throw new FfleetError(
      'chunk_mismatch',
      `the joined video has ${frames} frames where the plan has ${planned}`,
      422,
      { planned, frames },
    );
  if (seconds !== undefined && Math.abs(seconds - expected.seconds) > 1 / expected.frameRate + 0.05)
    throw new FfleetError(
      'chunk_mismatch',
      `the joined video lasts ${seconds.toFixed(3)} s where the source's video lasts ${expected.seconds.toFixed(3)} s`,
      422,
    );
}
