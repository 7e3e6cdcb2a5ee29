/**
 * Which jobs can be encoded in chunks, and how a splittable job's output options divide
 * between the chunk encodes (video), the one audio encode and the join (the muxer).
 *
 * A chunk is encoded on its own, from its first frame, with timestamps that start at zero.
 * Anything that counts frames or time from the start of the stream, changes timestamps, or
 * spans several streams would come out different in every chunk; such jobs are refused
 * with the reasons, and the same job without `split` still runs as one encode.
 */
import { FfleetError } from '../errors.ts';
import type { CommandPlan } from '../ffmpeg/command.ts';
import { type FilterNode, parseFiltergraph } from '../ffmpeg/filtergraph.ts';
import type { ParsedOption } from '../ffmpeg/options.ts';
import { type Hdr10Metadata, svtAv1Hdr10Params, x265Hdr10Params } from './hdr10.ts';
import type { MediaAnalysis } from './media-analysis.ts';
import { videoEncoder } from './target-quality.ts';
import { HDR_TRANSFERS } from './tone-map.ts';

/** The output options of a splittable job, by the step that applies them. */
export interface SplitOptions {
  /** Video encoder and filter options: every chunk encode. */
  video: ParsedOption[];
  /** Audio encoder and filter options: the one audio encode. */
  audio: ParsedOption[];
  /** Container options (`-movflags`, `-metadata`, `-f`, …): the join. */
  muxer: ParsedOption[];
  /** The job keeps no audio (`-an`). */
  noAudio: boolean;
  /** The job changes the frame rate (`-r` or an `fps` filter): chunk frame counts are then checked by duration. */
  changesFrameRate: boolean;
  /** The job's video filters set the colour (tone mapping, a colour space conversion): its frames carry theirs. */
  changesColour: boolean;
}

/** Filters that set the colour properties of the frames they output. */
const COLOUR_FILTERS = new Set([
  'zscale',
  'tonemap',
  'tonemap_opencl',
  'tonemap_vaapi',
  'libplacebo',
  'colorspace',
  'colorspace_cuda',
  'colormatrix',
  'setparams',
  'setrange',
]);
/** Options of the scale filters (`scale`, `scale_vaapi`, …) that set the output's colour. */
const SCALE_COLOUR_OPTION = /^out_(color_matrix|range|color_primaries|color_transfer|primaries|transfer)$/;

const INPUT_REFUSED: Record<string, string> = {
  ss: 'input seeking',
  sseof: 'input seeking',
  t: 'input trimming',
  to: 'input trimming',
  itsoffset: 'input time offsets',
  itsscale: 'input time scaling',
  stream_loop: 'input looping',
  loop: 'input looping',
  r: 'input frame-rate overrides',
  framerate: 'input frame-rate overrides',
};

const OUTPUT_REFUSED: Record<string, string> = {
  ss: 'output seeking starts every chunk later',
  sseof: 'output seeking starts every chunk later',
  t: 'an output duration would cut every chunk',
  to: 'an output end time would cut every chunk',
  frames: 'a frame limit would apply to every chunk',
  vframes: 'a frame limit would apply to every chunk',
  aframes: 'a frame limit would apply to every chunk',
  dframes: 'a frame limit would apply to every chunk',
  fs: 'a size limit would apply to every chunk',
  pass: 'two-pass encodes need the whole video in each pass',
  passlogfile: 'two-pass encodes need the whole video in each pass',
  map: 'streams are mapped by the pipeline (the first video stream and every audio stream)',
  shortest: 'streams are joined by the pipeline',
  fps_mode: 'the pipeline sets the timestamp mode of chunk encodes',
  vsync: 'the pipeline sets the timestamp mode of chunk encodes',
  force_key_frames: 'the pipeline places each chunk’s first keyframe',
  vn: 'there is no video to split',
  scodec: 'subtitle streams are not carried by chunked encodes',
  dcodec: 'data streams are not carried by chunked encodes',
};

