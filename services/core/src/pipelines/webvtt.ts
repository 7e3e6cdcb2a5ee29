/**
 * A ladder's subtitles: the WebVTT file ffmpeg converts a text subtitle stream into, read as
 * cues, moved onto the rungs' timeline (their first frame at 0) and cut into HLS segments as
 * long as the video's, each holding every cue that shows during it, as HLS asks of WebVTT.
 * DASH's text sets carry the same cues in fragmented MP4 (wvtt-mp4.ts).
 */
import { wvttSampleBytes } from './wvtt-mp4.ts';

export interface Cue {
  /** Seconds. */
  start: number;
  end: number;
  /** What follows the times on the timing line (position, alignment), as written. */
  settings: string;
  /** The cue's text lines. */
  text: string;
}

const TIMING = /^((?:\d+:)?\d{2}:\d{2}\.\d{3})[ \t]+-->[ \t]+((?:\d+:)?\d{2}:\d{2}\.\d{3})(.*)$/;

/** A WebVTT timestamp (`hh:mm:ss.ttt` or `mm:ss.ttt`) in seconds. */
function secondsOf(timestamp: string): number {
  const parts = timestamp.split(':').map(Number);
  return parts.reduce((total, part) => total * 60 + part, 0);
}

/** Seconds as a WebVTT timestamp, `hh:mm:ss.ttt`. */
export function webVttTimestamp(seconds: number): string {
  const ms = Math.max(0, Math.round(seconds * 1000));
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  return `${pad(Math.floor(ms / 3_600_000))}:${pad(Math.floor(ms / 60_000) % 60)}:${pad(Math.floor(ms / 1000) % 60)}.${pad(ms % 1000, 3)}`;
}

/** The cues of a WebVTT file, in order; headers, notes, styles and cue identifiers are left out. */
export function parseWebVtt(file: string): Cue[] {
  const cues: Cue[] = [];
  for (const block of file.replace(/\r\n?/g, '\n').split(/\n{2,}/)) {
    const lines = block.split('\n');
    const at = lines.findIndex((line) => TIMING.test(line.trim()));
    if (at < 0) continue;
    const [, start, end, settings] = TIMING.exec(lines[at]!.trim())!;
    // A line with an arrow would end the cue where it is written again.
    const text = lines
      .slice(at + 1)
      .filter((line) => !line.includes('-->'))
      .join('\n')
      .trim();
    // Settings are words like `line:90% align:start`; anything else is dropped, not passed on.
    const kept = /^[\w:%.,\- \t]*$/.test(settings!) ? settings!.trim() : '';
    if (text) cues.push({ start: secondsOf(start!), end: secondsOf(end!), settings: kept, text });
  }
  return cues;
}

/**
 * The cues on a timeline that starts `originSeconds` into the source's and lasts
 * `durationSeconds`: moved back by the origin, cut to the timeline, those wholly outside dropped.
 */
export function cuesOnTimeline(cues: readonly Cue[], originSeconds: number, durationSeconds: number): Cue[] {
  // To the millisecond, as written: 4.6 - 0.6 is 4, not just above it, and belongs to the segment at 4.
  const ms = (seconds: number) => Math.round(seconds * 1000) / 1000;
  return cues
    .map((cue) => ({
      ...cue,
      start: Math.max(0, ms(cue.start - originSeconds)),
      end: Math.min(durationSeconds, ms(cue.end - originSeconds)),
    }))
    .filter((cue) => cue.end > cue.start);
}

/** Cues one subtitle rendition carries at most (a feature film has one or two thousand). */
export const MAX_CUES = 20_000;
/** The largest WebVTT file a subtitle stream may convert to. */
export const MAX_WEBVTT_BYTES = 8 * 1024 * 1024;
/**
 * The most a rendition's HLS segments and DASH samples may hold together: a cue is written into
 * every segment it spans and every sample it shows through.
 */
export const MAX_SEGMENTED_BYTES = 32 * 1024 * 1024;

