/**
 * The steps of a ladder job. The parent plans (analyses the source, decides the rungs) and
 * queues ordinary jobs for the rungs and one for the audio; each writes one file to scratch.
 * The parent then packages those files by stream copy into HLS (fMP4) and DASH, and publishes
 * the playlists and the MPD last.
 *
 *   rung     (a job) the source → one size and bitrate, keyframes forced every 2 s of the
 *            source's timeline (scene-cut keyframes off), closed GOPs, no audio
 *   chunk    (a job) for a longer source, instead of whole rungs: one piece of the source (cut
 *            by the parent at a keyframe on the 2 s grid) → one rung, keyframes on the same grid
 *   audio    (a job per audio stream of the source) → AAC stereo, once for every rung
 *   subtitles (parent, while planning) each text subtitle stream → WebVTT on the rungs' timeline
 *   package  (parent) each rung (its chunks joined first, by stream copy) and the audio → HLS
 *            media playlists and segments, one DASH MPD; the subtitles' cues moved onto the
 *            rungs' timeline → WebVTT segments and files
 */
import { type Static, Type } from '@sinclair/typebox';
import { MEDIA_DEMUXERS } from '../ffmpeg/option-table.ts';
import { quoteOptions } from '../ffmpeg/tokenize.ts';
import type { JobSpec } from '../jobs/spec.ts';
import { type Chunk, ChunkSchema, chunkKeyframeTimes, gridKeyframes, planChunks } from './chunk-plan.ts';
import { type PlannedRung, RungDecisionSchema, rungFrameRate } from './ladder-rungs.ts';
import {
  LADDER_ENCODERS,
  LADDER_GOP_SECONDS,
  type LadderCodec,
  type LadderSettings,
  ladderEncoderArgs,
  MAX_AUDIO_RENDITIONS,
  presetFor,
  SDR_BESIDE_HDR_CODEC,
} from './ladder-spec.ts';
import { type AudioRole, AudioRoleSchema, type SubtitleTrack, type VideoTrack } from './media-analysis.ts';
import { DEINTERLACE_FILTER, rotationFilter, splitScratch } from './split-commands.ts';
import { type HdrColour, HdrColourSchema, toneMapFilter } from './tone-map.ts';

export const AudioTrackPlanSchema = Type.Object({
  /** The stream's language as its tags give it (ISO 639-2: `eng`, `fra`); absent when they say none. */
  language: Type.Optional(Type.String({ pattern: '^[a-z]{3}$' })),
  /** A commentary or an audio description (from the stream's disposition); absent: the programme's sound. */
  role: Type.Optional(AudioRoleSchema),
  /**
   * The source's audio streams (0 the first) whose channels make the rendition, in order
   * (`ladder.audio`); absent: the stream of the rendition's own number.
   */
  streams: Type.Optional(Type.Array(Type.Integer({ minimum: 0 }), { minItems: 1 })),
  /**
   * Seconds its first sample comes after the video's first frame (negative: before); absent
   * when they start together. The stream is padded or cut by as much.
   */
  offsetSeconds: Type.Optional(Type.Number()),
});
export type AudioTrackPlan = Static<typeof AudioTrackPlanSchema>;

export const SubtitleTrackPlanSchema = Type.Object({
  /** ffprobe's index of the source's subtitle stream. */
  index: Type.Integer({ minimum: 0 }),
  language: Type.Optional(Type.String({ pattern: '^[a-z]{3}$' })),
  /** Shown only where the film's language does not say it (signs, lines in another language). */
  forced: Type.Optional(Type.Boolean()),
  /** For the deaf and hard of hearing: the sounds as well as the words. */
  hearingImpaired: Type.Optional(Type.Boolean()),
});
export type SubtitleTrackPlan = Static<typeof SubtitleTrackPlanSchema>;

/** Text subtitle streams a ladder carries at most. */
export const MAX_SUBTITLE_RENDITIONS = 16;

/** Subtitle streams a ladder tries to convert at most; the first MAX_SUBTITLE_RENDITIONS that convert are carried. */
export const MAX_SUBTITLE_CANDIDATES = 64;

/** The subtitle streams a ladder tries to make renditions of, and why any other is left out. */
export interface SubtitleCandidates {
  candidates: SubtitleTrackPlan[];
  note?: string;
}