const GLOBAL_REFUSED: Record<string, string> = {
  filter_complex: 'a complex filtergraph spans streams and the whole timeline',
  lavfi: 'a complex filtergraph spans streams and the whole timeline',
  copyts: 'the pipeline sets chunk timestamps',
  start_at_zero: 'the pipeline sets chunk timestamps',
  copytb: 'the pipeline sets chunk timestamps',
};

/** Video filters whose output depends on the frame's position in the whole stream. */
const TIMELINE_FILTERS: Record<string, string> = {
  fade: 'fade counts frames and time from the start of each chunk',
  reverse: 'reverse needs the whole video',
  loop: 'loop repeats frames across the whole video',
  trim: 'trim counts frames and time from the start of each chunk',
  setpts: 'setpts changes timestamps the join relies on',
  tpad: 'tpad would pad every chunk',
  framestep: 'framestep counts frames from the start of each chunk',
  zoompan: 'zoompan counts frames from the start of each chunk',
  palettegen: 'palettegen needs every frame of the video',
  thumbnail: 'thumbnail picks frames across the whole video',
};

/** A frame-number variable in a select expression, or a frame-number expansion in drawtext text. */
const FRAME_NUMBER: Record<string, RegExp> = {
  select: /(^|[^A-Za-z0-9_])(n|selected_n|prev_selected_n)([^A-Za-z0-9_]|$)/,
  drawtext: /%\{[^}]*\b(n|frame_num)\b/,
};

const MUXER_OPTIONS = new Set([
  'f',
  'movflags',
  'brand',
  'frag_duration',
  'min_frag_duration',
  'frag_size',
  'write_tmcd',
  'use_editlist',
  'mpegts_flags',
  'mpegts_copyts',
  'muxrate',
  'id3v2_version',
  'write_id3v1',
  'metadata',
  'map_metadata',
  'map_chapters',
  'disposition',
  'avoid_negative_ts',
  'muxdelay',
  'muxpreload',
  'max_interleave_delta',
  'timecode',
  'tag',
  'bsf',
]);
const AUDIO_OPTIONS = new Set([
  'acodec',
  'ab',
  'af',
  'ar',
  'ac',
  'channel_layout',
  'ch_layout',
  'sample_fmt',
  'vbr',
  'application',
  'frame_duration',
  'aac_coder',
  'cutoff',
]);
/** Options every step gets (they tune ffmpeg itself, not one stream). */
const SHARED_OPTIONS = new Set(['threads', 'max_muxing_queue_size', 'strict', 'y']);

/**
 * Why a pipeline whose children each read a piece of the source cannot take these input
 * options: each changes which frames the source has or when they are.
 */
export function refusedInputOptions(options: readonly ParsedOption[], pipeline: string): string[] {
  return options
    .filter((o) => INPUT_REFUSED[o.name])
    .map((o) => `inputs[0] ${o.token}: ${INPUT_REFUSED[o.name]} is not supported with ${pipeline}`);
}

/**
 * Why a pipeline cannot take `-noautorotate` or `-autorotate 0`: it turns a rotated source
 * upright as ffmpeg does by default, because what its children read and make (pieces, pictures,
 * rungs sized as the source is shown) carries no display matrix to show the picture otherwise.
 */
export function refusedAutorotationOff(options: readonly ParsedOption[], pipeline: string): string[] {
  return options
    .filter((o) => o.name === 'noautorotate' || (o.name === 'autorotate' && Number(o.value) === 0))
    .map(
      (o) =>
        `inputs[0] ${o.token}${o.value === undefined ? '' : ` ${o.value}`}: autorotation cannot be switched off with ${pipeline}, which always turn a rotated source upright`,
    );
}

/**
 * Checks that a job can be encoded in chunks and divides its output options between the
 * steps. Throws a 400 `not_splittable` listing every reason it cannot.
 */
