import { ffmpegOutput, type HdrColour, hdrColourOf, isInterlaced } from '@ffleet/core';
import { ffmpegFilters, filterNamesOf } from '../ffmpeg/filters.ts';
import { probeFirstFrameHdr10 } from '../ffmpeg/probe.ts';

export interface MetricAvailability {
  psnr: boolean;
  ssim: boolean;
  vmaf: { available: true } | { available: false; reason: string };
}

/** Which quality filters this ffmpeg has (`ffmpeg -filters`), read once per binary. */
export async function probeQualityFilters(ffmpegPath: string): Promise<MetricAvailability> {
  return availabilityOf(await ffmpegFilters(ffmpegPath));
}

export function availabilityFromFilterList(filterList: string): MetricAvailability {
  return availabilityOf(filterNamesOf(filterList));
}

function availabilityOf(names: ReadonlySet<string>): MetricAvailability {
  return {
    psnr: names.has('psnr'),
    ssim: names.has('ssim'),
    vmaf: names.has('libvmaf')
      ? { available: true }
      : {
          available: false,
          reason: 'this ffmpeg build has no libvmaf filter (built without --enable-libvmaf)',
        },
  };
}

export interface VideoInfo {
  /**
   * The picture's size as ffmpeg decodes it, turned upright (autorotation, which the quality
   * pass keeps): a file whose display matrix turns it a quarter turn gives its coded height as
   * the width. A phone video shot upright is coded landscape with such a matrix.
   */
  width: number;
  height: number;
  pixFmt: string;
  /** Stored as fields (ffprobe's field_order tt, bb, tb or bt), as broadcast and DV video is. */
  interlaced: boolean;
  /** The video's colour when its tags say HDR (PQ or HLG); a PQ video's HDR10 metadata once readHdr10 read it. */
  hdr?: HdrColour;
  /**
   * Seconds from the file's start to its first video frame. ffmpeg's `-ss` counts from the
   * file's start (the earliest of all its streams); frame times here count from the first frame.
   */
  videoStartSeconds: number;
  /** Seconds of video, when the file says. */
  durationSeconds?: number;
  /**
   * Presentation time of every frame, in seconds from the first, in order: asked for with
   * `frameTimes`, absent when a frame has no timestamp (raw elementary streams).
   */
  frameTimes?: number[];
}

/**
 * The first video stream's size, pixel format, start and duration, or undefined when the file
 * has no video. With `frameTimes`, also every frame's time, read from the packets (no decoding).
 */
export async function probeVideo(
  ffprobePath: string,
  file: string,
  options: { frameTimes?: boolean; timeoutMs?: number } = {},
): Promise<VideoInfo | undefined> {
  const entries =
    'stream=width,height,pix_fmt,field_order,color_range,color_space,color_primaries,color_transfer,start_time,duration:stream_side_data=rotation:stream_tags=rotate:format=start_time,duration';
  const stdout = await ffmpegOutput(
    ffprobePath,
    [
      ...['-v', 'error', '-protocol_whitelist', 'file', '-select_streams', 'v:0'],
      ...['-show_entries', options.frameTimes ? `${entries}:packet=pts_time,flags` : entries],
      ...['-of', 'compact', file],
    ],
    { timeoutMs: options.timeoutMs ?? 30_000 },
  );
  return videoInfoFromProbe(stdout);
}

/**
 * A PQ video's HDR10 metadata, read from its first frame (which is decoded) into `info.hdr`:
 * the peak its tone mapping rolls off from.
 */
export async function readHdr10(ffprobePath: string, file: string, info: VideoInfo): Promise<void> {
  if (info.hdr?.transfer !== 'pq') return;
  const hdr10 = await probeFirstFrameHdr10(ffprobePath, ['-protocol_whitelist', 'file', file], {
    timeoutMs: 30_000,
  });
  if (hdr10) info.hdr.hdr10 = hdr10;
}

/**
 * ffprobe's compact listing: `packet|pts_time=0.040000|flags=__`, then
 * `stream|width=640|height=360|pix_fmt=yuv420p|field_order=progressive|start_time=0.000000|duration=4.000000` (with
 * `|side_data|rotation=-90` or `|tag:rotate=90` when the picture is shown turned) and
 * `format|start_time=0.000000|duration=4.010000`.
 */
export function videoInfoFromProbe(listing: string): VideoInfo | undefined {
  const sections: Record<string, Record<string, string>> = {};
  const packetTimes: number[] = [];
  let untimed = false;
  for (const line of listing.split('\n')) {
    const [section, ...pairs] = line.trim().split('|');
    if (!section || pairs.length === 0) continue;
    const fields = Object.fromEntries(
      pairs
        .filter((pair) => pair.includes('='))
        .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
    );
    if (section !== 'packet') sections[section] ??= fields;
    // Packets marked D are dropped by the demuxer (cut by an edit list): never shown.
    else if (!fields.flags?.includes('D')) {
      const time = Number.parseFloat(fields.pts_time ?? '');
      if (Number.isFinite(time)) packetTimes.push(time);
      else untimed = true;
    }
  }
  const stream = sections.stream;
  const codedWidth = Number(stream?.width);
  const codedHeight = Number(stream?.height);
  if (!stream || !(codedWidth > 0) || !(codedHeight > 0)) return undefined;
  const [width, height] = quarterTurned(stream) ? [codedHeight, codedWidth] : [codedWidth, codedHeight];
  const seconds = (text: string | undefined) => {
    const value = Number.parseFloat(text ?? '');
    return Number.isFinite(value) ? value : undefined;
  };
  const formatStart = seconds(sections.format?.start_time) ?? 0;
  packetTimes.sort((a, b) => a - b);
  const firstFrame = packetTimes[0] ?? seconds(stream.start_time) ?? formatStart;
  const videoStartSeconds = Math.max(0, firstFrame - formatStart);
  const info: VideoInfo = {
    width,
    height,
    pixFmt: stream.pix_fmt ?? 'unknown',
    interlaced: isInterlaced(stream.field_order),
    videoStartSeconds,
  };
  const hdr = hdrColourOf({
    transfer: stream.color_transfer,
    primaries: stream.color_primaries,
    space: stream.color_space,
    range: stream.color_range,
  });
  if (hdr) info.hdr = hdr;
  const duration = seconds(stream.duration) ?? minus(seconds(sections.format?.duration), videoStartSeconds);
  if (duration !== undefined && duration > 0) info.durationSeconds = duration;
  if (packetTimes.length > 0 && !untimed) info.frameTimes = packetTimes.map((t) => t - firstFrame);
  return info;
}

/** Whether the display matrix (else the older `rotate` tag) turns the picture by 90° or 270°. */
function quarterTurned(stream: Record<string, string>): boolean {
  const degrees = Number.parseFloat(stream.rotation ?? stream['tag:rotate'] ?? '0');
  return Number.isFinite(degrees) && Math.abs(Math.round(degrees)) % 180 === 90;
}

function minus(a: number | undefined, b: number): number | undefined {
  return a === undefined ? undefined : a - b;
}
