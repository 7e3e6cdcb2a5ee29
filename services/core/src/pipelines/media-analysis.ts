/**
 * What a pipeline needs to know about a source before it splits it: duration, the video
 * track's frames and keyframes, frame rate (constant or variable), colour and HDR tags,
 * rotation, pixel shape, interlacing, and the audio tracks. Built from ffprobe's JSON (streams
 * and format) and its packet list of the first video stream; the worker runs ffprobe, this
 * module only reads.
 */
import { type Static, Type } from '@sinclair/typebox';
import { type DolbyVision, type DolbyVisionSideData, dolbyVisionOf } from './dolby-vision.ts';
import { type Hdr10Metadata, type HdrSideData, hdr10MetadataOf } from './hdr10.ts';

export interface Colour {
  range?: string;
  space?: string;
  primaries?: string;
  transfer?: string;
}

export interface VideoTrack {
  /** ffprobe's stream index. */
  index: number;
  codec: string;
  width: number;
  height: number;
  pixelFormat?: string;
  /** The display rotation in degrees, 0–359, as ffprobe reports it (display matrix, else the rotate tag). */
  rotation: number;
  /** Width ÷ height of one stored pixel: 1 for square pixels, 4/3 for HDV's 1440x1080 shown 16:9. */
  sampleAspectRatio: number;
  /** Stored as fields (ffprobe's field_order is tt, bb, tb or bt), as broadcast and DV sources are. */
  interlaced: boolean;
  /** Nominal rate (ffprobe's r_frame_rate), frames per second. */
  frameRate: number;
  /** Frames ÷ duration. */
  averageFrameRate: number;
  /** Frame durations differ by more than 1 %. */
  variableFrameRate: boolean;
  /** Presentation time of the first frame, in seconds. */
  startSeconds: number;
  /** Presentation time just after the last frame (its timestamp plus its duration). */
  endSeconds: number;
  /** Presentation timestamps of every frame, ascending, in seconds. */
  frameTimes: number[];
  /** Keyframes a chunk may start at: no frame decoded after one is shown before it (closed GOP). */
  keyframes: number[];
  colour: Colour;
  /** HDR10 side data (mastering display, content light level) that a stream-copy join cannot carry. */
  hdrSideData: string[];
  /**
   * HDR10 metadata: here from the container; the worker reads the first frame's
   * (PROBE_FIRST_FRAME_ARGS) when the container says nothing.
   */
  hdr10?: Hdr10Metadata;
  /** The stream's Dolby Vision configuration, when it declares one. */
  dolbyVision?: DolbyVision;
  bitRate?: number;
}

/**
 * What an audio stream is besides the programme's sound, from its disposition: a commentary,
 * or a description of the picture for people who cannot see it.
 */
export const AudioRoleSchema = Type.Union([Type.Literal('commentary'), Type.Literal('description')]);
export type AudioRole = Static<typeof AudioRoleSchema>;

export interface AudioTrack {
  index: number;
  codec: string;
  /** ISO 639-2 language from the stream's tags (`eng`), when they give a well-formed one other than `und`. */
  language?: string;
  /** Absent: the programme's own sound (a dub is that too, in its language). */
  role?: AudioRole;
  channels: number;
  sampleRate: number;
  startSeconds: number;
}

/** Subtitle formats that are pictures (Blu-ray, DVD, DVB, DivX), which no text can be made of. */
export const PICTURE_SUBTITLE_CODECS: ReadonlySet<string> = new Set([
  'hdmv_pgs_subtitle',
  'dvd_subtitle',
  'dvb_subtitle',
  'xsub',
]);

export interface SubtitleTrack {
  index: number;
  codec: string;
  /** Not pictures: text (SubRip, ASS, MP4's tx3g, WebVTT and others) that WebVTT may be made of. */
  text: boolean;
  language?: string;
  /** Shown only where the film's own language does not say it (a sign, a line in another language). */
  forced: boolean;
  /** Subtitles for the deaf and hard of hearing: the sounds as well as the words. */
  hearingImpaired: boolean;
}

export interface MediaAnalysis {
  formatName: string;
  durationSeconds: number;
  bitRate?: number;
  video?: VideoTrack;
  audio: AudioTrack[];
  subtitles: SubtitleTrack[];
  /** Streams that are neither video nor audio (subtitles, data, attachments). */
  otherStreams: number;
}

/** ffprobe arguments (after the input options) for the streams and format JSON. */
export const PROBE_STREAMS_ARGS = ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams'];
/** ffprobe arguments for the first video stream's packets, one CSV line each: pts,duration,flags. */
export const PROBE_PACKETS_ARGS = [
  '-v',
  'error',
  '-select_streams',
  'v:0',
  '-show_entries',
  'packet=pts_time,duration_time,flags',
  '-of',
  'csv=p=0',
];