/**
 * Why a rendition's cues (on the rungs' timeline) are not carried, or undefined: none, more
 * than MAX_CUES, or more than MAX_SEGMENTED_BYTES once written into every HLS segment each spans
 * and every DASH sample each shows through. No film's subtitles come near either; a stream that
 * does would fill the worker and the bucket.
 */
export function cuesProblem(cues: readonly Cue[], segmentSeconds: number): string | undefined {
  if (cues.length === 0) return 'it has no cues while the video shows';
  if (cues.length > MAX_CUES) return `it has ${cues.length} cues, more than ${MAX_CUES}`;
  // DASH's samples: to the last cue's end (a gap after it is one empty sample).
  let bytes = wvttSampleBytes(
    cues,
    cues.reduce((end, cue) => Math.max(end, cue.end), 0),
  );
  for (const cue of cues) {
    const spans = Math.ceil(cue.end / segmentSeconds) - Math.floor(cue.start / segmentSeconds);
    // The timing line (about 30 bytes) and the text, in each segment.
    bytes += Math.max(1, spans) * (Buffer.byteLength(cue.text) + cue.settings.length + 32);
  }
  if (bytes > MAX_SEGMENTED_BYTES)
    return `its cues would fill ${Math.ceil(bytes / 1024 / 1024)} MiB of segments, more than ${MAX_SEGMENTED_BYTES / 1024 / 1024}`;
  return undefined;
}

export interface WebVttSegment {
  uri: string;
  seconds: number;
  body: string;
}

/** `segment-00000.vtt`, … */
const segmentName = (index: number) => `segment-${String(index).padStart(5, '0')}.vtt`;

/**
 * The segments of a subtitle rendition: one every `segmentSeconds` of the timeline, as the
 * video's, each a WebVTT file of the cues showing during it (a cue across a boundary is in
 * both, and players show it once). X-TIMESTAMP-MAP says cue time 0 is media time 0.
 */
export function webVttSegments(
  cues: readonly Cue[],
  durationSeconds: number,
  segmentSeconds: number,
): WebVttSegment[] {
  const count = Math.max(0, Math.ceil(durationSeconds / segmentSeconds - 1e-6));
  // Each cue into the segments it shows during, in one pass.
  const showing: Cue[][] = Array.from({ length: count }, () => []);
  for (const cue of cues) {
    const first = Math.max(0, Math.floor(cue.start / segmentSeconds));
    const last = Math.min(count - 1, Math.ceil(cue.end / segmentSeconds) - 1);
    for (let index = first; index <= last; index++) showing[index]!.push(cue);
  }
  return showing.map((shown, index) => {
    const from = index * segmentSeconds;
    const seconds = Math.min(durationSeconds, from + segmentSeconds) - from;
    const body = webVttFile(shown, 'X-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000');
    return { uri: segmentName(index), seconds, body };
  });
}

/** The VOD media playlist of a subtitle rendition's segments. */
export function webVttPlaylist(segments: readonly WebVttSegment[], segmentSeconds: number): string {
  const lines = [
    '#EXTM3U',
    '#EXT-X-VERSION:3',
    // No segment is longer than segmentSeconds: the timeline is cut at its multiples.
    `#EXT-X-TARGETDURATION:${Math.ceil(segmentSeconds)}`,
    '#EXT-X-MEDIA-SEQUENCE:0',
    '#EXT-X-PLAYLIST-TYPE:VOD',
  ];
  for (const s of segments) lines.push(`#EXTINF:${s.seconds.toFixed(6)},`, s.uri);
  lines.push('#EXT-X-ENDLIST');
  return `${lines.join('\n')}\n`;
}

/** A WebVTT file of the cues (with a header line after `WEBVTT`, when given). */
export function webVttFile(cues: readonly Cue[], header?: string): string {
  const lines = header ? ['WEBVTT', header, ''] : ['WEBVTT', ''];
  for (const cue of cues) {
    const settings = cue.settings ? ` ${cue.settings}` : '';
    lines.push(`${webVttTimestamp(cue.start)} --> ${webVttTimestamp(cue.end)}${settings}`, cue.text, '');
  }
  return `${lines.join('\n')}\n`;
}
