/**
 * A ladder's subtitles. The plan step converts the source's text subtitle streams to WebVTT
 * (one read of the source it has) and keeps them in scratch; the package step moves their
 * cues onto the rungs' timeline and writes them as HLS renditions (segments as long as the
 * video's) and as one WebVTT file per DASH text set. Picture subtitles (DVD, Blu-ray, DVB)
 * cannot become text: the job view says they were left out.
 */
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  cuesOnTimeline,
  cuesProblem,
  type DashSubtitles,
  type HlsSubtitles,
  type LadderPlan,
  ladderPlaylists,
  ladderScratch,
  MAX_WEBVTT_BYTES,
  type MediaAnalysis,
  parseStorageUrl,
  parseWebVtt,
  probeInputArgs,
  type SubtitleTrackPlan,
  subtitleArgs,
  subtitleRenditionName,
  subtitleRenditions,
  webVttFile,
  webVttPlaylist,
  webVttSegments,
} from '@ffleet/core';
import { runLimitedFfmpeg } from '../../ffmpeg/limits.ts';
import type { JobContext } from '../../pipeline/context.ts';
import { FfmpegFailedError } from '../../pipeline/errors.ts';
import { stage } from '../../pipeline/stage.ts';
import { STEP_TIMEOUT_MS } from '../split/plan.ts';

/**
 * The plan step's part: the source's text subtitle streams converted to WebVTT in one read of
 * it (on the source's own timeline), each checked (size, cues) on the rungs' timeline. Returns
 * the renditions to make with their files, and why any stream has none.
 */
export async function convertSubtitles(
  ctx: JobContext,
  media: MediaAnalysis,
  at: { videoStartSeconds: number; durationSeconds: number },
): Promise<{ tracks: SubtitleTrackPlan[]; files: string[]; note?: string }> {
  const chosen = subtitleRenditions(media.subtitles);
  if (chosen.tracks.length === 0) return { ...chosen, files: [] };
  return stage(ctx, 'ffmpeg', async () => {
    const dir = join(ctx.workDir, 'subtitles');
    await mkdir(dir, { recursive: true });
    const files = chosen.tracks.map((track) => ({
      index: track.index,
      file: join(dir, `${track.index}.vtt`),
    }));
    const run = await runLimitedFfmpeg(ctx.deps.ffmpegLimits, {
      binary: ctx.deps.ffmpegPath,
      argv: subtitleArgs(probeInputArgs(ctx.plan, ctx.layout, 0), files),
      cwd: ctx.workDir,
      timeoutMs: STEP_TIMEOUT_MS,
      signal: ctx.signal,
    });
    ctx.throwIfAborted();
    if (run.exitCode !== 0) throw new FfmpegFailedError(run.exitCode, run.stderrTail);
    const kept: { track: SubtitleTrackPlan; file: string }[] = [];
    const left: string[] = chosen.note ? [chosen.note] : [];
    for (const [i, { file }] of files.entries()) {
      const track = chosen.tracks[i]!;
      const problem = await subtitleProblem(file, at);
      if (problem) left.push(`subtitle stream ${track.index} is left out: ${problem}`);
      else kept.push({ track, file });
    }
    return {
      tracks: kept.map((k) => k.track),
      files: kept.map((k) => k.file),
      ...(left.length > 0 ? { note: left.join('; ') } : {}),
    };
  });
}

/** The converted subtitle renditions into the plan's scratch, in order. */
export async function uploadSubtitles(
  ctx: JobContext,
  plan: LadderPlan,
  files: readonly string[],
): Promise<void> {
  for (const [i, file] of files.entries())
    await ctx.deps.storage.upload(
      file,
      parseStorageUrl(ladderScratch.subtitles(plan, i), ctx.deps.config.urlPolicy),
      ctx.signal,
    );
}

/** Why a converted subtitle stream is not carried (too big, too many cues), or undefined. */
async function subtitleProblem(
  file: string,
  at: { videoStartSeconds: number; durationSeconds: number },
): Promise<string | undefined> {
  const { size } = await stat(file);
  if (size > MAX_WEBVTT_BYTES) return `its WebVTT is ${size} bytes, more than ${MAX_WEBVTT_BYTES}`;
  const cues = cuesOnTimeline(
    parseWebVtt(await readFile(file, 'utf8')),
    at.videoStartSeconds,
    at.durationSeconds,
  );
  return cuesProblem(cues, at.durationSeconds);
}

/**
 * The package step's part: each rendition's cues from scratch, on the rungs' timeline (the
 * source's first video frame at 0, as long as the video), written under `out`: HLS segments
 * and a media playlist in `hls/subtitles…/`, a whole file in `dash/` for the MPD.
 */
export async function packageSubtitles(
  ctx: JobContext,
  plan: LadderPlan,
  out: string,
  segmentSeconds: { hls?: number; dash?: number },
): Promise<{ hls: HlsSubtitles[]; dash: DashSubtitles[] }> {
  const hls: HlsSubtitles[] = [];
  const dash: DashSubtitles[] = [];
  const dir = join(ctx.workDir, 'subtitles');
  await mkdir(dir, { recursive: true });
  for (const [i, track] of (plan.subtitleTracks ?? []).entries()) {
    const name = subtitleRenditionName(i);
    const file = join(dir, `${name}.vtt`);
    ctx.facts.inputBytes += await ctx.deps.storage.download(
      parseStorageUrl(ladderScratch.subtitles(plan, i), ctx.deps.config.urlPolicy),
      file,
      ctx.signal,
    );
    const cues = cuesOnTimeline(
      parseWebVtt(await readFile(file, 'utf8')),
      plan.videoStartSeconds ?? 0,
      plan.durationSeconds,
    );
    const about = {
      ...(track.language ? { language: track.language } : {}),
      ...(track.forced ? { forced: true } : {}),
      ...(track.hearingImpaired ? { hearingImpaired: true } : {}),
    };
    if (segmentSeconds.hls !== undefined) {
      const folder = join(out, 'hls', name);
      await mkdir(folder, { recursive: true });
      const segments = webVttSegments(cues, plan.durationSeconds, segmentSeconds.hls);
      for (const segment of segments) await writeFile(join(folder, segment.uri), segment.body);
      await writeFile(join(folder, 'index.m3u8'), webVttPlaylist(segments, segmentSeconds.hls));
      hls.push({ uri: ladderPlaylists.subtitles(i), ...about });
    }
    if (segmentSeconds.dash !== undefined) {
      await mkdir(join(out, 'dash'), { recursive: true });
      await writeFile(join(out, 'dash', `${name}.vtt`), webVttFile(cues));
      dash.push({ url: `dash/${name}.vtt`, ...about });
    }
  }
  return { hls, dash };
}
