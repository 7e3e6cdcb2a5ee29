/**
 * A ladder's subtitles. The plan step converts the source's text subtitle streams to WebVTT
 * (one read of the source it has), moves their cues onto the rungs' timeline and keeps them in
 * scratch; the package step writes them as HLS renditions (segments as long as the video's) and
 * as DASH text sets (WebVTT in fragmented MP4). Picture subtitles (DVD, Blu-ray, DVB) cannot
 * become text, and a stream ffmpeg cannot convert or that no film has (too big, too many cues)
 * is left out: the job view says which and why.
 */
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type Cue,
  cuesOnTimeline,
  cuesProblem,
  type DashSubtitles,
  type HlsSubtitles,
  type LadderPlan,
  ladderPlaylists,
  ladderScratch,
  MAX_SUBTITLE_RENDITIONS,
  MAX_WEBVTT_BYTES,
  parseStorageUrl,
  parseWebVtt,
  probeInputArgs,
  type SubtitleTrackPlan,
  subtitleArgs,
  subtitleRenditionName,
  webVttFile,
  webVttPlaylist,
  webVttSegments,
  wvttInit,
  wvttSegment,
} from '@ffleet/core';
import { runLimitedFfmpeg } from '../../ffmpeg/limits.ts';
import type { JobContext } from '../../pipeline/context.ts';
import { stage } from '../../pipeline/stage.ts';
import { STEP_TIMEOUT_MS } from '../split/plan.ts';

/** Where the plan step's subtitle files are: in scratch (`ladderScratch.subtitles`) and here. */
const folder = (ctx: JobContext) => join(ctx.workDir, 'subtitles');
const localFile = (ctx: JobContext, track: Pick<SubtitleTrackPlan, 'index'>) =>
  join(folder(ctx), `s${track.index}.vtt`);

/**
 * The plan step's part, once the children are queued: each candidate stream converted to WebVTT
 * (all in one read of the source; one at a time when that fails, to find which), its cues moved
 * onto the rungs' timeline and checked, and the first 16 that pass put in scratch. Returns them
 * and why any other stream has none.
 */
export async function makeSubtitles(
  ctx: JobContext,
  plan: LadderPlan,
  candidates: readonly SubtitleTrackPlan[],
  segmentSeconds: number,
): Promise<{ tracks: SubtitleTrackPlan[]; left: string[] }> {
  const left: string[] = [];
  if (candidates.length === 0) return { tracks: [], left };
  const tracks: SubtitleTrackPlan[] = [];
  await stage(ctx, 'ffmpeg', async () => {
    await mkdir(folder(ctx), { recursive: true });
    const converted = await convert(ctx, candidates);
    for (const track of candidates) {
      const problem = converted.get(track.index) ?? (await check(ctx, plan, track, segmentSeconds));
      if (problem) left.push(`subtitle stream 0:${track.index} is left out: ${problem}`);
      else if (tracks.length < MAX_SUBTITLE_RENDITIONS) tracks.push(track);
      else
        left.push(
          `subtitle stream 0:${track.index} is left out: a ladder carries ${MAX_SUBTITLE_RENDITIONS}`,
        );
    }
  });
  if (tracks.length > 0)
    await stage(ctx, 'upload', async () => {
      for (const track of tracks)
        await ctx.deps.storage.upload(
          localFile(ctx, track),
          parseStorageUrl(ladderScratch.subtitles(plan, track), ctx.deps.config.urlPolicy),
          ctx.signal,
        );
    });
  return { tracks, left };
}

/**
 * Converts every candidate, in one ffmpeg run; when that fails, one run per stream. Returns
 * the streams that could not be converted, with why.
 */
async function convert(
  ctx: JobContext,
  candidates: readonly SubtitleTrackPlan[],
): Promise<Map<number, string>> {
  const input = probeInputArgs(ctx.plan, ctx.layout, 0);
  const run = async (tracks: readonly SubtitleTrackPlan[]) => {
    const streams = tracks.map((track) => ({ index: track.index, file: localFile(ctx, track) }));
    const result = await runLimitedFfmpeg(ctx.deps.ffmpegLimits, {
      binary: ctx.deps.ffmpegPath,
      argv: subtitleArgs(input, streams, MAX_WEBVTT_BYTES),
      cwd: ctx.workDir,
      timeoutMs: STEP_TIMEOUT_MS,
      signal: ctx.signal,
    });
    ctx.throwIfAborted();
    return result.exitCode === 0;
  };
  const failed = new Map<number, string>();
  if (await run(candidates)) return failed;
  for (const track of candidates)
    if (!(await run([track]))) failed.set(track.index, 'ffmpeg could not convert it to WebVTT');
  return failed;
}