/**
 * The source's subtitle streams a ladder tries to make renditions of: those that are not
 * pictures (the first 64), and why the others have none.
 */
export function subtitleCandidates(subtitles: readonly SubtitleTrack[]): SubtitleCandidates {
  const text = subtitles.filter((s) => s.text);
  const candidates = text.slice(0, MAX_SUBTITLE_CANDIDATES).map(
    (s): SubtitleTrackPlan => ({
      index: s.index,
      ...(s.language ? { language: s.language } : {}),
      ...(s.forced ? { forced: true } : {}),
      ...(s.hearingImpaired ? { hearingImpaired: true } : {}),
    }),
  );
  const pictures = subtitles.filter((s) => !s.text);
  const reasons = [
    ...(pictures.length > 0
      ? [
          `subtitle stream${pictures.length === 1 ? '' : 's'} ${pictures.map((s) => `0:${s.index}`).join(', ')} ${pictures.length === 1 ? 'is' : 'are'} pictures (${[...new Set(pictures.map((s) => s.codec))].join(', ')}), which WebVTT cannot carry`,
        ]
      : []),
    ...(text.length > candidates.length
      ? [`only the first ${candidates.length} of ${text.length} text subtitle streams are tried`]
      : []),
  ];
  return { candidates, ...(reasons.length > 0 ? { note: reasons.join('; ') } : {}) };
}

/** A subtitle rendition's name (HLS folder, DASH file): `subtitles`, then `subtitles-1`, …. */
export function subtitleRenditionName(track: number): string {
  return track === 0 ? 'subtitles' : `subtitles-${track}`;
}

/** An audio rendition's name (scratch file, child step, HLS folder): `audio`, then `audio-1`, …. */
export function audioRenditionName(track: number): string {
  return track === 0 ? 'audio' : `audio-${track}`;
}

/** The media playlists in a ladder's output folder. */
export const ladderPlaylists = {
  rung: (rung: Pick<PlannedRung, 'name'>) => `hls/${rung.name}/index.m3u8`,
  audio: (track: number) => `hls/${audioRenditionName(track)}/index.m3u8`,
  subtitles: (track: number) => `hls/${subtitleRenditionName(track)}/index.m3u8`,
};

/** The audio renditions of a plan: one per audio stream of the source, in order. */
export function audioTracksOf(plan: Pick<LadderPlan, 'audio' | 'audioTracks'>): AudioTrackPlan[] {
  return plan.audioTracks ?? (plan.audio ? [{}] : []);
}

/** What the plan step decided, kept in the parent job for the package step. */
export const LadderPlanSchema = Type.Object({
  rungs: RungDecisionSchema,
  frameRate: Type.Number(),
  durationSeconds: Type.Number(),
  audio: Type.Boolean(),
  /** Folder URL (ending in /) of the job's scratch objects. */
  scratch: Type.String(),
  /** Frames of the source's video, which every rung has. */
  frames: Type.Optional(Type.Integer({ minimum: 0 })),
  /** When the rungs are encoded in chunks: the chunks, each starting on the keyframe grid. */
  chunks: Type.Optional(Type.Array(ChunkSchema)),
  /** Start of the source's video: the origin of the keyframe grid. */
  videoStartSeconds: Type.Optional(Type.Number()),
  /** The source's display rotation, which pieces do not carry: their encodes turn the picture. */
  rotation: Type.Optional(Type.Number()),
  /** The source is interlaced: every rung is deinterlaced before it is scaled. */
  interlaced: Type.Optional(Type.Boolean()),
  /** The source is HDR: every SDR rung is tone-mapped to SDR BT.709 once scaled. */
  hdr: Type.Optional(HdrColourSchema),
  /**
   * The source is HDR and its HDR rungs keep it: 10-bit, its colour and HDR10 metadata. Alone
   * (ladder.hdr "keep"), every rung is HDR; beside `hdr` ("both"), the rungs flagged `hdr` are.
   */
  hdrKept: Type.Optional(HdrColourSchema),
  /**
   * The source's audio streams, in order, each encoded as its own rendition (a plan made before
   * this list has one, starting with the video, when `audio` is set).
   */
  audioTracks: Type.Optional(Type.Array(AudioTrackPlanSchema, { maxItems: MAX_AUDIO_RENDITIONS })),
  /** The source's text subtitle streams, each a WebVTT rendition, converted by the plan step. */
  subtitleTracks: Type.Optional(Type.Array(SubtitleTrackPlanSchema, { maxItems: MAX_SUBTITLE_RENDITIONS })),
  /** Why a source long enough to be chunked has its rungs encoded whole. */
  chunkNote: Type.Optional(Type.String()),
  /** Why some of the source's audio streams have no rendition. */
  audioNote: Type.Optional(Type.String()),
  /**
   * Why some of the source's subtitle streams have no rendition (pictures, not convertible, no
   * cues, more than any film has, past the 16 carried), each named `0:<index>`.
   */
  subtitleNote: Type.Optional(Type.String()),
});
export type LadderPlan = Static<typeof LadderPlanSchema>;

