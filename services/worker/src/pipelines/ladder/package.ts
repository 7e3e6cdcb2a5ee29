import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  audioRenditionName,
  audioTracksOf,
  concatArgs,
  dashArgs,
  dashVideoSets,
  ffmpegOutput,
  firstFrameTime,
  formatStorageUrl,
  fragments,
  type HlsAudio,
  type HlsVariant,
  hlsRenditionArgs,
  iFramePlaylist,
  type LadderPlan,
  type LadderSettings,
  ladderPlaylists,
  ladderScratch,
  ladderSettings,
  listOutputFiles,
  masterPlaylist,
  measuredBandwidth,
  mediaSegments,
  mpdWithCodecs,
  mpdWithColour,
  mpdWithSubtitles,
  PROBE_PACKETS_ARGS,
  parseStorageUrl,
  rungEncoding,
  rungFrameRate,
  rungFrames,
  SPAN,
  videoCodecString,
} from '@ffleet/core';
import { runLimitedFfmpeg } from '../../ffmpeg/limits.ts';
import type { JobContext } from '../../pipeline/context.ts';
import { FfmpegFailedError } from '../../pipeline/errors.ts';
import { publishing } from '../../pipeline/publish.ts';
import { stage } from '../../pipeline/stage.ts';
import { checkJoinedVideo, downloadChunkList } from '../split/join.ts';
import { STEP_TIMEOUT_MS } from '../split/plan.ts';
import { measureRungs } from './quality.ts';
import { downloadSubtitles, packageSubtitles } from './subtitles.ts';

/** AAC-LC, which the audio child always encodes. */
const AUDIO_CODEC = 'mp4a.40.2';

/**
 * The package step: the rungs and the audio downloaded from scratch (a chunked rung's chunks
 * joined by stream copy and checked first) and packaged by stream copy: HLS (a media and an
 * I-frame playlist per rung, each audio stream as its own rendition, each subtitle stream as a
 * WebVTT one, a master playlist with measured bandwidths) and DASH (one MPD, 2 s segments by
 * default, a text set of WebVTT in MP4 per subtitle stream).
 * Segments are uploaded first and the playlists and MPD last, so a player never finds a
 * playlist whose segments are not there yet. Then, with quality on, each rung is measured
 * against the source.
 */
export async function packageLadder(ctx: JobContext, plan: LadderPlan): Promise<void> {
  const settings = ladderSettings(ctx.spec.ladder!);
  const inDir = join(ctx.workDir, 'rungs');
  const out = ctx.layout.outputDir(0);
  const files = await stage(ctx, 'download', () => downloadRungs(ctx, plan, inDir));
  await stage(ctx, 'ffmpeg', async ({ span }) => {
    if (plan.chunks) await joinRungs(ctx, plan, inDir);
    const { hlsSegmentSeconds, dashSegmentSeconds } = settings;
    const hls =
      hlsSegmentSeconds !== undefined
        ? await packageHls(ctx, plan, settings, files, out, hlsSegmentSeconds)
        : undefined;
    const manifest =
      dashSegmentSeconds !== undefined
        ? await packageDash(ctx, plan, settings, files, out, dashSegmentSeconds)
        : undefined;
    // The subtitles' cues go where the packaged rungs' first frame shows, in each format.
    const subtitled = files.subtitles.length > 0;
    const subtitles = await packageSubtitles(plan, files.subtitles, out, {
      ...(hls && hlsSegmentSeconds !== undefined && subtitled
        ? { hls: { segmentSeconds: hlsSegmentSeconds, firstFrameSeconds: hls.firstFrameSeconds } }
        : {}),
      ...(manifest && subtitled
        ? {
            dash: {
              firstFrameSeconds: await firstFrameSeconds(
                ctx,
                join(out, 'dash', 'init-0.m4s'),
                join(out, 'dash', 'seg-0-00001.m4s'),
              ),
            },
          }
        : {}),
    });
    if (hls)
      await writeFile(join(out, 'master.m3u8'), masterPlaylist(hls.variants, hls.audio, subtitles.hls));
    if (manifest)
      await writeFile(
        manifest,
        mpdWithSubtitles(await readFile(manifest, 'utf8'), subtitles.dash, plan.durationSeconds),
      );
    span.setAttribute(SPAN.rung, plan.rungs.kept.map((r) => r.name).join(','));
  });
  ctx.facts.mediaDurationSeconds = plan.durationSeconds;
  await stage(ctx, 'upload', () => publish(ctx, out), { percent: 100 });
  await measureRungs(ctx, plan, files.rungs);
}

/**
 * The DASH packaging (one MPD, segments under `dash/`): each rung's full codec string and, of
 * HDR rungs, their colour written into it. Returns the MPD's path.
 */