export function splitOptions(plan: CommandPlan): SplitOptions {
  const reasons: string[] = [];
  if (plan.inputs.length !== 1) reasons.push('a split job reads exactly one input');
  if (plan.outputs.length !== 1) reasons.push('a split job writes exactly one output');
  const input = plan.inputs[0]!;
  const output = plan.outputs[0]!;
  if (input.list) reasons.push(`inputs[0] is a ${input.list} list; split a single video`);
  if (output.folder)
    reasons.push('folder outputs (HLS, DASH, frames) cannot be joined from chunks; write one file');
  for (const option of plan.globalOptions)
    if (GLOBAL_REFUSED[option.name])
      reasons.push(`globalOptions ${option.token}: ${GLOBAL_REFUSED[option.name]}`);
  reasons.push(...refusedInputOptions(input.options, 'split'));
  reasons.push(...refusedAutorotationOff(input.options, 'split encodes'));

  const divided: SplitOptions = {
    video: [],
    audio: [],
    muxer: [],
    noAudio: false,
    changesFrameRate: false,
    changesColour: false,
  };
  for (const option of output.options) {
    const refused = OUTPUT_REFUSED[option.name] ?? GLOBAL_REFUSED[option.name];
    if (refused) {
      reasons.push(`outputs[0] ${option.token}: ${refused}`);
      continue;
    }
    const stream = streamOf(option);
    if (stream === 's' || stream === 'd' || stream === 't') {
      reasons.push(
        `outputs[0] ${option.token}: subtitle and data streams are not carried by chunked encodes`,
      );
      continue;
    }
    if (isCopy(option) && stream !== 'a') {
      reasons.push(`outputs[0] ${option.token} ${option.value}: a stream copy is not worth splitting`);
      continue;
    }
    if (option.name === 'an') {
      divided.noAudio = true;
      continue;
    }
    // The video filters, parsed once for every rule below.
    const filters =
      option.kind === 'filtergraph' && stream !== 'a'
        ? parseFiltergraph(option.value ?? '').chains.flat()
        : [];
    reasons.push(...timelineProblems(option, filters));
    if (option.name === 'r' || filters.some((f) => f.name === 'fps')) divided.changesFrameRate = true;
    if (filters.some(setsColour)) divided.changesColour = true;
    if (SHARED_OPTIONS.has(option.name)) {
      divided.video.push(option);
      divided.audio.push(option);
    } else if (MUXER_OPTIONS.has(option.name)) divided.muxer.push(option);
    else if (stream === 'a' || (stream === undefined && AUDIO_OPTIONS.has(option.name)))
      divided.audio.push(option);
    else divided.video.push(option);
  }
  if (reasons.length > 0)
    throw new FfleetError(
      'not_splittable',
      `this job cannot be encoded in chunks: ${reasons.join('; ')}. Send it without "split" to encode it in one piece`,
      400,
      { reasons },
    );
  return divided;
}

/** argv words of parsed options, as written. */
export function optionArgs(options: readonly ParsedOption[]): string[] {
  return options.flatMap((o) => (o.value === undefined ? [o.token] : [o.token, o.value]));
}

/** The stream type an option's specifier names (`v`, `a`, `s`, `d`, `t`), or undefined for all streams. */
function streamOf(option: ParsedOption): string | undefined {
  if (option.name === 'vf' || option.name === 'vcodec' || option.name === 'vb') return 'v';
  if (option.name === 'af' || option.name === 'acodec' || option.name === 'ab') return 'a';
  if (option.name === 'scodec') return 's';
  if (option.name === 'dcodec') return 'd';
  const type = option.specifier?.match(/^(?:[sgp]:)?([vVasdt])\b/)?.[1];
  return type === 'V' ? 'v' : type;
}

function isCopy(option: ParsedOption): boolean {
  return ['c', 'codec', 'vcodec'].includes(option.name) && option.value === 'copy';
}

function setsColour(filter: FilterNode): boolean {
  return (
    COLOUR_FILTERS.has(filter.name) ||
    (filter.name.startsWith('scale') && filter.args.some((arg) => SCALE_COLOUR_OPTION.test(arg.key ?? '')))
  );
}

function timelineProblems(option: ParsedOption, filters: readonly FilterNode[]): string[] {
  const problems: string[] = [];
  for (const filter of filters) {
    const why = TIMELINE_FILTERS[filter.name];
    if (why) problems.push(`outputs[0] ${option.token} ${filter.name}: ${why}`);
    else if (
      FRAME_NUMBER[filter.name] &&
      filter.args.some((arg) => FRAME_NUMBER[filter.name]!.test(arg.value))
    )
      problems.push(`outputs[0] ${option.token} ${filter.name}: frame numbers restart in every chunk`);
  }
  return problems;
}