const pad = (n: number) => String(n).padStart(6, '0');

export const ladderScratch = {
  rung: (plan: Pick<LadderPlan, 'scratch'>, rung: Pick<PlannedRung, 'name'>) =>
    `${plan.scratch}rungs/${rung.name}.mp4`,
  /** One chunk of one rung. */
  chunk: (plan: Pick<LadderPlan, 'scratch'>, rung: Pick<PlannedRung, 'name'>, index: number) =>
    `${plan.scratch}rungs/${rung.name}/${pad(index)}.mp4`,
  /** The piece of the source a chunk of every rung is encoded from (as a chunked encode cuts it). */
  piece: (plan: Pick<LadderPlan, 'scratch'>, index: number) => splitScratch.piece(plan, index),
  /** The i-th audio stream's rendition (the first keeps the name a single one has). */
  audio: (plan: Pick<LadderPlan, 'scratch'>, track = 0) => `${plan.scratch}${audioRenditionName(track)}.m4a`,
  /** A subtitle stream (by ffprobe's index) as WebVTT on the rungs' timeline. */
  subtitles: (plan: Pick<LadderPlan, 'scratch'>, track: Pick<SubtitleTrackPlan, 'index'>) =>
    `${plan.scratch}subtitles-s${track.index}.vtt`,
  all(plan: LadderPlan): string[] {
    const video = plan.chunks
      ? [
          ...plan.chunks.map((c) => this.piece(plan, c.index)),
          ...plan.rungs.kept.flatMap((r) => plan.chunks!.map((c) => this.chunk(plan, r, c.index))),
        ]
      : plan.rungs.kept.map((r) => this.rung(plan, r));
    return [
      ...video,
      ...audioTracksOf(plan).map((_, i) => this.audio(plan, i)),
      ...(plan.subtitleTracks ?? []).map((track) => this.subtitles(plan, track)),
    ];
  },
};

/** Child ids: deterministic, never a colon. */
export const ladderChildId = {
  rung: (parentId: string, rung: Pick<PlannedRung, 'name'>) => `${parentId}-${rung.name}`,
  chunk: (parentId: string, rung: Pick<PlannedRung, 'name'>, index: number) =>
    `${parentId}-${rung.name}-c${index}`,
  audio: (parentId: string, track = 0) => `${parentId}-a${track === 0 ? '' : track}`,
};

/**
 * Where a ladder's rungs are cut into chunks: at the source's keyframes that sit on the 2 s
 * keyframe grid, near each multiple of the chunk length, so every chunk starts with the
 * keyframe the whole encode would have put there and the joined rung has its keyframes where
 * every other rung has them. No chunks (each rung encoded whole) for a short source, when
 * chunking is off, or when the source cannot be cut on the grid (the note says why).
 */
export function planLadderChunks(
  video: VideoTrack,
  chunkSeconds: number | undefined,
  inputOptions: string | undefined,
): { chunks?: Chunk[]; note?: string } {
  const duration = video.endSeconds - video.startSeconds;
  if (chunkSeconds === undefined || duration < 1.5 * chunkSeconds) return {};
  if (inputOptions)
    return {
      note: 'the input has options of its own, which apply to the whole source: each rung is encoded whole',
    };
  const keyframes = gridKeyframes(video, LADDER_GOP_SECONDS, video.startSeconds);
  const chunks = planChunks({ ...video, keyframes }, chunkSeconds);
  if (chunks.length > 1) return { chunks };
  return {
    note: `the source has no keyframes on the ${LADDER_GOP_SECONDS} s grid to cut it at: each rung is encoded whole`,
  };
}

