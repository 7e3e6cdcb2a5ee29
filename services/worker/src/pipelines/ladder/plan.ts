import {
  type AudioTrack,
  type AudioTrackPlan,
  audioTracksOf,
  type Chunk,
  checkDecodablePictures,
  decideRungs,
  FfleetError,
  hdrColourOf,
  hdrTwins,
  InvalidJobError,
  type JobData,
  type LadderAudio,
  type LadderPlan,
  type LadderSettings,
  ladderAudioJobSpec,
  ladderChildId,
  ladderSettings,
  longestFirst,
  MAX_AUDIO_RENDITIONS,
  type MediaAnalysis,
  type PlannedRung,
  planLadderChunks,
  rungChunkJobSpec,
  rungFrames,
  rungJobSpec,
  SPAN,
  type SubtitleCandidates,
  subtitleCandidates,
} from '@ffleet/core';
import { checkToneMapping } from '../../ffmpeg/filters.ts';
import type { JobContext } from '../../pipeline/context.ts';
import { stage } from '../../pipeline/stage.ts';
import { downloadInputs } from '../../pipeline/stages/download.ts';
import type { ChildJob, Flow } from '../flow.ts';
import { jobScratchFolder } from '../parent-job.ts';
import { analyse, cutPieces, uploadPieces } from '../split/plan.ts';
import { makeSubtitles } from './subtitles.ts';

/**
 * The plan step: the source analysed, the rungs decided (never above the source), then one
 * child per rung (the biggest first, so the longest encode starts first) and one per audio
 * rendition; while they encode, its text subtitles are converted to WebVTT (into scratch). A
 * longer source is cut into pieces on the keyframe grid (stream copy, into scratch) and every
 * rung gets one child per piece instead, the biggest encodes first. The children
 * are added before the plan is stored: a worker lost in between makes the next one plan
 * again, and the same ids add nothing twice.
 */
export async function planLadder(
  ctx: JobContext,
  flow: Flow,
  planned: (plan: LadderPlan) => void,
): Promise<void> {
  await downloadInputs(ctx);
  const media = await stage(ctx, 'analyse', () => analyse(ctx, { hdr10: true }));
  const settings = ladderSettings(ctx.spec.ladder!);
  const { plan, subtitles } = await decideLadder(ctx, media, settings);
  planned(plan);
  const { rungs, chunks } = plan;
  ctx.jobSpan.setAttribute(SPAN.rung, rungs.kept.map((r) => r.name).join(','));
  if (chunks) {
    ctx.jobSpan.setAttribute(SPAN.chunks, chunks.length);
    const pieces = await stage(ctx, 'split', () => cutPieces(ctx, media, chunks, false));
    await stage(ctx, 'upload', () => uploadPieces(ctx, plan, chunks, pieces, false), { percent: 100 });
  }
  await flow.addChildren(childrenOf(ctx, settings, plan));
  // While the children encode: the subtitle renditions.
  await addSubtitles(ctx, plan, subtitles, settings.hlsSegmentSeconds ?? plan.durationSeconds);
  ctx.timings.total = Math.round(performance.now() - ctx.started);
  await flow.saveState({
    kind: 'ladder',
    step: 'package',
    plan,
    planTimings: { ...ctx.timings },
    planFinishedAt: Date.now(),
  });
  ctx.log.info(
    { rungs: rungs.kept.map((r) => r.name), dropped: rungs.dropped.length, chunks: chunks?.length ?? 1 },
    'rungs queued',
  );
}

/**
 * The ladder of this source: its rungs (never above the source; twice over for an HDR source
 * made both ways), its chunks, its audio renditions, and the subtitle streams that may become
 * renditions (in the plan until they are made: scratch to remove if the plan fails).
 */