/**
 * Checks a converted stream and writes it back with its cues on the rungs' timeline. Returns
 * why it cannot be carried, or undefined.
 */
async function check(
  ctx: JobContext,
  plan: LadderPlan,
  track: SubtitleTrackPlan,
  segmentSeconds: number,
): Promise<string | undefined> {
  const file = localFile(ctx, track);
  const { size } = await stat(file);
  if (size > MAX_WEBVTT_BYTES) return `its WebVTT is over ${MAX_WEBVTT_BYTES / 1024 / 1024} MiB`;
  const cues = cuesOnTimeline(
    parseWebVtt(await readFile(file, 'utf8')),
    plan.videoStartSeconds ?? 0,
    plan.durationSeconds,
  );
  const problem = cuesProblem(cues, segmentSeconds);
  if (!problem) await writeFile(file, webVttFile(cues));
  return problem;
}

/** The package step's download: each subtitle rendition from scratch, on the rungs' timeline. */
export async function downloadSubtitles(ctx: JobContext, plan: LadderPlan): Promise<string[]> {
  await mkdir(folder(ctx), { recursive: true });
  const files: string[] = [];
  for (const track of plan.subtitleTracks ?? []) {
    const file = localFile(ctx, track);
    ctx.facts.inputBytes += await ctx.deps.storage.download(
      parseStorageUrl(ladderScratch.subtitles(plan, track), ctx.deps.config.urlPolicy),
      file,
      ctx.signal,
    );
    files.push(file);
  }
  return files;
}

/**
 * The package step's part: each rendition written under `out`, HLS segments and a media
 * playlist in `hls/subtitles…/`, an init and a media segment of WebVTT in MP4 in `dash/` for
 * the MPD, in each format its cues moved to where the packaged rungs' first frame shows
 * (`firstFrameSeconds`).
 */
export async function packageSubtitles(
  plan: LadderPlan,
  files: readonly string[],
  out: string,
  formats: {
    hls?: { segmentSeconds: number; firstFrameSeconds: number };
    dash?: { firstFrameSeconds: number };
  },
): Promise<{ hls: HlsSubtitles[]; dash: DashSubtitles[] }> {
  const hls: HlsSubtitles[] = [];
  const dash: DashSubtitles[] = [];
  for (const [i, { index: _index, ...about }] of (plan.subtitleTracks ?? []).entries()) {
    const cues = parseWebVtt(await readFile(files[i]!, 'utf8'));
    const shifted = (by: number): Cue[] =>
      cues.map((cue) => ({ ...cue, start: cue.start + by, end: cue.end + by }));
    const name = subtitleRenditionName(i);
    if (formats.hls) {
      const dir = join(out, 'hls', name);
      await mkdir(dir, { recursive: true });
      const { segmentSeconds, firstFrameSeconds } = formats.hls;
      const segments = webVttSegments(shifted(firstFrameSeconds), plan.durationSeconds, segmentSeconds);
      for (const segment of segments) await writeFile(join(dir, segment.uri), segment.body);
      await writeFile(join(dir, 'index.m3u8'), webVttPlaylist(segments, segmentSeconds));
      hls.push({ uri: ladderPlaylists.subtitles(i), ...about });
    }
    if (formats.dash) {
      await mkdir(join(out, 'dash'), { recursive: true });
      const cuesShown = shifted(formats.dash.firstFrameSeconds);
      await writeFile(join(out, 'dash', `${name}-init.mp4`), wvttInit(about.language));
      await writeFile(join(out, 'dash', `${name}-1.m4s`), wvttSegment(cuesShown, plan.durationSeconds));
      dash.push({ initialization: `dash/${name}-init.mp4`, media: `dash/${name}-$Number$.m4s`, ...about });
    }
  }
  return { hls, dash };
}