/** Frames between forced keyframes at the rungs' rate (an upper bound for the encoder's own GOP). */
function gopFrames(frameRate: number): number {
  return Math.max(1, Math.round(LADDER_GOP_SECONDS * frameRate));
}

/**
 * How one rung of the plan is encoded: its codec, and for an HDR source either the colour it
 * keeps (an HDR rung) or the colour it is tone-mapped from (an SDR rung). Beside HDR rungs
 * (ladder.hdr "both"), the SDR ones are H.264.
 */
export function rungEncoding(
  settings: Pick<LadderSettings, 'codec'>,
  plan: Pick<LadderPlan, 'hdr' | 'hdrKept'>,
  rung: PlannedRung,
): { codec: LadderCodec; keep?: HdrColour; toneMap?: HdrColour } {
  if (plan.hdrKept && (rung.hdr || !plan.hdr)) return { codec: settings.codec, keep: plan.hdrKept };
  if (plan.hdr) return { codec: plan.hdrKept ? SDR_BESIDE_HDR_CODEC : settings.codec, toneMap: plan.hdr };
  return { codec: settings.codec };
}

/**
 * One rung's encode: deinterlaced if the source is, one frame in `frameStep` kept, turned upright
 * when read from a piece (`turn`), scaled to its size in square pixels, tone-mapped if the
 * source is HDR (unless the rung keeps it: then 10-bit, tagged and described as the source),
 * its bitrate (peak held to 110 %), keyframes where `keyframes` says and nowhere else.
 */
function rungArgs(
  settings: LadderSettings,
  plan: LadderPlan,
  rung: PlannedRung,
  keyframes: string,
  turn?: number,
): string[] {
  const { codec, keep, toneMap } = rungEncoding(settings, plan, rung);
  const gop = gopFrames(rungFrameRate(plan.frameRate, rung));
  const filters = [
    plan.interlaced ? DEINTERLACE_FILTER : undefined,
    rung.frameStep ? `framestep=${rung.frameStep}` : undefined,
    turn !== undefined ? rotationFilter(turn) : undefined,
    `scale=${rung.width}:${rung.height},setsar=1`,
    toneMap ? toneMapFilter(toneMap) : undefined,
  ];
  return [
    ...['-map', '0:v:0', '-an', '-sn', '-dn'],
    ...['-vf', filters.filter(Boolean).join(',')],
    ...['-c:v', LADDER_ENCODERS[codec].encoder, '-preset', presetFor(settings, codec)],
    ...['-b:v', `${rung.bitrateKbps}k`, '-maxrate', `${Math.round(rung.bitrateKbps * 1.1)}k`],
    ...['-bufsize', `${rung.bitrateKbps * 2}k`],
    ...['-g', String(gop), '-keyint_min', String(gop)],
    ...['-force_key_frames', keyframes],
    ...ladderEncoderArgs(codec, keep),
    ...(settings.threads !== undefined ? ['-threads', String(settings.threads)] : []),
  ];
}

/** The job that encodes one rung whole: a keyframe at every multiple of 2 s of the source. */
export function rungJobSpec(
  spec: JobSpec,
  settings: LadderSettings,
  plan: LadderPlan,
  rung: PlannedRung,
): JobSpec {
  const args = [
    ...rungArgs(settings, plan, rung, `expr:gte(t,n_forced*${LADDER_GOP_SECONDS})`),
    ...['-movflags', '+faststart'],
  ];
  return childSpec(spec, `rung-${rung.name}`, ladderScratch.rung(plan, rung), args, {
    threads: settings.threads,
  });
}

/**
 * The job that encodes one chunk of one rung from its piece: keyframes at the chunk's first
 * frame and at every multiple of 2 s of the source inside it (the same frames the whole
 * encode would make keyframes), timestamps as they are, so it holds exactly its planned frames.
 */