async function decideLadder(
  ctx: JobContext,
  media: MediaAnalysis,
  settings: LadderSettings,
): Promise<{ plan: LadderPlan; subtitles: SubtitleCandidates }> {
  const video = media.video;
  if (!video) throw new FfleetError('no_video', 'the input has no video stream to make a ladder of', 422);
  checkDecodablePictures(video.dolbyVision, "a ladder's rungs");
  const hdr = hdrColourOf(video.colour, video.hdr10);
  // An HDR source's rungs are tone-mapped ("sdr"), kept HDR ("keep"), or made both ways.
  const toneMapped = settings.hdr !== 'keep' ? hdr : undefined;
  const kept = settings.hdr !== 'sdr' ? hdr : undefined;
  await checkToneMapping(ctx.deps.ffmpegPath, toneMapped, "a ladder's rungs");
  const decision = decideRungs(settings.rungs, {
    width: video.width,
    height: video.height,
    rotation: video.rotation,
    sampleAspectRatio: video.sampleAspectRatio,
    // As played: a variable-rate phone video's nominal rate may be far above its frames a second.
    frameRate: video.variableFrameRate ? video.averageFrameRate : video.frameRate,
    variableFrameRate: video.variableFrameRate,
    ...((video.bitRate ?? media.bitRate) ? { bitRate: video.bitRate ?? media.bitRate } : {}),
  });
  const rungs =
    toneMapped && kept ? { ...decision, kept: [...decision.kept, ...hdrTwins(decision.kept)] } : decision;
  const { chunks, note } = planLadderChunks(video, settings.chunkSeconds, ctx.spec.inputs[0]!.options);
  const audioTracks = audioRenditions(ctx.spec.ladder?.audio, media.audio, video.startSeconds);
  const subtitles = subtitleCandidates(media.subtitles);
  const plan: LadderPlan = {
    rungs,
    frameRate: video.frameRate,
    durationSeconds: video.endSeconds - video.startSeconds,
    audio: audioTracks.length > 0,
    scratch: jobScratchFolder(ctx),
    frames: video.frameTimes.length,
    videoStartSeconds: video.startSeconds,
    rotation: video.rotation,
    ...(video.interlaced ? { interlaced: true } : {}),
    ...(toneMapped ? { hdr: toneMapped } : {}),
    ...(kept ? { hdrKept: kept } : {}),
    ...(audioTracks.length > 0 ? { audioTracks } : {}),
    ...(subtitles.candidates.length > 0 ? { subtitleTracks: subtitles.candidates } : {}),
    ...(!ctx.spec.ladder?.audio && media.audio.length > MAX_AUDIO_RENDITIONS
      ? {
          audioNote: `the source has ${media.audio.length} audio streams: the first ${MAX_AUDIO_RENDITIONS} have renditions`,
        }
      : {}),
    ...(chunks ? { chunks } : {}),
    ...(note ? { chunkNote: note } : {}),
  };
  return { plan, subtitles };
}

/** The renditions made of the subtitle candidates go in the plan, and why any stream has none. */
async function addSubtitles(
  ctx: JobContext,
  plan: LadderPlan,
  subtitles: SubtitleCandidates,
  segmentSeconds: number,
): Promise<void> {
  const made = await makeSubtitles(ctx, plan, subtitles.candidates, segmentSeconds);
  if (made.tracks.length > 0) plan.subtitleTracks = made.tracks;
  else delete plan.subtitleTracks;
  const subtitleNote = [...(subtitles.note ? [subtitles.note] : []), ...made.left].join('; ');
  if (subtitleNote) plan.subtitleNote = subtitleNote;
}

