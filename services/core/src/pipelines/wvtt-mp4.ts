/**
 * WebVTT in ISO BMFF (ISO/IEC 14496-30, `wvtt`): a ladder's DASH subtitles as an init segment
 * and one media segment of fragmented MP4, the form DASH-IF's guidelines give text in a
 * segmented MPD and every DASH player reads (dash.js switches between such text sets; between
 * whole WebVTT files it does not). ffmpeg cannot write it, so it is written here.
 *
 * A track's timeline is cut at every cue's start and end into samples: each holds the cues
 * showing through it (a `vttc` box each, its settings in `sttg` and its text in `payl`), or is
 * an empty `vtte`. Times are in milliseconds, as the cues are.
 */
import type { Cue } from './webvtt.ts';

const TIMESCALE = 1000;
const TRACK_ID = 1;

const u8 = (n: number) => Buffer.from([n]);
function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}
function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}
function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}
const zeros = (bytes: number) => Buffer.alloc(bytes);
const ascii = (text: string) => Buffer.from(text, 'latin1');

function box(type: string, ...payload: Buffer[]): Buffer {
  const body = Buffer.concat(payload);
  return Buffer.concat([u32(8 + body.length), ascii(type), body]);
}

/** A box with a version and 24 bits of flags before its payload. */
function fullBox(type: string, version: number, flags: number, ...payload: Buffer[]): Buffer {
  return box(type, u8(version), u8((flags >> 16) & 0xff), u16(flags & 0xffff), ...payload);
}

/** The identity transform of mvhd and tkhd. */
const MATRIX = Buffer.concat([0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000].map(u32));

/** ISO 639-2/T in mdhd's 15 bits: each letter less 0x60, five bits each; `und` when not three letters. */
function packedLanguage(language: string | undefined): Buffer {
  const code = language && /^[a-z]{3}$/.test(language) ? language : 'und';
  return u16([...code].reduce((bits, c) => (bits << 5) | (c.charCodeAt(0) - 0x60), 0));
}

/** The init segment of a WebVTT track: its sample entry, timescale and language. */
export function wvttInit(language?: string): Buffer {
  const ftyp = box('ftyp', ascii('iso6'), u32(0), ascii('iso6'), ascii('dash'));
  const mvhd = fullBox(
    'mvhd',
    0,
    0,
    u32(0),
    u32(0),
    u32(TIMESCALE),
    u32(0),
    u32(0x10000),
    u16(0x100),
    zeros(10),
    MATRIX,
    zeros(24),
    u32(TRACK_ID + 1),
  );
  // Enabled and in the presentation.
  const tkhd = fullBox(
    'tkhd',
    0,
    3,
    u32(0),
    u32(0),
    u32(TRACK_ID),
    u32(0),
    u32(0),
    zeros(8),
    u16(0),
    u16(0),
    u16(0),
    u16(0),
    MATRIX,
    u32(0),
    u32(0),
  );
  const mdhd = fullBox(
    'mdhd',
    0,
    0,
    u32(0),
    u32(0),
    u32(TIMESCALE),
    u32(0),
    packedLanguage(language),
    u16(0),
  );
  const hdlr = fullBox('hdlr', 0, 0, u32(0), ascii('text'), zeros(12), ascii('Subtitles\0'));
  const dinf = box('dinf', fullBox('dref', 0, 0, u32(1), fullBox('url ', 0, 1)));
  // The sample entry: six reserved bytes, the data reference, and the file's header.
  const wvtt = box('wvtt', zeros(6), u16(1), box('vttC', ascii('WEBVTT')));
  const stbl = box(
    'stbl',
    fullBox('stsd', 0, 0, u32(1), wvtt),
    fullBox('stts', 0, 0, u32(0)),
    fullBox('stsc', 0, 0, u32(0)),
    fullBox('stsz', 0, 0, u32(0), u32(0)),
    fullBox('stco', 0, 0, u32(0)),
  );
  const minf = box('minf', fullBox('nmhd', 0, 0), dinf, stbl);
  const trak = box('trak', tkhd, box('mdia', mdhd, hdlr, minf));
  const mvex = box('mvex', fullBox('trex', 0, 0, u32(TRACK_ID), u32(1), u32(0), u32(0), u32(0)));
  return Buffer.concat([ftyp, box('moov', mvhd, trak, mvex)]);
}

/** A span of the timeline and the cues showing through all of it (none: a gap). */
interface Sample {
  /** Milliseconds. */
  start: number;
  end: number;
  cues: Cue[];
}