/** The encoders a chunk can give the source's HDR10 metadata: the option and its parameters. */
const HDR10_ENCODER_PARAMS: Record<string, { option: string; params: (m: Hdr10Metadata) => string[] }> = {
  libx265: { option: 'x265-params', params: x265Hdr10Params },
  libsvtav1: { option: 'svtav1-params', params: svtAv1Hdr10Params },
};

/** Encoder parameters that write HDR10 metadata into a chunk's stream: `-x265-params hdr10=1:…`. */
export interface Hdr10Params {
  option: string;
  params: string[];
}

/**
 * How a chunked encode keeps the source's HDR10 metadata when it sits in the container
 * (Matroska's MasteringMetadata, MP4's mdcv and clli boxes), which neither the pieces nor the
 * join carry: the encoder parameters that write it into every chunk's stream (libx265's SEI,
 * libsvtav1's metadata OBUs). Undefined when there is nothing to keep: none in the container,
 * or the output takes another colour (the job's filters set one, or `-color_trc` tags an SDR
 * transfer). Null when the job's encoder cannot be given it.
 */
export function chunkHdr10Params(split: SplitOptions, media: MediaAnalysis): Hdr10Params | undefined | null {
  const video = media.video;
  if (!video || video.hdrSideData.length === 0 || split.changesColour) return undefined;
  const transfer = split.video.findLast((o) => o.name === 'color_trc')?.value;
  if (transfer !== undefined && !Object.values<string>(HDR_TRANSFERS).includes(transfer)) return undefined;
  const encoder = HDR10_ENCODER_PARAMS[videoEncoder(split.video) ?? ''];
  if (!encoder || !video.hdr10) return null;
  return { option: encoder.option, params: encoder.params(video.hdr10) };
}

/**
 * The video options with `hdr10`'s parameters added to the encoder's own (`-x265-params`),
 * each only where the job does not set it itself.
 */
export function withHdr10Params(
  video: readonly ParsedOption[],
  hdr10: Hdr10Params | undefined | null,
): ParsedOption[] {
  if (!hdr10) return [...video];
  const own = video.findLast((o) => o.name === hdr10.option);
  const keys = new Set((own?.value ?? '').split(':').map((p) => p.split('=')[0]));
  const added = hdr10.params.filter((p) => !keys.has(p.split('=')[0]));
  if (added.length === 0) return [...video];
  if (!own)
    return [
      ...video,
      { token: `-${hdr10.option}`, name: hdr10.option, value: added.join(':'), kind: 'params' },
    ];
  return video.map((o) => (o === own ? { ...o, value: [o.value, ...added].filter(Boolean).join(':') } : o));
}

/**
 * What only the source itself can tell, checked by the pipeline after it analysed it: a video
 * track to split, and no HDR10 side data in the container that the chunks could not carry (see
 * chunkHdr10Params). Throws a permanent `not_splittable` error.
 */
export function checkSplittableMedia(media: MediaAnalysis, split: SplitOptions): void {
  const reasons: string[] = [];
  if (!media.video) reasons.push('the input has no video stream');
  else if (chunkHdr10Params(split, media) === null) {
    const encoder = videoEncoder(split.video);
    reasons.push(
      `the input's HDR10 side data (${media.video.hdrSideData.join(', ')}) would be lost by the join: ` +
        (encoder && HDR10_ENCODER_PARAMS[encoder]
          ? `its values could not be read to write them into the chunks' stream`
          : `chunks carry it in their stream with libx265 or libsvtav1, not with ${encoder ?? "the format's default encoder"}`),
    );
  }
  if (reasons.length > 0)
    throw new FfleetError(
      'not_splittable',
      `this input cannot be encoded in chunks: ${reasons.join('; ')}. Send the job without "split"`,
      400,
      { reasons },
    );
}
