/**
 * The steps of a chunked encode. The parent job runs two commands itself, built here as argv
 * (the worker decides every path); the chunk and audio encodes in between are ordinary jobs,
 * whose specs are built here too, so they pass the command model again on their workers.
 *
 *   split   (parent) the source's video → one piece per chunk, stream copy, cut at the planned
 *           keyframes with the source's timestamps; its audio → one file, stream copy
 *   chunk   (a job) a piece → the job's video encode, first frame a keyframe, frames as they are
 *   audio   (a job) the extracted audio → the job's audio encode, once, whole
 *   join    (parent) the chunks, each placed at its planned time by an ffconcat list, plus the
 *           audio, stream copy, with the job's muxer options
 */
import { posix } from 'node:path';
import { type Static, Type } from '@sinclair/typebox';
import type { CommandPlan } from '../ffmpeg/command.ts';
import { MEDIA_DEMUXERS } from '../ffmpeg/option-table.ts';
import type { ParsedOption } from '../ffmpeg/options.ts';
import { quoteOptions } from '../ffmpeg/tokenize.ts';
import type { JobSpec } from '../jobs/spec.ts';
import type { StorageUrl } from '../storage/url.ts';
import { type Chunk, ChunkSchema, planChunks } from './chunk-plan.ts';
import type { Colour, MediaAnalysis } from './media-analysis.ts';
import {
  checkSplittableMedia,
  chunkHdr10Params,
  optionArgs,
  type SplitOptions,
  splitOptions,
  withHdr10Params,
} from './split-rules.ts';

/** Pieces and the extracted audio keep exact timestamps and any codec in NUT. */
export const PIECE_FORMAT = 'nut';

/** What the plan step decided, kept in the parent job for the join (which never lists scratch). */
export const SplitPlanSchema = Type.Object({
  segmentSeconds: Type.Number(),
  chunks: Type.Array(ChunkSchema),
  videoStartSeconds: Type.Number(),
  videoEndSeconds: Type.Number(),
  frameRate: Type.Number(),
  /** Start of the first audio stream; absent when the output has no audio. */
  audioStartSeconds: Type.Optional(Type.Number()),
  /** Folder URL (ending in /) of the job's scratch objects. */
  scratch: Type.String(),
  /** File extension of chunk and audio files: the output's, so its muxer takes them. */
  extension: Type.String({ pattern: '^\\.[A-Za-z0-9]{1,8}$' }),
});
export type SplitPlan = Static<typeof SplitPlanSchema>;

/** The scratch objects of a split job, by deterministic name. */
export const splitScratch = {
  piece: (plan: Pick<SplitPlan, 'scratch'>, index: number) =>
    `${plan.scratch}pieces/${pad(index)}.${PIECE_FORMAT}`,
  chunk: (plan: SplitPlan, index: number) => `${plan.scratch}chunks/${pad(index)}${plan.extension}`,
  audioSource: (plan: Pick<SplitPlan, 'scratch'>) => `${plan.scratch}audio-source.${PIECE_FORMAT}`,
  audio: (plan: SplitPlan) => `${plan.scratch}audio${plan.extension}`,
  /** Every object the job may have written, for its cleanup. */
  all(plan: SplitPlan): string[] {
    return [
      ...plan.chunks.flatMap((c) => [this.piece(plan, c.index), this.chunk(plan, c.index)]),
      this.audioSource(plan),
      this.audio(plan),
    ];
  },
};

const pad = (n: number) => String(n).padStart(6, '0');

/** Before every input: local files only, media demuxers only (plus concat for the worker's own list). */
function hardened(path: string, demuxer?: 'concat'): string[] {
  return [
    ...(demuxer ? ['-f', demuxer] : []),
    '-protocol_whitelist',
    'file,pipe',
    '-format_whitelist',
    (demuxer ? [demuxer, ...MEDIA_DEMUXERS] : MEDIA_DEMUXERS).join(','),
    '-i',
    path,
  ];
}

const PREAMBLE = ['-hide_banner', '-nostdin', '-y', '-nostats', '-progress', 'pipe:1'];

/**
 * Cuts the source into pieces at the chunk boundaries without re-encoding. The cut times sit a
 * hair before each boundary keyframe, so the segmenter cuts exactly there; `-copyts` keeps the
 * source's own timestamps, which the plan is written in.
 */
export function splitSourceArgs(
  source: string,
  media: MediaAnalysis,
  chunks: readonly Chunk[],
  out: { piecePattern: string; audio?: string },
): string[] {
  const video = media.video!;
  const halfFrame = 0.5 / Math.max(video.frameRate, 1);
  const times = chunks.slice(1).map((c) => (c.startSeconds - Math.min(0.001, halfFrame)).toFixed(6));
  const argv = [
    ...PREAMBLE,
    '-copyts',
    ...hardened(source),
    ...['-map', `0:${video.index}`, '-c', 'copy', '-f', 'segment', '-segment_format', PIECE_FORMAT],
    ...(times.length > 0 ? ['-segment_times', times.join(',')] : ['-segment_time', '1000000000']),
    ...['-reset_timestamps', '0', '-segment_start_number', '0', out.piecePattern],
  ];
  if (out.audio && media.audio.length > 0)
    argv.push('-map', '0:a', '-c', 'copy', '-f', PIECE_FORMAT, out.audio);
  return argv;
}