async function packageDash(
  ctx: JobContext,
  plan: LadderPlan,
  settings: LadderSettings,
  files: { rungs: string[]; audio: string[] },
  out: string,
  segmentSeconds: number,
): Promise<string> {
  await mkdir(join(out, 'dash'), { recursive: true });
  const manifest = join(out, 'manifest.mpd');
  const hdrRungs = plan.rungs.kept.map((rung) => Boolean(rungEncoding(settings, plan, rung).keep));
  const tracks = audioTracksOf(plan);
  const audio = files.audio.map((file, i) => ({ file, role: tracks[i]?.role }));
  await ffmpeg(ctx, dashArgs(files.rungs, audio, manifest, segmentSeconds, hdrRungs));
  await writeCodecs(manifest, plan, join(out, 'dash'));
  if (plan.hdrKept) {
    // The HDR rungs' set: the only video set, or the second beside the SDR one.
    const setId = dashVideoSets(hdrRungs).length - 1;
    await writeFile(manifest, mpdWithColour(await readFile(manifest, 'utf8'), plan.hdrKept, setId));
  }
  return manifest;
}

/** Each rung's full codec string (from its DASH init segment) written into the MPD, which may hold a bare one. */
async function writeCodecs(manifest: string, plan: LadderPlan, folder: string): Promise<void> {
  const codecs = new Map<string, string>();
  for (const i of plan.rungs.kept.keys())
    codecs.set(String(i), videoCodecString(await readFile(join(folder, `init-${i}.m4s`))));
  await writeFile(manifest, mpdWithCodecs(await readFile(manifest, 'utf8'), codecs));
}

async function downloadRungs(
  ctx: JobContext,
  plan: LadderPlan,
  dir: string,
): Promise<{ rungs: string[]; audio: string[]; subtitles: string[] }> {
  await mkdir(dir, { recursive: true });
  const get = async (url: string, name: string) => {
    const file = join(dir, name);
    ctx.facts.inputBytes += await ctx.deps.storage.download(
      parseStorageUrl(url, ctx.deps.config.urlPolicy),
      file,
      ctx.signal,
    );
    return file;
  };
  const rungs = [];
  for (const rung of plan.rungs.kept) {
    const file = join(dir, `${rung.name}.mp4`);
    if (plan.chunks)
      await downloadChunkList(
        ctx,
        join(dir, rung.name),
        plan.chunks.map((chunk) => ({ url: ladderScratch.chunk(plan, rung, chunk.index), chunk })),
      );
    else await get(ladderScratch.rung(plan, rung), `${rung.name}.mp4`);
    rungs.push(file);
  }
  const audio = [];
  for (const i of audioTracksOf(plan).keys())
    audio.push(await get(ladderScratch.audio(plan, i), `${audioRenditionName(i)}.m4a`));
  return { rungs, audio, subtitles: await downloadSubtitles(ctx, plan) };
}

/**
 * Each rung's chunks, downloaded into `<dir>/<rung>/` with their ffconcat list, joined by stream
 * copy into `<dir>/<rung>.mp4`, which must hold every frame of the source and last as long.
 */
async function joinRungs(ctx: JobContext, plan: LadderPlan, dir: string): Promise<void> {
  for (const rung of plan.rungs.kept) {
    const output = join(dir, `${rung.name}.mp4`);
    await ffmpeg(ctx, concatArgs({ list: join(dir, rung.name, 'chunks.ffconcat'), output }));
    await checkJoinedVideo(ctx, output, {
      frames: plan.chunks!.reduce((sum, c) => sum + rungFrames(rung, c.frames), 0),
      seconds: plan.durationSeconds,
      frameRate: rungFrameRate(plan.frameRate, rung),
    });
  }
}

async function ffmpeg(ctx: JobContext, argv: string[]): Promise<void> {
  const run = await runLimitedFfmpeg(ctx.deps.ffmpegLimits, {
    binary: ctx.deps.ffmpegPath,
    argv,
    cwd: ctx.workDir,
    timeoutMs: STEP_TIMEOUT_MS,
    signal: ctx.signal,
  });
  ctx.throwIfAborted();
  if (run.exitCode !== 0) throw new FfmpegFailedError(run.exitCode, run.stderrTail);
}

/**
 * One HLS rendition per rung and one per audio rendition (starting where the rungs' first
 * frame shows), and each rung's I-frame playlist; returns what the master playlist lists.
 */