interface ProbeStream {
  index: number;
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  pix_fmt?: string;
  r_frame_rate?: string;
  avg_frame_rate?: string;
  start_time?: string;
  bit_rate?: string;
  channels?: number;
  sample_rate?: string;
  color_range?: string;
  color_space?: string;
  color_primaries?: string;
  color_transfer?: string;
  tags?: Record<string, string>;
  disposition?: Record<string, number>;
  side_data_list?: (HdrSideData & DolbyVisionSideData & { rotation?: number })[];
  sample_aspect_ratio?: string;
  field_order?: string;
}

interface ProbeJson {
  streams?: ProbeStream[];
  format?: { format_name?: string; duration?: string; bit_rate?: string };
}

interface Packet {
  pts: number;
  duration: number;
  key: boolean;
}

/** Parses ffprobe's output: the streams/format JSON and the first video stream's packet CSV. */
export function analyseMedia(probeJson: string, packetCsv: string): MediaAnalysis {
  const probe = JSON.parse(probeJson) as ProbeJson;
  const streams = probe.streams ?? [];
  // Cover art is a video stream too; the picture track is the first that is not attached.
  const videoStream = streams.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
  const audio = streams
    .filter((s) => s.codec_type === 'audio')
    .map(
      (s): AudioTrack => ({
        index: s.index,
        codec: s.codec_name ?? 'unknown',
        channels: s.channels ?? 0,
        sampleRate: Number(s.sample_rate ?? 0),
        startSeconds: seconds(s.start_time) ?? 0,
        ...languageOf(s.tags?.language),
        ...roleOf(s.disposition),
      }),
    );
  const subtitles = streams
    .filter((s) => s.codec_type === 'subtitle')
    .map(
      (s): SubtitleTrack => ({
        index: s.index,
        codec: s.codec_name ?? 'unknown',
        text: !PICTURE_SUBTITLE_CODECS.has(s.codec_name ?? ''),
        forced: Boolean(s.disposition?.forced),
        hearingImpaired: Boolean(s.disposition?.hearing_impaired),
        ...languageOf(s.tags?.language),
      }),
    );
  const analysis: MediaAnalysis = {
    formatName: probe.format?.format_name ?? 'unknown',
    durationSeconds: seconds(probe.format?.duration) ?? 0,
    audio,
    subtitles,
    otherStreams: streams.filter((s) => s !== videoStream && s.codec_type !== 'audio').length,
  };
  const bitRate = Number(probe.format?.bit_rate);
  if (Number.isFinite(bitRate) && bitRate > 0) analysis.bitRate = bitRate;
  if (videoStream) analysis.video = videoTrack(videoStream, parsePackets(packetCsv));
  return analysis;
}

function videoTrack(stream: ProbeStream, packets: Packet[]): VideoTrack {
  const frameTimes = packets.map((p) => p.pts).sort((a, b) => a - b);
  const nominal = rate(stream.r_frame_rate) ?? rate(stream.avg_frame_rate) ?? 25;
  const gaps = frameTimes.slice(1).map((t, i) => t - frameTimes[i]!);
  const last = packets.reduce<Packet | undefined>(
    (a, p) => (a === undefined || p.pts > a.pts ? p : a),
    undefined,
  );
  const startSeconds = frameTimes[0] ?? 0;
  const endSeconds = last ? last.pts + (last.duration > 0 ? last.duration : 1 / nominal) : startSeconds;
  const span = endSeconds - startSeconds;
  const track: VideoTrack = {
    index: stream.index,
    codec: stream.codec_name ?? 'unknown',
    width: stream.width ?? 0,
    height: stream.height ?? 0,
    rotation: rotationOf(stream),
    sampleAspectRatio: pixelShape(stream.sample_aspect_ratio),
    interlaced: isInterlaced(stream.field_order),
    frameRate: nominal,
    averageFrameRate: span > 0 ? frameTimes.length / span : nominal,
    variableFrameRate: gaps.length > 1 && Math.max(...gaps) > Math.min(...gaps) * 1.01 + 1e-6,
    startSeconds,
    endSeconds,
    frameTimes,
    keyframes: cleanKeyframes(packets),
    colour: colourOf(stream),
    hdrSideData: (stream.side_data_list ?? [])
      .map((d) => d.side_data_type ?? '')
      .filter((t) => /mastering display|content light/i.test(t)),
  };
  if (stream.pix_fmt) track.pixelFormat = stream.pix_fmt;
  const hdr10 = hdr10MetadataOf(stream.side_data_list);
  if (hdr10) track.hdr10 = hdr10;
  const dolbyVision = dolbyVisionOf(stream.side_data_list);
  if (dolbyVision) track.dolbyVision = dolbyVision;
  const bitRate = Number(stream.bit_rate);
  if (Number.isFinite(bitRate) && bitRate > 0) track.bitRate = bitRate;
  return track;
}