export function rungChunkJobSpec(
  spec: JobSpec,
  settings: LadderSettings,
  plan: LadderPlan,
  rung: PlannedRung,
  chunk: Chunk,
): JobSpec {
  const times = chunkKeyframeTimes(chunk, LADDER_GOP_SECONDS, plan.videoStartSeconds ?? 0);
  const args = [
    ...rungArgs(settings, plan, rung, times.map((t) => t.toFixed(6)).join(','), plan.rotation ?? 0),
    ...['-fps_mode', 'passthrough'],
  ];
  return childSpec(
    spec,
    `rung-${rung.name}.c${chunk.index}`,
    ladderScratch.chunk(plan, rung, chunk.index),
    args,
    { input: { url: ladderScratch.piece(plan, chunk.index) }, threads: settings.threads },
  );
}

/**
 * The job that encodes one audio stream once, AAC stereo, tagged with its language, starting
 * where the video does. Every rendition is packaged to start at 0, so audio that starts later
 * than the video is padded with silence and audio that starts earlier is cut, or it would play
 * early or late by the difference.
 */
export function ladderAudioJobSpec(
  spec: JobSpec,
  settings: LadderSettings,
  plan: LadderPlan,
  track = 0,
): JobSpec {
  const { language, offsetSeconds, streams = [track] } = audioTracksOf(plan)[track] ?? {};
  const alignment = audioAlignment(offsetSeconds ?? 0);
  // Several streams (a broadcast master's mono channels) are joined, in order, into one.
  const source =
    streams.length === 1
      ? ['-map', `0:a:${streams[0]}`, ...(alignment ? ['-af', alignment] : [])]
      : [
          '-filter_complex',
          `${streams.map((s) => `[0:a:${s}]`).join('')}amerge=inputs=${streams.length}${alignment ? `,${alignment}` : ''}[programme]`,
          ...['-map', '[programme]'],
        ];
  const args = [
    ...source,
    ...['-vn', '-sn', '-dn'],
    ...['-c:a', 'aac', '-b:a', `${settings.audioBitrateKbps}k`, '-ac', '2'],
    ...(language ? ['-metadata:s:a:0', `language=${language}`] : []),
  ];
  return childSpec(spec, audioRenditionName(track), ladderScratch.audio(plan, track), args);
}

/** The audio filters that move the first sample `offset` seconds after the video's first frame. */
function audioAlignment(offsetSeconds: number): string | undefined {
  if (Math.abs(offsetSeconds) < 0.0005) return undefined;
  const seconds = Math.abs(offsetSeconds).toFixed(6);
  return offsetSeconds > 0
    ? `adelay=delays=${Math.round(offsetSeconds * 1000)}:all=1`
    : `asetpts=PTS-STARTPTS,atrim=start=${seconds},asetpts=PTS-STARTPTS`;
}

/**
 * A child of the ladder: the job's source (or `input`, a scratch piece) in, `output` out. With
 * `threads`, its decoding and filtering get that many threads too, not only its encoder: ffmpeg
 * decodes on every core otherwise, and one rung would take the cores meant for others.
 */
function childSpec(
  spec: JobSpec,
  step: string,
  output: string,
  args: string[],
  options: { input?: { url: string; options?: string }; threads?: number } = {},
): JobSpec {
  const input = options.input ?? spec.inputs[0]!;
  const threads = options.threads;
  const join = (...parts: (string | undefined)[]) => parts.filter(Boolean).join(' ');
  const inputOptions = join(input.options, threads ? `-threads ${threads}` : undefined);
  const globalOptions = join(spec.globalOptions, threads ? `-filter_threads ${threads}` : undefined);
  const child: JobSpec = {
    name: `${spec.name.slice(0, 100)}.${step}`.slice(0, 128),
    compute: spec.compute,
    inputs: [{ url: input.url, ...(inputOptions ? { options: inputOptions } : {}) }],
    outputs: [{ url: output, options: quoteOptions(args) }],
    quality: false,
  };
  if (globalOptions) child.globalOptions = globalOptions;
  if (spec.instanceType) child.instanceType = spec.instanceType;
  for (const key of ['priority', 'timeoutSeconds', 'attempts'] as const)
    if (spec[key] !== undefined) child[key] = spec[key];
  return child;
}

const PREAMBLE = ['-hide_banner', '-nostdin', '-y', '-nostats'];

/** A local input, media demuxers only. */
function input(path: string): string[] {
  return ['-protocol_whitelist', 'file', '-format_whitelist', MEDIA_DEMUXERS.join(','), '-i', path];
}