function childrenOf(ctx: JobContext, settings: LadderSettings, plan: LadderPlan): ChildJob[] {
  const parentId = ctx.job.id;
  const base = {
    pool: ctx.job.data.pool,
    submittedAt: Date.now(),
    ...(ctx.job.data.traceparent ? { traceparent: ctx.job.data.traceparent } : {}),
  };
  const children: ChildJob[] = plan.chunks
    ? chunkChildren(plan.chunks, plan.rungs.kept).map(({ rung, chunk }) => {
        const data: JobData = {
          ...base,
          spec: rungChunkJobSpec(ctx.spec, settings, plan, rung, chunk),
          role: {
            kind: 'chunk',
            parentId,
            rung: rung.name,
            index: chunk.index,
            // What the chunk's encode must write: its frames, or the share of them the rungs keep.
            frames: rungFrames(rung, chunk.frames),
            durationSeconds: chunk.endSeconds - chunk.startSeconds,
          },
        };
        return { id: ladderChildId.chunk(parentId, rung, chunk.index), name: data.spec.name, data };
      })
    : [...plan.rungs.kept].reverse().map((rung) => {
        const data: JobData = {
          ...base,
          spec: rungJobSpec(ctx.spec, settings, plan, rung),
          role: { kind: 'rung', parentId, rung: rung.name, durationSeconds: plan.durationSeconds },
        };
        return { id: ladderChildId.rung(parentId, rung), name: data.spec.name, data };
      });
  for (const track of audioTracksOf(plan).keys()) {
    const spec = ladderAudioJobSpec(ctx.spec, settings, plan, track);
    children.push({
      id: ladderChildId.audio(parentId, track),
      name: spec.name,
      data: { ...base, spec, role: { kind: 'audio', parentId, durationSeconds: plan.durationSeconds } },
    });
  }
  return children;
}

/**
 * Every rung's every chunk, the biggest encodes first (pixels times seconds), so the last to
 * finish is a small one and the pool stays busy to the end.
 */
function chunkChildren(
  chunks: readonly Chunk[],
  rungs: readonly PlannedRung[],
): { rung: PlannedRung; chunk: Chunk }[] {
  const size = (rung: PlannedRung, chunk: Chunk) =>
    rung.width * rung.height * (chunk.endSeconds - chunk.startSeconds);
  const order = new Map(longestFirst(chunks).map((c, i) => [c.index, i]));
  return rungs
    .flatMap((rung) => chunks.map((chunk) => ({ rung, chunk })))
    .sort(
      (a, b) =>
        size(b.rung, b.chunk) - size(a.rung, a.chunk) ||
        b.rung.bitrateKbps - a.rung.bitrateKbps ||
        order.get(a.chunk.index)! - order.get(b.chunk.index)!,
    );
}

/**
 * The audio renditions: the ones `ladder.audio` makes of chosen streams of the source, else one
 * per stream (the first 8). A stream `ladder.audio` names that the source lacks fails the job.
 */
function audioRenditions(
  chosen: readonly LadderAudio[] | undefined,
  audio: readonly AudioTrack[],
  videoStart: number,
): AudioTrackPlan[] {
  if (!chosen) return audio.slice(0, MAX_AUDIO_RENDITIONS).map((track) => audioTrack(track, videoStart));
  return chosen.map((rendition, i) => {
    const missing = rendition.streams.filter((stream) => stream >= audio.length);
    if (missing.length > 0)
      throw new InvalidJobError(
        `ladder.audio[${i}] names audio stream ${missing.join(', ')}; the source has ${audio.length} audio stream${audio.length === 1 ? '' : 's'}`,
      );
    // Language, role and start of the first stream named, unless the rendition says otherwise.
    const track = audioTrack(audio[rendition.streams[0]!]!, videoStart);
    return {
      ...track,
      ...(rendition.language ? { language: rendition.language } : {}),
      ...(rendition.role ? { role: rendition.role } : {}),
      streams: rendition.streams,
    };
  });
}

/**
 * An audio stream's rendition: its language and role, and where it starts against the video
 * when not with it.
 */
function audioTrack(track: AudioTrack, videoStart: number): AudioTrackPlan {
  const offset = Math.round((track.startSeconds - videoStart) * 1e6) / 1e6;
  return {
    ...(track.language ? { language: track.language } : {}),
    ...(track.role ? { role: track.role } : {}),
    ...(Math.abs(offset) >= 0.0005 ? { offsetSeconds: offset } : {}),
  };
}