const msOf = (seconds: number) => Math.round(seconds * TIMESCALE);

/** One `vttc` box's bytes: its header, its text in `payl`, and its settings in `sttg` when it has any. */
const cueBytes = (cue: Cue) =>
  16 + Buffer.byteLength(cue.text) + (cue.settings ? 8 + Buffer.byteLength(cue.settings) : 0);

/** Each cue's span in milliseconds, cut to [0, durationMs], in order of start; empty ones left out. */
function spansOf(cues: readonly Cue[], durationMs: number) {
  return cues
    .map((cue) => ({ cue, start: Math.max(0, msOf(cue.start)), end: Math.min(durationMs, msOf(cue.end)) }))
    .filter((s) => s.end > s.start)
    .sort((a, b) => a.start - b.start);
}

/** 0, the duration and every start and end between, in order: where samples begin and end. */
function boundaries(spans: readonly { start: number; end: number }[], durationMs: number): number[] {
  return [...new Set([0, durationMs, ...spans.flatMap((s) => [s.start, s.end])])].sort((a, b) => a - b);
}

/**
 * The bytes a track's samples hold: a cue is written into every sample it shows through, so
 * cues that overlap many others cost more than their text. Counted without writing them (one
 * pass over the starts and ends), to bound a rendition's size before it is made.
 */
export function wvttSampleBytes(cues: readonly Cue[], durationSeconds: number): number {
  const durationMs = msOf(durationSeconds);
  const spans = spansOf(cues, durationMs);
  const change = new Map<number, number>();
  for (const s of spans) {
    change.set(s.start, (change.get(s.start) ?? 0) + cueBytes(s.cue));
    change.set(s.end, (change.get(s.end) ?? 0) - cueBytes(s.cue));
  }
  const times = boundaries(spans, durationMs);
  let showing = 0;
  let total = 0;
  for (let i = 0; i + 1 < times.length; i++) {
    showing += change.get(times[i]!) ?? 0;
    total += Math.max(8, showing);
  }
  return total;
}

/** The samples of [0, durationMs): one between each two consecutive boundaries, with the cues showing through it. */
function samplesOf(cues: readonly Cue[], durationMs: number): Sample[] {
  const spans = spansOf(cues, durationMs);
  const times = boundaries(spans, durationMs);
  const samples: Sample[] = [];
  let showing: typeof spans = [];
  let next = 0;
  for (let i = 0; i + 1 < times.length; i++) {
    const start = times[i]!;
    showing = showing.filter((s) => s.end > start);
    while (next < spans.length && spans[next]!.start <= start) showing.push(spans[next++]!);
    samples.push({ start, end: times[i + 1]!, cues: showing.map((s) => s.cue) });
  }
  return samples;
}

function sampleBody(sample: Sample): Buffer {
  if (sample.cues.length === 0) return box('vtte');
  return Buffer.concat(
    sample.cues.map((cue) =>
      box(
        'vttc',
        ...(cue.settings ? [box('sttg', Buffer.from(cue.settings))] : []),
        box('payl', Buffer.from(cue.text)),
      ),
    ),
  );
}

/**
 * The one media segment of a WebVTT track, from 0 to `durationSeconds`: a `moof` whose `trun`
 * gives each sample's duration and size, and the samples in `mdat`.
 */
export function wvttSegment(cues: readonly Cue[], durationSeconds: number): Buffer {
  const samples = samplesOf(cues, msOf(durationSeconds));
  const bodies = samples.map(sampleBody);
  const styp = box('styp', ascii('msdh'), u32(0), ascii('msdh'), ascii('msix'));
  const moofOf = (dataOffset: number) => {
    // Data offset, sample durations and sizes present.
    const trun = fullBox(
      'trun',
      0,
      0x301,
      u32(samples.length),
      u32(dataOffset),
      ...samples.flatMap((s, i) => [u32(s.end - s.start), u32(bodies[i]!.length)]),
    );
    // Sample offsets count from the moof's first byte.
    const tfhd = fullBox('tfhd', 0, 0x20000, u32(TRACK_ID));
    const tfdt = fullBox('tfdt', 1, 0, u64(0));
    return box('moof', fullBox('mfhd', 0, 0, u32(1)), box('traf', tfhd, tfdt, trun));
  };
  // The offset does not change the moof's size: measure it once, then write it with the real offset.
  const moofSize = moofOf(0).length;
  return Buffer.concat([styp, moofOf(moofSize + 8), box('mdat', ...bodies)]);
}