/**
 * Subtitle streams of the source as WebVTT files, in one read of the source (`inputArgs`, as
 * the analysis read it), on the source's own timeline (`-copyts`): the cues are then moved onto
 * the rungs', whose first frame is 0. Each file stops a byte past `maxBytes`.
 */
export function subtitleArgs(
  inputArgs: readonly string[],
  streams: readonly { index: number; file: string }[],
  maxBytes: number,
): string[] {
  const argv = [...PREAMBLE, '-copyts', ...inputArgs];
  for (const { index, file } of streams)
    argv.push('-map', `0:${index}`, '-c:s', 'webvtt', '-fs', String(maxBytes + 1), '-f', 'webvtt', file);
  return argv;
}

/**
 * One HLS rendition (fMP4 segments cut at the keyframes nearest each multiple of the target) by
 * stream copy. With `offsetSeconds`, its first frame shows that late (or after its B-frames'
 * delay, if longer): an audio rendition or a rung made to start where the other rungs' first
 * frame shows.
 */
export function hlsRenditionArgs(
  source: string,
  folder: string,
  segmentSeconds: number,
  offsetSeconds = 0,
): string[] {
  return [
    ...PREAMBLE,
    ...input(source),
    ...['-map', '0', '-c', 'copy'],
    ...(offsetSeconds > 0 ? ['-output_ts_offset', offsetSeconds.toFixed(6)] : []),
    ...['-f', 'hls', '-hls_time', String(segmentSeconds)],
    ...['-hls_playlist_type', 'vod', '-hls_segment_type', 'fmp4', '-hls_fmp4_init_filename', 'init.mp4'],
    ...['-hls_flags', 'independent_segments', '-hls_segment_filename', `${folder}/seg-%05d.m4s`],
    `${folder}/index.m3u8`,
  ];
}

/**
 * The video adaptation sets of a ladder's MPD, as output stream indexes: one holding every rung,
 * or, when some rungs are HDR and some SDR (ladder.hdr "both"), the SDR rungs (id 0) and the
 * HDR rungs (id 1), since a player cannot switch between the two mid-stream.
 */
export function dashVideoSets(hdrRungs: readonly boolean[]): number[][] {
  const indexes = hdrRungs.map((_, i) => i);
  const hdr = indexes.filter((i) => hdrRungs[i]);
  if (hdr.length === 0 || hdr.length === indexes.length) return [indexes];
  return [indexes.filter((i) => !hdrRungs[i]), hdr];
}

/**
 * The DASH packaging, by stream copy: the rungs (one video adaptation set, or two when
 * `hdrRungs` marks some of them HDR: see dashVideoSets) and each audio rendition (one set each).
 * With more than one audio set, each says its DASH role: `main` for the programme's sound,
 * else `commentary` or `description`.
 */
export function dashArgs(
  rungs: readonly string[],
  audio: readonly { file: string; role?: AudioRole }[],
  manifest: string,
  segmentSeconds: number,
  hdrRungs: readonly boolean[] = rungs.map(() => false),
): string[] {
  const argv = [...PREAMBLE];
  for (const file of [...rungs, ...audio.map((a) => a.file)]) argv.push(...input(file));
  rungs.forEach((_, i) => {
    argv.push('-map', `${i}:v:0`);
  });
  audio.forEach((_, i) => {
    argv.push('-map', `${rungs.length + i}:a:0`);
  });
  if (audio.length > 1)
    audio.forEach((a, i) => {
      argv.push(`-metadata:s:a:${i}`, `role=${a.role ?? 'main'}`);
    });
  // Output streams: the rungs first, then the audio renditions, each audio its own set.
  const video = dashVideoSets(hdrRungs);
  const sets = [
    ...video.map((streams, id) => `id=${id},streams=${streams.join(',')}`),
    ...audio.map((_, i) => `id=${video.length + i},streams=${rungs.length + i}`),
  ];
  argv.push(
    ...[
      '-c',
      'copy',
      '-f',
      'dash',
      '-seg_duration',
      String(segmentSeconds),
      '-use_template',
      '1',
      '-use_timeline',
      '1',
    ],
    ...['-adaptation_sets', sets.join(' ')],
    ...['-init_seg_name', 'dash/init-$RepresentationID$.m4s'],
    ...['-media_seg_name', 'dash/seg-$RepresentationID$-$Number%05d$.m4s'],
    manifest,
  );
  return argv;
}