/** The parts of a split job its steps need. */
export interface SplitJob {
  spec: JobSpec;
  plan: CommandPlan;
  split: SplitOptions;
}

export function splitJobOf(spec: JobSpec, plan: CommandPlan): SplitJob {
  return { spec, plan, split: splitOptions(plan) };
}

/** The file extension chunks and audio are written with: the output's own. */
export function splitExtension(job: SplitJob): string {
  const ext = posix.extname(job.plan.outputs[0]!.localName);
  return /^\.[A-Za-z0-9]{1,8}$/.test(ext) ? ext : '.mkv';
}

/**
 * The job that encodes one chunk: the piece in, the job's decoder and video options with the
 * pipeline's own (no audio, timestamps kept unless the job sets a rate, a keyframe at each of
 * `keyframeTimes` (relative to the chunk), the source's colour tags unless the job's filters set
 * the colour, and its HDR10 metadata in the encoder's parameters when only its container held
 * it), the chunk out. A piece
 * carries no display matrix, so a rotated source is turned here as ffmpeg's autorotation turns
 * it in a single-pass encode (before the job's own filters); a split job cannot switch that off.
 */
export function chunkJobSpec(
  job: SplitJob,
  media: MediaAnalysis,
  plan: SplitPlan,
  chunk: Chunk,
  keyframeTimes: readonly number[] = [0],
): JobSpec {
  const input = job.plan.inputs[0]!.options;
  const turn = rotationFilter(media.video!.rotation);
  // HDR10 metadata that only the source's container held goes into every chunk's stream.
  const video = withHdr10Params(job.split.video, chunkHdr10Params(job.split, media));
  const output = [
    ...withFilterFirst(video, turn),
    ...['-an', '-sn', '-dn'],
    ...['-fps_mode', job.split.changesFrameRate ? 'cfr' : 'passthrough'],
    ...['-force_key_frames', keyframeTimes.map((t) => t.toFixed(6)).join(',')],
    // The source's colour, unless the job's own filters set another, which the frames then carry.
    ...(job.split.changesColour ? [] : colourArgs(media.video!.colour, job.split.video)),
    ...muxerArg(job),
  ];
  const spec = childSpec(job, `chunk`, {
    input: {
      url: splitScratch.piece(plan, chunk.index),
      args: optionArgs(input.filter((o) => o.name !== 'f')),
    },
    output: { url: splitScratch.chunk(plan, chunk.index), args: output },
  });
  // Each chunk searches its own CRF for the job's target.
  if (job.spec.targetQuality) spec.targetQuality = job.spec.targetQuality;
  return spec;
}

/** The job that encodes every audio stream once, whole, with the job's audio options. */
export function audioJobSpec(job: SplitJob, plan: SplitPlan): JobSpec {
  return childSpec(job, 'audio', {
    input: { url: splitScratch.audioSource(plan), args: [] },
    output: {
      url: splitScratch.audio(plan),
      args: ['-map', '0:a', '-vn', '-sn', '-dn', ...optionArgs(job.split.audio), ...muxerArg(job)],
    },
  });
}

function childSpec(
  job: SplitJob,
  step: string,
  io: { input: { url: string; args: string[] }; output: { url: string; args: string[] } },
): JobSpec {
  const { spec } = job;
  const child: JobSpec = {
    name: `${spec.name.slice(0, 120)}.${step}`,
    compute: spec.compute,
    inputs: [
      { url: io.input.url, ...(io.input.args.length ? { options: quoteOptions(io.input.args) } : {}) },
    ],
    outputs: [{ url: io.output.url, options: quoteOptions(io.output.args) }],
    quality: false,
  };
  if (spec.globalOptions) child.globalOptions = spec.globalOptions;
  if (spec.instanceType) child.instanceType = spec.instanceType;
  for (const key of ['priority', 'timeoutSeconds', 'attempts'] as const)
    if (spec[key] !== undefined) child[key] = spec[key];
  return child;
}

function muxerArg(job: SplitJob): string[] {
  const muxer = job.split.muxer.find((o) => o.name === 'f')?.value;
  return muxer ? ['-f', muxer] : [];
}

