/**
 * The ffmpeg commands of a chunked encode, as argv (without the binary). The worker decides
 * every path; a job's own options enter only as already-checked option lists (split-rules.ts).
 *
 *   split   the source's video → one piece per chunk (stream copy, cut at the planned
 *           keyframes, source timestamps kept), its audio → one file (stream copy)
 *   chunk   a piece → the job's video encode, first frame a keyframe, frames kept as they are
 *   audio   the extracted audio → the job's audio encode, once, whole
 *   join    the chunks (an ffconcat list placing each at its planned time) + the audio,
 *           stream copy, the job's muxer options
 */
import { MEDIA_DEMUXERS } from '../ffmpeg/option-table.ts';
import type { ParsedOption } from '../ffmpeg/options.ts';
import type { Chunk } from './chunk-plan.ts';
import type { Colour, MediaAnalysis } from './media-analysis.ts';
import { optionArgs, type SplitOptions } from './split-rules.ts';

/** Pieces and the extracted audio keep exact timestamps and any codec in NUT. */
export const PIECE_FORMAT = 'nut';

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

export interface ChunkEncode {
  piece: string;
  output: string;
  /** The output's muxer (`-f`), when the job names one; else ffmpeg goes by the file name. */
  muxer?: string;
  /** Keyframe times relative to the chunk's start (the first frame always is one). */
  keyframeTimes?: readonly number[];
}

/** The parts of a split job the steps need: its global and input options and its divided output options. */
export interface SplitJob {
  global: readonly ParsedOption[];
  input: readonly ParsedOption[];
  split: SplitOptions;
}

/**
 * Encodes one piece with the job's video options. A piece carries no display matrix, so a
 * rotated source is turned here the way ffmpeg's autorotation turns it in a single-pass
 * encode (before the job's own filters), unless the job says `-noautorotate`.
 */
export function chunkEncodeArgs(job: SplitJob, media: MediaAnalysis, chunk: ChunkEncode): string[] {
  const turn = job.input.some((o) => o.name === 'noautorotate')
    ? undefined
    : rotationFilter(media.video!.rotation);
  return [
    ...PREAMBLE,
    ...optionArgs(job.global),
    // The job's decoder options (hwaccel…) apply to the piece; its demuxer does not.
    ...optionArgs(job.input.filter((o) => o.name !== 'f')),
    ...hardened(chunk.piece),
    ...withFilterFirst(job.split.video, turn),
    ...['-an', '-sn', '-dn'],
    // Frames keep their timestamps (variable frame rates survive) unless the job sets a rate.
    ...['-fps_mode', job.split.changesFrameRate ? 'cfr' : 'passthrough'],
    ...['-force_key_frames', (chunk.keyframeTimes ?? [0]).map((t) => t.toFixed(6)).join(',')],
    ...colourArgs(media.video!.colour, job.split.video),
    ...(chunk.muxer ? ['-f', chunk.muxer] : []),
    chunk.output,
  ];
}

/** Encodes every audio stream once, whole, with the job's audio options. */
export function audioEncodeArgs(
  job: SplitJob,
  audio: { input: string; output: string; muxer?: string },
): string[] {
  return [
    ...PREAMBLE,
    ...optionArgs(job.global),
    ...hardened(audio.input),
    ...['-map', '0:a', '-vn', '-sn', '-dn'],
    ...optionArgs(job.split.audio),
    ...(audio.muxer ? ['-f', audio.muxer] : []),
    audio.output,
  ];
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
  media: MediaAnalysis,
  join: { list: string; audio?: string; output: string },
): string[] {
  const argv = [...PREAMBLE, ...hardened(join.list, 'concat')];
  const audio = join.audio && media.audio.length > 0 && !job.split.noAudio;
  if (audio) {
    const offset = media.audio[0]!.startSeconds - media.video!.startSeconds;
    if (Math.abs(offset) > 1e-6) argv.push('-itsoffset', offset.toFixed(6));
    argv.push(...hardened(join.audio!));
  }
  argv.push(
    '-map',
    '0:v',
    ...(audio ? ['-map', '1:a'] : []),
    '-c',
    'copy',
    ...optionArgs(job.split.muxer),
    join.output,
  );
  return argv;
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

/** The video options with `filter` run before the job's own video filters. */
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