/**
 * Keyframes a chunk can start at. Packets come in decode order; a keyframe is clean when no
 * packet decoded after it is presented before it (an open GOP's leading pictures would need
 * the previous chunk to decode).
 */
function cleanKeyframes(packets: Packet[]): number[] {
  const clean: number[] = [];
  let laterMinimum = Number.POSITIVE_INFINITY;
  for (let i = packets.length - 1; i >= 0; i--) {
    const packet = packets[i]!;
    if (packet.key && laterMinimum >= packet.pts) clean.push(packet.pts);
    laterMinimum = Math.min(laterMinimum, packet.pts);
  }
  return clean.reverse();
}

/**
 * When the first frame shows, in seconds, from a file's packet CSV (PROBE_PACKETS_ARGS): the
 * earliest presentation time of a packet that is not discarded; undefined without one.
 */
export function firstFrameTime(packetCsv: string): number | undefined {
  const times = parsePackets(packetCsv).map((p) => p.pts);
  return times.length > 0 ? Math.min(...times) : undefined;
}

function parsePackets(csv: string): Packet[] {
  const packets: Packet[] = [];
  for (const line of csv.split('\n')) {
    const [pts, duration, flags] = line.trim().split(',');
    const time = seconds(pts);
    // A discarded packet (edit-list trimmed) is decoded but never shown: not a frame of the output.
    if (time === undefined || (flags ?? '').includes('D')) continue;
    packets.push({ pts: time, duration: seconds(duration) ?? 0, key: (flags ?? '').startsWith('K') });
  }
  return packets;
}

function colourOf(stream: ProbeStream): Colour {
  const colour: Colour = {};
  const known = (value: string | undefined) => (value && value !== 'unknown' ? value : undefined);
  const range = known(stream.color_range);
  const space = known(stream.color_space);
  const primaries = known(stream.color_primaries);
  const transfer = known(stream.color_transfer);
  if (range) colour.range = range;
  if (space) colour.space = space;
  if (primaries) colour.primaries = primaries;
  if (transfer) colour.transfer = transfer;
  return colour;
}

function rotationOf(stream: ProbeStream): number {
  const matrix = stream.side_data_list?.find((d) => typeof d.rotation === 'number');
  const degrees = matrix ? (matrix.rotation ?? 0) : Number(stream.tags?.rotate ?? 0);
  return ((Math.round(degrees) % 360) + 360) % 360;
}

/** Whether ffprobe's `field_order` says the frames are stored as two fields (tt, bb, tb or bt). */
export function isInterlaced(fieldOrder: string | undefined): boolean {
  return fieldOrder === 'tt' || fieldOrder === 'bb' || fieldOrder === 'tb' || fieldOrder === 'bt';
}

/**
 * An audio stream's role from its disposition flags: `visual_impaired` (Matroska, MP4) or
 * `descriptions` (MP4's `kind` box) mark an audio description, `comment` a commentary.
 */
function roleOf(disposition: Record<string, number> | undefined): { role?: AudioRole } {
  if (disposition?.visual_impaired || disposition?.descriptions) return { role: 'description' };
  if (disposition?.comment) return { role: 'commentary' };
  return {};
}

/** A language tag from a file, kept only when it is three lowercase letters (it ends up in playlists). */
function languageOf(tag: string | undefined): { language?: string } {
  const language = tag?.trim().toLowerCase();
  return language && /^[a-z]{3}$/.test(language) && language !== 'und' ? { language } : {};
}

function rate(value: string | undefined): number | undefined {
  return ratio(value, '/');
}

/** `a/b` or `a:b` as a positive number; undefined for `0/0`, `0:1`, `N/A` and the like. */
function ratio(value: string | undefined, separator: string): number | undefined {
  if (!value) return undefined;
  const [num, den] = value.split(separator).map(Number);
  const r = den ? num! / den : num!;
  return Number.isFinite(r) && r > 0 ? r : undefined;
}

/**
 * A stored pixel's width ÷ height: 1 when unset, and when far outside what any camera or tape
 * format stores (DV's 8:9 to DVCPRO HD's 3:2, 2:1 at most), which only a broken file says.
 */
function pixelShape(value: string | undefined): number {
  const shape = ratio(value, ':');
  return shape !== undefined && shape >= 0.25 && shape <= 4 ? shape : 1;
}

/** A picture's size as shown: square pixels (the stored width times the pixel's aspect), then turned upright. */
export function displaySize(video: {
  width: number;
  height: number;
  rotation: number;
  sampleAspectRatio?: number;
}): { width: number; height: number } {
  const width = Math.max(1, Math.round(video.width * (video.sampleAspectRatio ?? 1)));
  return video.rotation % 180 !== 0
    ? { width: video.height, height: width }
    : { width, height: video.height };
}

function seconds(value: string | undefined): number | undefined {
  if (value === undefined || value === '' || value === 'N/A') return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}