/** The ffconcat list of the join: each chunk at its planned place on the timeline. */
export function concatList(chunks: readonly { file: string; chunk: Chunk }[]): string {
  const lines = ['ffconcat version 1.0'];
  for (const { file, chunk } of chunks) {
    if (!/^[A-Za-z0-9._-]+$/.test(file)) throw new Error(`chunk file name "${file}" is not a plain name`);
    lines.push(`file ${file}`, `duration ${(chunk.endSeconds - chunk.startSeconds).toFixed(6)}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Joins the chunks and the audio by stream copy. The audio keeps its offset from the video
 * in the source, and the job's muxer options (`-movflags`, `-metadata`, `-f`…) apply here.
 */
export function joinArgs(
  job: SplitJob,
  plan: SplitPlan,
  files: { list: string; audio?: string; output: string },
): string[] {
  const audio =
    files.audio !== undefined && plan.audioStartSeconds !== undefined
      ? { file: files.audio, offsetSeconds: plan.audioStartSeconds - plan.videoStartSeconds }
      : undefined;
  return concatArgs(
    { list: files.list, output: files.output, ...(audio ? { audio } : {}) },
    optionArgs(job.split.muxer),
  );
}

/**
 * The chunks of an ffconcat list joined into one video by stream copy, with an audio file
 * muxed in at its offset from the video when there is one, and `muxer` options for the output.
 */
export function concatArgs(
  files: { list: string; audio?: { file: string; offsetSeconds: number }; output: string },
  muxer: readonly string[] = [],
): string[] {
  const argv = [...PREAMBLE, ...hardened(files.list, 'concat')];
  if (files.audio) {
    if (Math.abs(files.audio.offsetSeconds) > 1e-6)
      argv.push('-itsoffset', files.audio.offsetSeconds.toFixed(6));
    argv.push(...hardened(files.audio.file));
  }
  argv.push(
    ...['-map', '0:v', ...(files.audio ? ['-map', '1:a'] : []), '-c', 'copy'],
    ...muxer,
    files.output,
  );
  return argv;
}

/**
 * Deinterlacing, for the pictures a ladder or previews make of an interlaced source (HLS
 * authoring asks for it): each frame's two fields made into one frame, at the same rate, and
 * only frames the decoder marks interlaced touched.
 */
export const DEINTERLACE_FILTER = 'bwdif=mode=send_frame:deint=interlaced';

/**
 * The filters a ladder rung or a preview runs on the source's frames before its own: the
 * fields made into frames, then, for a piece (which has no display matrix), the upright turn.
 */
export function sourceFilters(source: { interlaced?: boolean; turn?: number }): string | undefined {
  const filters = [
    source.interlaced ? DEINTERLACE_FILTER : undefined,
    source.turn !== undefined ? rotationFilter(source.turn) : undefined,
  ].filter(Boolean);
  return filters.length > 0 ? filters.join(',') : undefined;
}

/** The filter ffmpeg's autorotation inserts for a display rotation (as ffprobe reports it), if any. */
export function rotationFilter(rotation: number): string | undefined {
  switch ((360 - rotation) % 360) {
    case 90:
      return 'transpose=clock';
    case 180:
      return 'hflip,vflip';
    case 270:
      return 'transpose=cclock';
    default:
      return undefined;
  }
}

/** The video options as argv, with `filter` run before the job's own video filters. */
function withFilterFirst(video: readonly ParsedOption[], filter: string | undefined): string[] {
  if (!filter) return optionArgs(video);
  const graph = video.find((o) => o.kind === 'filtergraph');
  if (!graph) return [...optionArgs(video), '-vf', filter];
  return optionArgs(video.map((o) => (o === graph ? { ...o, value: `${filter},${o.value}` } : o)));
}

/** The source's colour tags, for an encoder the job did not tell otherwise. */
function colourArgs(colour: Colour, video: readonly ParsedOption[]): string[] {
  const set = new Set(video.map((o) => o.name));
  const args: string[] = [];
  const pairs: [string, string | undefined][] = [
    ['color_primaries', colour.primaries],
    ['color_trc', colour.transfer],
    ['colorspace', colour.space],
    ['color_range', colour.range],
  ];
  for (const [name, value] of pairs) if (value && !set.has(name)) args.push(`-${name}`, value);
  return args;
}

/** The plan step's decision: chunks at the source's keyframes, and where every scratch object goes. */
export function planSplit(job: SplitJob, media: MediaAnalysis, scratch: string): SplitPlan {
  checkSplittableMedia(media, job.split);
  const video = media.video!;
  const plan: SplitPlan = {
    segmentSeconds: job.spec.split!.segmentSeconds,
    chunks: planChunks(video, job.spec.split!.segmentSeconds),
    videoStartSeconds: video.startSeconds,
    videoEndSeconds: video.endSeconds,
    frameRate: video.frameRate,
    scratch,
    extension: splitExtension(job),
  };
  if (media.audio.length > 0 && !job.split.noAudio) plan.audioStartSeconds = media.audio[0]!.startSeconds;
  return plan;
}

/**
 * The folder of one job's scratch objects: beside its output, under the fleet's scratch
 * prefix, named by the job id (so two jobs never share one, and a retry finds its own).
 */
export function scratchFolder(output: StorageUrl, prefix: string, jobId: string): string {
  const safeId = jobId.replace(/[^A-Za-z0-9-]/g, '_');
  const folder = `${prefix.replace(/^\/+|\/+$/g, '')}/${safeId}/`;
  return output.scheme === 's3' ? `s3://${output.bucket}/${folder}` : `file:///${folder}`;
}