async function packageHls(
  ctx: JobContext,
  plan: LadderPlan,
  settings: LadderSettings,
  files: { rungs: string[]; audio: string[] },
  out: string,
  segmentSeconds: number,
): Promise<{ variants: HlsVariant[]; audio: HlsAudio[]; firstFrameSeconds: number }> {
  const folders = plan.rungs.kept.map((rung) => join(out, 'hls', rung.name));
  const firstFrame = await packageHlsRungs(ctx, files.rungs, folders, segmentSeconds);
  const variants: HlsVariant[] = [];
  for (const [i, rung] of plan.rungs.kept.entries()) {
    const folder = folders[i]!;
    const segments = await measure(folder);
    const frames = [];
    for (const s of segments) {
      const [first] = fragments(await readFile(join(folder, s.uri)));
      if (!first) throw new FfmpegFailedError(0, [`${rung.name}/${s.uri} holds no movie fragment`]);
      frames.push({ uri: s.uri, seconds: s.seconds, offset: first.offset, length: first.firstSampleEnd });
    }
    await writeFile(join(folder, 'iframes.m3u8'), iFramePlaylist('init.mp4', frames, segmentSeconds));
    const kept = rungEncoding(settings, plan, rung).keep;
    variants.push({
      uri: ladderPlaylists.rung(rung),
      iFramesUri: `hls/${rung.name}/iframes.m3u8`,
      width: rung.width,
      height: rung.height,
      frameRate: rungFrameRate(plan.frameRate, rung),
      videoCodec: videoCodecString(await readFile(join(folder, 'init.mp4'))),
      video: measuredBandwidth(segments),
      iFramesPeak: measuredBandwidth(frames.map((f) => ({ bytes: f.length, seconds: f.seconds }))).peak,
      ...(kept ? { videoRange: kept.transfer === 'pq' ? 'PQ' : 'HLG' } : {}),
    });
  }
  // The audio starts as late as the rungs' first frame, or it would play that much ahead of the picture.
  const tracks = audioTracksOf(plan);
  const audio: HlsAudio[] = [];
  for (const [i, file] of files.audio.entries()) {
    const folder = join(out, 'hls', audioRenditionName(i));
    await mkdir(folder, { recursive: true });
    await ffmpeg(ctx, hlsRenditionArgs(file, folder, segmentSeconds, firstFrame));
    const { language, role } = tracks[i] ?? {};
    audio.push({
      uri: ladderPlaylists.audio(i),
      codec: AUDIO_CODEC,
      bandwidth: measuredBandwidth(await measure(folder)),
      ...(language ? { language } : {}),
      ...(role ? { role } : {}),
    });
  }
  return { variants, audio, firstFrameSeconds: firstFrame };
}

/**
 * Each rung packaged into its folder, all showing their first frame at the same time; returns
 * that time. HLS's fragments keep the delay a rung's B-frames give its first frame, which is a
 * number of frames, and encoders differ: longer at a lower rung's halved frame rate, none in
 * x264's ultrafast rungs beside x265's in an HDR-and-SDR ladder. A rung that shows it sooner
 * than the latest is packaged again to show it then, so one audio rendition and one subtitle
 * rendition play in time with every variant.
 */
async function packageHlsRungs(
  ctx: JobContext,
  rungs: readonly string[],
  folders: readonly string[],
  segmentSeconds: number,
): Promise<number> {
  const shows: number[] = [];
  for (const [i, folder] of folders.entries()) {
    await mkdir(folder, { recursive: true });
    await ffmpeg(ctx, hlsRenditionArgs(rungs[i]!, folder, segmentSeconds));
    shows.push(await firstFrameSeconds(ctx, join(folder, 'init.mp4'), join(folder, 'seg-00000.m4s')));
  }
  const latest = Math.max(0, ...shows);
  for (const [i, folder] of folders.entries()) {
    // Under a millisecond is no delay a viewer sees, nor one the muxer's timestamps keep.
    if (latest - shows[i]! >= 0.001)
      await ffmpeg(ctx, hlsRenditionArgs(rungs[i]!, folder, segmentSeconds, latest));
  }
  return latest;
}

/**
 * When a packaged rendition's first frame shows (its init segment and first media segment):
 * after the delay of its B-frames, which HLS's fragments keep (DASH's start at 0). The HLS audio
 * and every format's subtitles start as late, to play with the frames they belong to.
 */
async function firstFrameSeconds(ctx: JobContext, init: string, segment: string): Promise<number> {
  const probe = join(ctx.workDir, 'first-fragment.mp4');
  await writeFile(probe, Buffer.concat([await readFile(init), await readFile(segment)]));
  const csv = await ffmpegOutput(ctx.deps.ffprobePath, [...PROBE_PACKETS_ARGS, probe], {
    timeoutMs: STEP_TIMEOUT_MS,
    signal: ctx.signal,
  });
  return Math.max(0, firstFrameTime(csv) ?? 0);
}

/** The segments of the media playlist in `folder`, with their sizes. */
async function measure(folder: string): Promise<{ uri: string; seconds: number; bytes: number }[]> {
  const segments = mediaSegments(await readFile(join(folder, 'index.m3u8'), 'utf8'));
  return Promise.all(segments.map(async (s) => ({ ...s, bytes: (await stat(join(folder, s.uri))).size })));
}

/**
 * Uploads the folder: every segment first, then the media playlists, the master playlist and
 * the MPD; a failure removes what was written.
 */
async function publish(ctx: JobContext, dir: string): Promise<void> {
  const target = parseStorageUrl(ctx.spec.outputs[0]!.url, ctx.deps.config.urlPolicy);
  const files = await listOutputFiles(dir);
  const uploaded = await publishing(ctx, (publication) => publication.folder(target, files));
  const bytes = uploaded.reduce((s, f) => s + f.bytes, 0);
  ctx.facts.outputs.push({ url: formatStorageUrl(target), bytes, files: uploaded });
  ctx.facts.outputBytes = bytes;
}
